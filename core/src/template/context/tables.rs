//! The six DynamoDB tables of docs/backend-contract.md, as data the `tables` partial renders.

use super::super::names::Names;
use serde::Serialize;

/// A key attribute.
#[derive(Debug, Clone, Serialize)]
pub struct Key {
    pub name: &'static str,
    /// `S` or `N`.
    pub kind: &'static str,
}

/// A global secondary index (projection ALL).
#[derive(Debug, Clone, Serialize)]
pub struct Gsi {
    pub name: &'static str,
    pub hash: Key,
    pub range: Option<Key>,
}

/// One table.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub logical_id: &'static str,
    /// Physical name `rm-<tenant>-<suffix>`.
    pub name: String,
    /// The environment variable the functions read the name from.
    pub env_var: &'static str,
    pub description: &'static str,
    pub hash: Key,
    pub range: Option<Key>,
    pub gsis: Vec<Gsi>,
    /// Every attribute used by a key (table or index), deduplicated, for `AttributeDefinitions`.
    pub attributes: Vec<Key>,
    /// TTL attribute, for tables whose items expire.
    pub ttl_attribute: Option<&'static str>,
}

const fn s(name: &'static str) -> Key {
    Key { name, kind: "S" }
}

fn table(
    names: &Names,
    logical_id: &'static str,
    suffix: &str,
    env_var: &'static str,
    description: &'static str,
    hash: Key,
    range: Option<Key>,
    gsis: Vec<Gsi>,
    ttl_attribute: Option<&'static str>,
) -> Table {
    let mut attributes: Vec<Key> = Vec::new();
    let all = std::iter::once(&hash)
        .chain(range.iter())
        .chain(gsis.iter().flat_map(|g| std::iter::once(&g.hash).chain(g.range.iter())));
    for k in all {
        if !attributes.iter().any(|a| a.name == k.name) {
            attributes.push(k.clone());
        }
    }
    Table {
        logical_id,
        name: names.resource(suffix),
        env_var,
        description,
        hash,
        range,
        gsis,
        attributes,
        ttl_attribute,
    }
}

/// The tables, in contract order.
pub fn tables(names: &Names) -> Vec<Table> {
    vec![
        table(
            names,
            "UsersTable",
            "users",
            "USERS_TABLE",
            "App users (one item per Cognito user)",
            s("user_id"),
            None,
            vec![],
            None,
        ),
        table(
            names,
            "NodesTable",
            "nodes",
            "NODES_TABLE",
            "Devices (nodes): owner, presence, last seen",
            s("node_id"),
            None,
            vec![Gsi { name: "by-owner", hash: s("owner_id"), range: None }],
            None,
        ),
        table(
            names,
            "UserNodesTable",
            "user-nodes",
            "USER_NODES_TABLE",
            "Who may use which node (owner or shared)",
            s("user_id"),
            Some(s("node_id")),
            vec![Gsi { name: "by-node", hash: s("node_id"), range: Some(s("user_id")) }],
            None,
        ),
        table(
            names,
            "TelemetryTable",
            "telemetry",
            "TELEMETRY_TABLE",
            "Device telemetry time series, expired by TTL",
            s("node_id"),
            Some(Key { name: "ts", kind: "N" }),
            vec![],
            Some("expires_at"),
        ),
        table(
            names,
            "BindingRequestsTable",
            "binding-requests",
            "BINDING_REQUESTS_TABLE",
            "Short-lived codes binding a node to a user",
            s("binding_code"),
            None,
            vec![Gsi { name: "by-user", hash: s("user_id"), range: None }],
            Some("expires_at"),
        ),
        table(
            names,
            "SerialAllowlistTable",
            "serial-allowlist",
            "SERIAL_ALLOWLIST_TABLE",
            "Serials allowed to provision by claim",
            s("serial"),
            None,
            vec![],
            None,
        ),
    ]
}
