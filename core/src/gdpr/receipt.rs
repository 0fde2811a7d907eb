//! The erase receipt: what was done, as counts and keyed hashes (HMAC-SHA256 under the tenant's secret), and the
//! residual windows. It holds no personal data, so it can be kept as long as needed. It doubles as the journal of
//! an erase in progress (`finished_at` is empty until the verify pass succeeded).

use super::hmac::keyed;
use super::manifest::Retention;
use super::plan::{Action, Step};
use serde::{Deserialize, Serialize};

/// Version of the receipt layout.
pub const RECEIPT_VERSION: u32 = 1;

/// One step's result, merged over every run of the same erase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: Step,
    /// Items deleted or changed.
    pub count: u64,
    /// Keyed hashes of the keys touched, sorted, no duplicates.
    pub keys: Vec<String>,
}

/// A window of telemetry deleted from one node: what `gdpr reapply` deletes again after a table restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelemetryWindow {
    /// Keyed hash of the node id.
    pub node: String,
    /// Start of the window (ms): readings *received* from then on (`received_at`, the ownership window of
    /// `rainmaker_model::window`; receipts from before ownership windows hold the owner grant's time here).
    pub since_ts: i64,
    /// End of the window: the unbind of a former ownership, or when the erase deleted an owned node's readings (ms
    /// since epoch); readings received after belong to nobody or a later owner.
    pub until_ms: i64,
    pub count: u64,
}

/// A copy of the erased data that outlives the erase, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Residual {
    pub what: String,
    pub window: String,
}

/// `receipt.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub schema_version: u32,
    pub receipt_id: String,
    pub tenant: String,
    pub region: String,
    pub cli_version: String,
    pub template_version: Option<String>,
    /// Keyed hash of the user id ([`subject`]): the erasure marker.
    pub subject: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub revoke_devices: bool,
    pub steps: Vec<StepRecord>,
    pub telemetry: Vec<TelemetryWindow>,
    pub residual: Vec<Residual>,
    /// Every verify pass that found data of the user left (`<time>: <what, as counts>`), kept after a later run
    /// finished the erase; empty when the first verify found nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify_failures: Vec<String>,
}

/// The keyed hash of a user id: the erasure marker and the subject of a receipt.
pub fn subject(secret: &[u8], user_id: &str) -> String {
    keyed(secret, "user", &[user_id])
}

/// The keyed hash of a node id (telemetry windows, unbinds, shadows).
pub fn node_key(secret: &[u8], node_id: &str) -> String {
    keyed(secret, "node", &[node_id])
}

/// The residual copies, stated plainly for this tenant's settings.
pub fn residual(r: &Retention) -> Vec<Residual> {
    vec![
        Residual {
            what: "DynamoDB point-in-time recovery of every table".into(),
            window: format!(
                "erased items can be restored for {} days; after any restore run `rainmaker-deploy gdpr reapply \
                 --receipts DIR`",
                r.pitr_days
            ),
        },
        Residual {
            what: "CloudWatch Logs of the backend functions".into(),
            window: format!("log events are deleted {} days after they were written", r.log_retention_days),
        },
        Residual {
            what: "Cognito access and ID tokens issued before the sign-out".into(),
            window: "stay valid until they expire (1 hour by default); refresh tokens were revoked".into(),
        },
    ]
}

impl Receipt {
    /// A fresh receipt (journal) for an erase starting at `started_at`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        receipt_id: String,
        tenant: &str,
        region: &str,
        cli_version: &str,
        template_version: Option<String>,
        subject: String,
        started_at: String,
        revoke_devices: bool,
        retention: &Retention,
    ) -> Receipt {
        Receipt {
            schema_version: RECEIPT_VERSION,
            receipt_id,
            tenant: tenant.into(),
            region: region.into(),
            cli_version: cli_version.into(),
            template_version,
            subject,
            started_at,
            finished_at: None,
            revoke_devices,
            steps: vec![],
            telemetry: vec![],
            residual: residual(retention),
            verify_failures: vec![],
        }
    }

    /// Record a done action: `count` items, the keyed hashes of `action`'s keys (telemetry: the node's).
    pub fn record(&mut self, secret: &[u8], user_id: &str, action: &Action, count: u64) {
        let keys: Vec<String> = match action.step {
            Step::DeleteTelemetry
            | Step::DeleteFormerTelemetry
            | Step::ResetShadow
            | Step::RevokeDevice
            | Step::Unbind => action.node_id.iter().map(|n| node_key(secret, n)).collect(),
            Step::RemoveGrantsToUser | Step::DeleteGrants => {
                action.keys.iter().map(|n| keyed(secret, "user_nodes", &[user_id, n])).collect()
            }
            Step::RemoveGrantsToOthers => {
                let node = action.node_id.as_deref().unwrap_or("");
                action.keys.iter().map(|u| keyed(secret, "user_nodes", &[u, node])).collect()
            }
            Step::DeleteBindingRequests => action.keys.iter().map(|c| keyed(secret, "binding_code", &[c])).collect(),
            Step::DeleteUserItem => vec![subject(secret, user_id)],
            Step::SignOut | Step::DeleteCognitoUser => {
                action.keys.iter().map(|u| keyed(secret, "cognito", &[u])).collect()
            }
            Step::Verify => vec![],
        };
        match self.steps.iter_mut().find(|s| s.step == action.step) {
            Some(s) => {
                s.count += count;
                s.keys.extend(keys);
                s.keys.sort();
                s.keys.dedup();
            }
            None => {
                let mut keys = keys;
                keys.sort();
                keys.dedup();
                self.steps.push(StepRecord { step: action.step, count, keys });
            }
        }
    }

    /// Record a telemetry window deleted from `node_id` (merged with an earlier run's of the same window: same node
    /// and start; two ownerships of one node stay two windows, so a later owner's readings between them are never
    /// inside one).
    pub fn record_telemetry(&mut self, secret: &[u8], node_id: &str, since_ts: i64, until_ms: i64, count: u64) {
        let node = node_key(secret, node_id);
        match self.telemetry.iter_mut().find(|w| w.node == node && w.since_ts == since_ts) {
            Some(w) => {
                w.since_ts = w.since_ts.min(since_ts);
                w.until_ms = w.until_ms.max(until_ms);
                w.count += count;
            }
            None => self.telemetry.push(TelemetryWindow { node, since_ts, until_ms, count }),
        }
    }

    /// Count of a step over every run.
    pub fn count(&self, step: Step) -> u64 {
        self.steps.iter().filter(|s| s.step == step).map(|s| s.count).sum()
    }
}

/// What `gdpr reapply` matches: the subjects and telemetry windows of a set of receipts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    subjects: std::collections::BTreeSet<String>,
    windows: std::collections::BTreeMap<String, Vec<(i64, i64)>>,
}

impl Matcher {
    /// From the finished receipts among `receipts` (an unfinished erase is not re-applied: run the erase again).
    pub fn new<'a>(receipts: impl IntoIterator<Item = &'a Receipt>) -> Matcher {
        let mut m = Matcher::default();
        for r in receipts.into_iter().filter(|r| r.finished_at.is_some()) {
            m.subjects.insert(r.subject.clone());
            for w in &r.telemetry {
                m.windows.entry(w.node.clone()).or_default().push((w.since_ts, w.until_ms));
            }
        }
        m
    }

    /// Is `user_id` an erased user?
    pub fn is_erased_user(&self, secret: &[u8], user_id: &str) -> bool {
        self.subjects.contains(&subject(secret, user_id))
    }

    /// The erased telemetry windows of `node_id`: `(since, until)` receive times in ms.
    pub fn telemetry_windows(&self, secret: &[u8], node_id: &str) -> &[(i64, i64)] {
        self.windows.get(&node_key(secret, node_id)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Is a reading received at `received_at` inside one of the windows (`since` included, `until` excluded: the
    /// boundary rule of `rainmaker_model::window`)?
    pub fn in_window(windows: &[(i64, i64)], received_at: i64) -> bool {
        windows.iter().any(|(since, until)| received_at >= *since && received_at < *until)
    }

    pub fn subjects(&self) -> usize {
        self.subjects.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::manifest::PITR_DAYS;
    use super::*;

    fn retention() -> Retention {
        Retention {
            telemetry_ttl_days: 30,
            log_retention_days: 14,
            binding_code_ttl_seconds: 600,
            pitr_days: PITR_DAYS,
        }
    }

    fn receipt() -> Receipt {
        Receipt::start(
            "r1".into(),
            "t",
            "eu-west-1",
            "0.1.0",
            None,
            subject(b"k", "u-1"),
            "s".into(),
            false,
            &retention(),
        )
    }

    #[test]
    fn receipts_hold_hashes_not_ids_and_merge_runs() {
        let mut r = receipt();
        let a = Action {
            step: Step::RemoveGrantsToOthers,
            node_id: Some("SN-1".into()),
            keys: vec!["u-2".into()],
            count: 1,
        };
        r.record(b"k", "u-1", &a, 1);
        r.record(b"k", "u-1", &a, 0); // a resumed run finds nothing more: same key, no double count
        let t = Action { step: Step::DeleteTelemetry, node_id: Some("SN-1".into()), keys: vec![], count: 9 };
        r.record(b"k", "u-1", &t, 4);
        r.record(b"k", "u-1", &t, 5);
        r.record_telemetry(b"k", "SN-1", 100, 200, 4);
        r.record_telemetry(b"k", "SN-1", 100, 300, 5);
        assert_eq!(r.count(Step::RemoveGrantsToOthers), 1);
        assert_eq!(r.steps[0].keys.len(), 1);
        assert_eq!(r.count(Step::DeleteTelemetry), 9);
        assert_eq!(
            r.telemetry,
            vec![TelemetryWindow { node: node_key(b"k", "SN-1"), since_ts: 100, until_ms: 300, count: 9 }]
        );
        let text = serde_json::to_string(&r).unwrap();
        for plain in ["u-1", "u-2", "SN-1"] {
            assert!(!text.contains(plain), "{plain} in the receipt");
        }
        assert!(r.residual.iter().any(|x| x.window.contains("35 days")));
        assert!(r.residual.iter().any(|x| x.window.contains("14 days")));
    }

    #[test]
    fn matcher_uses_finished_receipts_only() {
        let mut done = receipt();
        done.record_telemetry(b"k", "SN-1", 100, 200, 1);
        done.finished_at = Some("f".into());
        let mut open = receipt();
        open.subject = subject(b"k", "u-open");
        let m = Matcher::new([&done, &open]);
        assert!(m.is_erased_user(b"k", "u-1"));
        assert!(!m.is_erased_user(b"k", "u-open"));
        assert!(!m.is_erased_user(b"other-secret", "u-1"));
        let w = m.telemetry_windows(b"k", "SN-1");
        let cases = [(99, false), (100, true), (199, true), (200, false)];
        for (at, want) in cases {
            assert_eq!(Matcher::in_window(w, at), want, "received_at {at}");
        }
        // two ownerships of one node stay two windows: the owner in between keeps theirs
        let mut twice = receipt();
        twice.record_telemetry(b"k", "SN-1", 100, 200, 1);
        twice.record_telemetry(b"k", "SN-1", 300, 400, 1);
        twice.record_telemetry(b"k", "SN-1", 300, 450, 2);
        assert_eq!(twice.telemetry.len(), 2);
        twice.finished_at = Some("f".into());
        let m = Matcher::new([&twice]);
        let w = m.telemetry_windows(b"k", "SN-1");
        assert!(!Matcher::in_window(w, 250) && Matcher::in_window(w, 449));
        assert!(m.telemetry_windows(b"k", "SN-2").is_empty());
    }
}
