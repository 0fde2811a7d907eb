//! The erase plan: from what was found about one user ([`Inventory`]) to the ordered, idempotent actions.
//!
//! Order (each step can run again after an interruption): sign the user out everywhere (an app holding a refresh
//! token could otherwise write again); remove grants others gave the user; delete the user's readings of the nodes
//! they owned before (inside their closed ownership windows only); for each owned node remove the grants to
//! others, delete the telemetry, reset the shadows, (revoke the device), clear ownership and mark it unbound; delete
//! binding requests, the user's remaining grants and `users` item; delete the Cognito user last (its `sub` is the
//! key to everything else); verify that nothing is left.

use serde::Serialize;

/// One kind of erase step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    SignOut,
    RemoveGrantsToUser,
    RemoveGrantsToOthers,
    DeleteFormerTelemetry,
    DeleteTelemetry,
    ResetShadow,
    RevokeDevice,
    Unbind,
    DeleteBindingRequests,
    DeleteGrants,
    DeleteUserItem,
    DeleteCognitoUser,
    Verify,
}

impl Step {
    /// What the step does, for the dry run and the receipt.
    pub const fn describe(self) -> &'static str {
        match self {
            Step::SignOut => "sign the user out of every device (Cognito AdminUserGlobalSignOut)",
            Step::RemoveGrantsToUser => "remove the shares other owners gave the user (user_nodes)",
            Step::RemoveGrantsToOthers => "remove the shares of an owned node to other users (user_nodes)",
            Step::DeleteFormerTelemetry => {
                "delete the readings of a node the user owned before, received inside their ownership windows only"
            }
            Step::DeleteTelemetry => "delete the owned node's telemetry received since the start of the ownership",
            Step::ResetShadow => "delete the owned node's classic and named shadows",
            Step::RevokeDevice => "revoke the node's certificates and detach them from the thing",
            Step::Unbind => "clear the node's owner and remove its remaining grants (unbind)",
            Step::DeleteBindingRequests => "delete the user's binding requests",
            Step::DeleteGrants => "delete the user's remaining grants (user_nodes)",
            Step::DeleteUserItem => "delete the user's item (users)",
            Step::DeleteCognitoUser => "delete the user from the user pool (Cognito AdminDeleteUser)",
            Step::Verify => "verify that nothing about the user is left",
        }
    }

    /// Stable name.
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
}

/// A node the user owned before (now unbound or another's): their closed ownership windows on it
/// (`rainmaker_model::window`) and how many telemetry items have readings received inside them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormerNode {
    pub node_id: String,
    /// `(from, to)` in ms: `from <= received_at < to`.
    pub windows: Vec<(i64, i64)>,
    pub telemetry_items: u64,
}

/// A node the user owns, with what hangs off it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnedNode {
    pub node_id: String,
    /// Start of the ownership window (ms; readings received from then on are the user's,
    /// [`super::isolate::windows`]).
    pub telemetry_since: i64,
    pub telemetry_items: u64,
    /// Users other than the owner holding a grant on the node.
    pub shared_with: Vec<String>,
    /// Shadow names present: `""` for the classic shadow, then the named ones.
    pub shadows: Vec<String>,
}

/// What was found about one user before an erase (gathered with key queries, no scans).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    pub user_id: String,
    /// The user pool's username of the user, when the user still exists there.
    pub cognito_username: Option<String>,
    pub user_item: bool,
    /// Nodes others shared with the user (the user's `shared` grants).
    pub shared_with_user: Vec<String>,
    pub owned: Vec<OwnedNode>,
    /// Nodes the user owned before, with readings left inside their windows.
    pub former: Vec<FormerNode>,
    /// The user's grants that are neither shares received nor on an owned node (e.g. a stale owner grant).
    pub other_grants: Vec<String>,
    pub binding_codes: Vec<String>,
}

impl Inventory {
    /// Nothing left in the tables or the shadows (Cognito aside).
    pub fn data_is_empty(&self) -> bool {
        !self.user_item
            && self.shared_with_user.is_empty()
            && self.owned.is_empty()
            && self.former.iter().all(|f| f.telemetry_items == 0)
            && self.other_grants.is_empty()
            && self.binding_codes.is_empty()
    }

    /// Nothing left at all.
    pub fn is_empty(&self) -> bool {
        self.data_is_empty() && self.cognito_username.is_none()
    }
}

/// One planned action: a step, on a node or not, with the plain keys it touches (shown by `--dry-run` only; never
/// stored) and how many items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub step: Step,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    pub keys: Vec<String>,
    pub count: u64,
}

fn action(step: Step, node_id: Option<&str>, keys: Vec<String>) -> Action {
    let count = keys.len() as u64;
    Action { step, node_id: node_id.map(str::to_string), keys, count }
}

/// The ordered actions erasing everything in `inv`. Steps with nothing to do are left out, except `Verify`.
pub fn plan(inv: &Inventory, revoke_devices: bool) -> Vec<Action> {
    let mut out = Vec::new();
    if let Some(u) = &inv.cognito_username {
        out.push(action(Step::SignOut, None, vec![u.clone()]));
    }
    if !inv.shared_with_user.is_empty() {
        out.push(action(Step::RemoveGrantsToUser, None, sorted(&inv.shared_with_user)));
    }
    let mut former: Vec<&FormerNode> = inv.former.iter().filter(|f| f.telemetry_items > 0).collect();
    former.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    for f in former {
        out.push(Action {
            step: Step::DeleteFormerTelemetry,
            node_id: Some(f.node_id.clone()),
            keys: f.windows.iter().map(|(a, b)| format!("{} received_at in [{a}, {b})", f.node_id)).collect(),
            count: f.telemetry_items,
        });
    }
    let mut owned: Vec<&OwnedNode> = inv.owned.iter().collect();
    owned.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    for n in owned {
        let node = Some(n.node_id.as_str());
        if !n.shared_with.is_empty() {
            out.push(action(Step::RemoveGrantsToOthers, node, sorted(&n.shared_with)));
        }
        if n.telemetry_items > 0 {
            out.push(Action {
                step: Step::DeleteTelemetry,
                node_id: node.map(str::to_string),
                keys: vec![format!("{} received_at >= {}", n.node_id, n.telemetry_since)],
                count: n.telemetry_items,
            });
        }
        if !n.shadows.is_empty() {
            let keys = n.shadows.iter().map(|s| if s.is_empty() { "(classic)".to_string() } else { s.clone() });
            out.push(action(Step::ResetShadow, node, keys.collect()));
        }
        if revoke_devices {
            out.push(action(Step::RevokeDevice, node, vec![n.node_id.clone()]));
        }
        out.push(action(Step::Unbind, node, vec![n.node_id.clone()]));
    }
    if !inv.binding_codes.is_empty() {
        out.push(action(Step::DeleteBindingRequests, None, sorted(&inv.binding_codes)));
    }
    if !inv.other_grants.is_empty() {
        out.push(action(Step::DeleteGrants, None, sorted(&inv.other_grants)));
    }
    if inv.user_item {
        out.push(action(Step::DeleteUserItem, None, vec![inv.user_id.clone()]));
    }
    if let Some(u) = &inv.cognito_username {
        out.push(action(Step::DeleteCognitoUser, None, vec![u.clone()]));
    }
    out.push(Action { step: Step::Verify, node_id: None, keys: vec![], count: 0 });
    out
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

/// Split the user's grants into shares received, grants on owned nodes (removed by the unbind) and the rest.
pub fn classify_grants(grants: &[super::isolate::Grant], owned: &[String]) -> (Vec<String>, Vec<String>) {
    let mut shared = Vec::new();
    let mut other = Vec::new();
    for g in grants {
        if owned.contains(&g.node_id) {
            continue;
        }
        if g.role == "shared" {
            shared.push(g.node_id.clone());
        } else {
            other.push(g.node_id.clone());
        }
    }
    (shared, other)
}

#[cfg(test)]
mod tests {
    use super::super::isolate::Grant;
    use super::*;

    fn node(id: &str, telemetry: u64, shared: &[&str], shadows: &[&str]) -> OwnedNode {
        OwnedNode {
            node_id: id.into(),
            telemetry_since: 100,
            telemetry_items: telemetry,
            shared_with: shared.iter().map(|s| s.to_string()).collect(),
            shadows: shadows.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn steps(actions: &[Action]) -> Vec<(Step, Option<&str>)> {
        actions.iter().map(|a| (a.step, a.node_id.as_deref())).collect()
    }

    #[test]
    fn plans_follow_the_order_table() {
        let full = Inventory {
            user_id: "u".into(),
            cognito_username: Some("name".into()),
            user_item: true,
            shared_with_user: vec!["s2".into(), "s1".into()],
            owned: vec![node("b", 0, &[], &[]), node("a", 5, &["x"], &["", "cfg"])],
            former: vec![
                FormerNode { node_id: "old".into(), windows: vec![(10, 20), (30, 40)], telemetry_items: 3 },
                FormerNode { node_id: "empty".into(), windows: vec![(10, 20)], telemetry_items: 0 },
            ],
            other_grants: vec!["stale".into()],
            binding_codes: vec!["CODE".into()],
        };
        use Step::*;
        type Case<'a> = (&'a str, Inventory, bool, Vec<(Step, Option<&'a str>)>);
        let cases: Vec<Case> = vec![
            (
                "everything",
                full.clone(),
                false,
                vec![
                    (SignOut, None),
                    (RemoveGrantsToUser, None),
                    (DeleteFormerTelemetry, Some("old")),
                    (RemoveGrantsToOthers, Some("a")),
                    (DeleteTelemetry, Some("a")),
                    (ResetShadow, Some("a")),
                    (Unbind, Some("a")),
                    (Unbind, Some("b")),
                    (DeleteBindingRequests, None),
                    (DeleteGrants, None),
                    (DeleteUserItem, None),
                    (DeleteCognitoUser, None),
                    (Verify, None),
                ],
            ),
            (
                "revoke devices",
                Inventory { owned: vec![node("a", 0, &[], &[])], ..Inventory::default() },
                true,
                vec![(RevokeDevice, Some("a")), (Unbind, Some("a")), (Verify, None)],
            ),
            (
                "resumed after Cognito was deleted",
                Inventory { user_item: true, ..Inventory::default() },
                false,
                vec![(DeleteUserItem, None), (Verify, None)],
            ),
            ("nothing left", Inventory::default(), false, vec![(Verify, None)]),
        ];
        for (name, inv, revoke, want) in cases {
            assert_eq!(steps(&plan(&inv, revoke)), want, "{name}");
        }
        let p = plan(&full, false);
        assert_eq!(p[1].keys, ["s1", "s2"], "keys sorted");
        assert_eq!(p[2].keys, ["old received_at in [10, 20)", "old received_at in [30, 40)"], "each window");
        assert_eq!(p[2].count, 3);
        assert_eq!(p[4].count, 5, "telemetry count");
        assert_eq!(p[5].keys, ["(classic)", "cfg"]);
        assert!(!full.is_empty() && Inventory::default().is_empty());
    }

    #[test]
    fn grants_split_into_received_owned_and_other() {
        let g = |n: &str, r: &str| Grant { node_id: n.into(), role: r.into(), granted_by: None, granted_at: None };
        let grants = [g("mine", "owner"), g("theirs", "shared"), g("stale", "owner")];
        let (shared, other) = classify_grants(&grants, &["mine".to_string()]);
        assert_eq!(shared, ["theirs"]);
        assert_eq!(other, ["stale"]);
        assert_eq!(Step::DeleteTelemetry.name(), "delete_telemetry");
    }
}
