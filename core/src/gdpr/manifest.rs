//! The export's `manifest.json` (what each file holds, its size and hash, the retention per source, what is not
//! included and why) and its `README.txt`.

use super::sources::{Source, ATTRIBUTES, TABLES};
use serde::Serialize;

/// Version of the archive layout; bump when a file or field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// Days DynamoDB point-in-time recovery keeps a restorable copy (the service's fixed maximum, enabled on every table).
pub const PITR_DAYS: u32 = 35;

/// The retention settings of one tenant, from its rainmaker.yaml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// `telemetry.retention_days`: DynamoDB TTL on telemetry items.
    pub telemetry_ttl_days: u32,
    /// `lambda.log_retention_days`: CloudWatch Logs retention of every function.
    pub log_retention_days: u32,
    /// `devices.binding_code_ttl_seconds`: TTL of binding requests.
    pub binding_code_ttl_seconds: u32,
    /// DynamoDB point-in-time recovery window.
    pub pitr_days: u32,
}

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    pub path: String,
    pub source: Source,
    /// Records in the file (JSON array elements, NDJSON lines, or 1 for a single object).
    pub items: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Per source: where it comes from and how long it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceEntry {
    pub source: Source,
    pub origin: &'static str,
    pub items: u64,
    pub retention: String,
}

/// Something the backend holds that the archive does not contain, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotIncluded {
    pub what: String,
    pub reason: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub tenant: String,
    pub region: String,
    pub cli_version: String,
    /// The template version of the deployed stack (its `TemplateVersion` output or tag), if it could be read.
    pub template_version: Option<String>,
    /// RFC 3339, UTC.
    pub exported_at: String,
    pub user_id: String,
    pub files: Vec<FileEntry>,
    pub sources: Vec<SourceEntry>,
    pub not_included: Vec<NotIncluded>,
}

/// The retention statement of one source.
pub fn retention_of(source: Source, r: &Retention) -> String {
    let pitr = format!("deleted items stay restorable from point-in-time recovery for {} days", r.pitr_days);
    match source {
        Source::Cognito => "kept while the account exists; deleted by an erase (no backup is kept by Cognito)".into(),
        Source::Telemetry => format!(
            "each reading is deleted automatically {} days after it was received (DynamoDB TTL, usually within two \
             days of expiry); {pitr}",
            r.telemetry_ttl_days
        ),
        Source::BindingRequests => format!(
            "each code expires {} seconds after it was requested (DynamoDB TTL); {pitr}",
            r.binding_code_ttl_seconds
        ),
        Source::Things | Source::Shadows => {
            "kept while the device is registered; the shadow is reset when the node is unbound or erased".into()
        }
        Source::Users | Source::Memberships | Source::Nodes => format!("kept until unbound or erased; {pitr}"),
    }
}

/// What the archive leaves out, for this tenant's retention settings: the fixed list, every table excluded in
/// [`TABLES`] and every attribute left out in [`ATTRIBUTES`], each with its reason.
pub fn not_included(r: &Retention) -> Vec<NotIncluded> {
    let mut v = fixed_not_included(r);
    for t in TABLES {
        if let Some(reason) = t.excluded {
            v.push(NotIncluded { what: format!("the {} table", t.table), reason: reason.into() });
        }
    }
    for a in ATTRIBUTES {
        if let Some(reason) = a.omitted {
            v.push(NotIncluded { what: format!("{} of the {} items", a.attribute, a.table), reason: reason.into() });
        }
    }
    v
}

fn fixed_not_included(r: &Retention) -> Vec<NotIncluded> {
    vec![
        NotIncluded {
            what: "CloudWatch Logs of the backend functions".into(),
            reason: format!(
                "logs are operational records, kept {} days and then deleted; single log events cannot be exported \
                 per user or deleted, and the functions log keyed hashes rather than user ids where they can",
                r.log_retention_days
            ),
        },
        NotIncluded {
            what: "DynamoDB point-in-time recovery backups".into(),
            reason: format!(
                "backups are copies of the tables above, not separate data; they roll off after {} days",
                r.pitr_days
            ),
        },
        NotIncluded {
            what: "nodes shared with you: their telemetry, shadow and owner".into(),
            reason: "those belong to the owner of the node; your grant is in memberships.json (GDPR Art. 20(4))".into(),
        },
        NotIncluded {
            what: "the users you shared your nodes with".into(),
            reason: "their ids are their personal data; memberships.json gives the count per node".into(),
        },
        NotIncluded {
            what: "readings of a node received outside your ownership of it (before you bound it, after you \
                   unbound it, or while nobody owned it)"
                .into(),
            reason: "they belong to its other owners or to nobody; a reading is yours when AWS IoT received it while \
                     you owned the node (from your bind, included, to your unbind, excluded), whatever time the \
                     device gave it"
                .into(),
        },
        NotIncluded {
            what: "the device certificates themselves (IoT registry)".into(),
            reason: "the maker's provisioning credentials of the devices, not data about you; each owned node's \
                     certificate_id is in nodes.json"
                .into(),
        },
    ]
}

/// Per-source summary of the files, in [`Source::ALL`] order.
pub fn sources(files: &[FileEntry], r: &Retention) -> Vec<SourceEntry> {
    Source::ALL
        .iter()
        .map(|s| SourceEntry {
            source: *s,
            origin: s.origin(),
            items: files.iter().filter(|f| f.source == *s).map(|f| f.items).sum(),
            retention: retention_of(*s, r),
        })
        .collect()
}

/// `README.txt`: what the archive is and what each file holds.
pub fn readme(m: &Manifest) -> String {
    let mut s = format!(
        "Personal data export\n====================\n\nTenant {} ({}), user {}, exported {} by rainmaker-deploy {}.\n\n\
         Every file is UTF-8 JSON (telemetry: one JSON object per line). Times ending in _at are milliseconds since \
         1970-01-01 UTC unless noted; expires_at is in seconds. manifest.json lists each file with its number of \
         records, size and SHA-256, and for each source where it comes from and how long it is kept.\n\nFiles:\n",
        m.tenant, m.region, m.user_id, m.exported_at, m.cli_version
    );
    for src in Source::ALL {
        s.push_str(&format!("- {}: {}.\n", src.path(), src.describes()));
    }
    s.push_str("- manifest.json: the list above with counts, bytes and SHA-256; retention; what is not included.\n");
    s.push_str("\nNot included:\n");
    for n in &m.not_included {
        s.push_str(&format!("- {}: {}.\n", n.what, n.reason));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Retention {
        Retention {
            telemetry_ttl_days: 30,
            log_retention_days: 14,
            binding_code_ttl_seconds: 600,
            pitr_days: PITR_DAYS,
        }
    }

    #[test]
    fn retention_names_the_tenant_settings() {
        let cases = [
            (Source::Telemetry, "30 days"),
            (Source::BindingRequests, "600 seconds"),
            (Source::Users, "35 days"),
            (Source::Cognito, "account exists"),
        ];
        for (s, want) in cases {
            assert!(retention_of(s, &r()).contains(want), "{s:?}: {}", retention_of(s, &r()));
        }
        let n = not_included(&r());
        assert!(n.iter().any(|x| x.what.contains("CloudWatch") && x.reason.contains("14 days")));
        assert!(n.iter().any(|x| x.what.contains("point-in-time") && x.reason.contains("35 days")));
        let allow = n.iter().find(|x| x.what == "the serial-allowlist table").expect("excluded tables are listed");
        assert!(allow.reason.contains("device data, not user data"), "{}", allow.reason);
        assert!(n.iter().any(|x| x.what == "epoch of the user-nodes items"), "omitted attributes are listed");
    }

    #[test]
    fn sources_sum_items_per_source_and_readme_lists_every_file() {
        let f =
            |path: &str, source, items| FileEntry { path: path.into(), source, items, bytes: 1, sha256: String::new() };
        let files = vec![f("telemetry/a.ndjson", Source::Telemetry, 3), f("telemetry/b.ndjson", Source::Telemetry, 4)];
        let s = sources(&files, &r());
        assert_eq!(s.len(), Source::ALL.len());
        assert_eq!(s.iter().find(|e| e.source == Source::Telemetry).unwrap().items, 7);
        assert_eq!(s.iter().find(|e| e.source == Source::Users).unwrap().items, 0);
        let m = Manifest {
            schema_version: SCHEMA_VERSION,
            tenant: "t".into(),
            region: "r".into(),
            cli_version: "0".into(),
            template_version: None,
            exported_at: "now".into(),
            user_id: "u".into(),
            files,
            sources: s,
            not_included: not_included(&r()),
        };
        let text = readme(&m);
        for src in Source::ALL {
            assert!(text.contains(src.path()), "{}", src.path());
        }
    }
}
