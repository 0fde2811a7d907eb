//! Isolation rules of an export: what of a grant the user may see, and which telemetry is theirs.
//!
//! A node shared *with* the user appears as the grant only, without the owner's id; a node the user shared with
//! others shows how many users, never who (GDPR Art. 20(4): the rights of others).

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

/// The first telemetry `ts` (ms) that belongs to the owner: readings from the start of the ownership (the owner
/// grant's `granted_at`); without a grant time, every reading of the node. Export and erase use the same window.
///
/// Seam for the ownership epoch of the security issue: when nodes carry one, this is where it is used.
pub fn telemetry_since(owner_granted_at: Option<i64>) -> i64 {
    owner_granted_at.unwrap_or(0)
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
        assert_eq!(telemetry_since(Some(5)), 5);
        assert_eq!(telemetry_since(None), 0);
    }
}
