//! Isolation rules of an export: what of a grant the user may see, and which telemetry is theirs (their ownership
//! windows).
//!
//! A node shared *with* the user appears as the grant only, without the owner's id; a node the user shared with
//! others shows how many users, never who (GDPR Art. 20(4): the rights of others).

use rainmaker_model::window::{self, Window};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One `user_nodes` item of the user, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub node_id: String,
    /// `owner` or `shared` (anything else is kept as read).
    pub role: String,
    pub granted_by: Option<String>,
    pub granted_at: Option<i64>,
}

/// `memberships.json`: the user's grants sorted by node (`node_id`, `role`, `granted_at`), with `shared_with` (a
/// count) on owned nodes; `granted_by` and `epoch` are left out (`sources::ATTRIBUTES` says why).
/// `given` maps an owned node to the user ids holding a grant on it (the owner included or not).
pub fn memberships(user_id: &str, grants: &[Grant], given: &BTreeMap<String, Vec<String>>) -> Value {
    let mut sorted: Vec<&Grant> = grants.iter().collect();
    sorted.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    let items: Vec<Value> = sorted
        .into_iter()
        .map(|g| {
            let mut m = serde_json::Map::new();
            m.insert("node_id".into(), json!(g.node_id));
            m.insert("role".into(), json!(g.role));
            if let Some(t) = g.granted_at {
                m.insert("granted_at".into(), json!(t));
            }
            if g.role == "owner" {
                let others = given.get(&g.node_id).map(|u| u.iter().filter(|x| *x != user_id).count()).unwrap_or(0);
                m.insert("shared_with".into(), json!(others));
            }
            Value::Object(m)
        })
        .collect();
    Value::Array(items)
}

/// A node the user owns now, as the windows need it: its `owner_epoch` and the owner grant's `granted_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub node_id: String,
    pub owner_epoch: Option<String>,
    pub granted_at: Option<i64>,
}

/// The user's ownership windows (`rainmaker_model::window`; a reading is theirs when its `received_at` is in one):
/// every closed window recorded on their `users` item, and for each node they own now an open window from its
/// bind (the epoch's time; for a node bound before epochs, the owner grant's `granted_at`; else every reading).
/// A recorded window left open on a node the user no longer owns (cleared by a path that records none) is
/// dropped: its end is unknown and claiming it could take a later owner's readings. Export and erase use these.
pub fn windows(recorded: &[Window], owned: &[Owned]) -> Vec<Window> {
    let mut out: Vec<Window> = recorded.iter().filter(|w| w.to.is_some()).cloned().collect();
    for o in owned {
        let from = o.owner_epoch.as_deref().and_then(window::epoch_start).or(o.granted_at).unwrap_or(0);
        out.push(Window { node_id: o.node_id.clone(), from, to: None });
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(node: &str, role: &str, by: &str) -> Grant {
        Grant { node_id: node.into(), role: role.into(), granted_by: Some(by.into()), granted_at: Some(7) }
    }

    #[test]
    fn memberships_never_name_another_user() {
        let me = "u-me";
        let grants = vec![g("n2", "shared", "u-owner"), g("n1", "owner", me), g("n3", "shared", me)];
        let given = BTreeMap::from([("n1".to_string(), vec![me.to_string(), "u-a".into(), "u-b".into()])]);
        let v = memberships(me, &grants, &given);
        let text = v.to_string();
        for foreign in ["u-owner", "u-a", "u-b"] {
            assert!(!text.contains(foreign), "{foreign} in {text}");
        }
        assert_eq!(
            v,
            json!([
                {"node_id": "n1", "role": "owner", "granted_at": 7, "shared_with": 2},
                {"node_id": "n2", "role": "shared", "granted_at": 7},
                {"node_id": "n3", "role": "shared", "granted_at": 7}
            ])
        );
    }

    #[test]
    fn owned_node_without_shares_counts_zero() {
        let v = memberships("u", &[g("n", "owner", "u")], &BTreeMap::new());
        assert_eq!(v[0]["shared_with"], 0);
    }

    #[test]
    fn windows_are_the_closed_ones_recorded_and_an_open_one_per_node_owned_now() {
        let w = |n: &str, from, to| Window { node_id: n.into(), from, to };
        let recorded = [w("A", 1, Some(5)), w("A", 9, Some(12)), w("B", 3, None), w("C", 4, None)];
        let owned = [
            Owned { node_id: "C".into(), owner_epoch: Some("40-0000000a".into()), granted_at: Some(41) },
            Owned { node_id: "D".into(), owner_epoch: None, granted_at: Some(7) },
            Owned { node_id: "E".into(), owner_epoch: None, granted_at: None },
        ];
        // B's open window: the user no longer owns B (its end is unknown), so it claims nothing
        assert_eq!(
            windows(&recorded, &owned),
            vec![w("A", 1, Some(5)), w("A", 9, Some(12)), w("C", 40, None), w("D", 7, None), w("E", 0, None)]
        );
    }
}
