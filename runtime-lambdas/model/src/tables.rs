//! The six tables: environment variable names, key schema, GSIs, and [`TableNames`] read from the environment.

use crate::attr;
use crate::error::ModelError;

/// One of the backend's DynamoDB tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Users,
    Nodes,
    UserNodes,
    Telemetry,
    BindingRequests,
    SerialAllowlist,
}

/// Type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `S`
    String,
    /// `N`
    Number,
}

/// A key: partition key plus optional sort key, each `(attribute name, type)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySchema {
    pub partition: (&'static str, KeyType),
    pub sort: Option<(&'static str, KeyType)>,
}

/// A global secondary index (projection: ALL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gsi {
    pub name: &'static str,
    pub key: KeySchema,
}

const S: KeyType = KeyType::String;
const N: KeyType = KeyType::Number;

impl Table {
    /// Every table, in the contract's order.
    pub const ALL: [Table; 6] = [
        Table::Users,
        Table::Nodes,
        Table::UserNodes,
        Table::Telemetry,
        Table::BindingRequests,
        Table::SerialAllowlist,
    ];

    /// The environment variable holding this table's name (`NODES_TABLE`, ...).
    pub const fn env_var(self) -> &'static str {
        match self {
            Table::Users => "USERS_TABLE",
            Table::Nodes => "NODES_TABLE",
            Table::UserNodes => "USER_NODES_TABLE",
            Table::Telemetry => "TELEMETRY_TABLE",
            Table::BindingRequests => "BINDING_REQUESTS_TABLE",
            Table::SerialAllowlist => "SERIAL_ALLOWLIST_TABLE",
        }
    }

    /// CloudFormation logical id of the table (`NodesTable`, ...).
    pub const fn logical_id(self) -> &'static str {
        match self {
            Table::Users => "UsersTable",
            Table::Nodes => "NodesTable",
            Table::UserNodes => "UserNodesTable",
            Table::Telemetry => "TelemetryTable",
            Table::BindingRequests => "BindingRequestsTable",
            Table::SerialAllowlist => "SerialAllowlistTable",
        }
    }

    /// The name suffix after `rm-<tenant>-` (`nodes`, `user-nodes`, ...).
    pub const fn suffix(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Nodes => "nodes",
            Table::UserNodes => "user-nodes",
            Table::Telemetry => "telemetry",
            Table::BindingRequests => "binding-requests",
            Table::SerialAllowlist => "serial-allowlist",
        }
    }

    /// The primary key.
    pub const fn key(self) -> KeySchema {
        match self {
            Table::Users => KeySchema { partition: (attr::USER_ID, S), sort: None },
            Table::Nodes => KeySchema { partition: (attr::NODE_ID, S), sort: None },
            Table::UserNodes => KeySchema { partition: (attr::USER_ID, S), sort: Some((attr::NODE_ID, S)) },
            Table::Telemetry => KeySchema { partition: (attr::NODE_ID, S), sort: Some((attr::TS, N)) },
            Table::BindingRequests => KeySchema { partition: (attr::BINDING_CODE, S), sort: None },
            Table::SerialAllowlist => KeySchema { partition: (attr::SERIAL, S), sort: None },
        }
    }

    /// The global secondary indexes.
    pub const fn gsis(self) -> &'static [Gsi] {
        match self {
            Table::Nodes => {
                &[Gsi { name: GSI_BY_OWNER, key: KeySchema { partition: (attr::OWNER_ID, S), sort: None } }]
            }
            Table::UserNodes => &[Gsi {
                name: GSI_BY_NODE,
                key: KeySchema { partition: (attr::NODE_ID, S), sort: Some((attr::USER_ID, S)) },
            }],
            Table::BindingRequests => {
                &[Gsi { name: GSI_BY_USER, key: KeySchema { partition: (attr::USER_ID, S), sort: None } }]
            }
            _ => &[],
        }
    }

    /// The TTL attribute, if the table has one.
    pub const fn ttl_attr(self) -> Option<&'static str> {
        match self {
            Table::Telemetry | Table::BindingRequests => Some(attr::EXPIRES_AT),
            _ => None,
        }
    }
}

/// GSI of the nodes table on `owner_id`.
pub const GSI_BY_OWNER: &str = "by-owner";
/// GSI of the user_nodes table on `node_id` + `user_id`.
pub const GSI_BY_NODE: &str = "by-node";
/// GSI of the binding_requests table on `user_id`.
pub const GSI_BY_USER: &str = "by-user";

/// The concrete table names of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub users: String,
    pub nodes: String,
    pub user_nodes: String,
    pub telemetry: String,
    pub binding_requests: String,
    pub serial_allowlist: String,
}

impl TableNames {
    /// Names `<prefix><suffix>`: `with_prefix("rm-acme-")` gives the deployed names of tenant `acme`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self::from_fn(|t| Ok::<_, ModelError>(format!("{prefix}{}", t.suffix()))).expect("infallible")
    }

    /// The deployed names of a tenant: `rm-<tenant>-<suffix>`.
    pub fn for_tenant(tenant: &str) -> Self {
        Self::with_prefix(&format!("rm-{tenant}-"))
    }

    /// Read the six `*_TABLE` variables from the process environment.
    pub fn from_env() -> Result<Self, ModelError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Read the six `*_TABLE` variables through `lookup` (testable without touching the environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ModelError> {
        Self::from_fn(|t| match lookup(t.env_var()) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ModelError::MissingEnv(t.env_var())),
        })
    }

    fn from_fn<E>(mut f: impl FnMut(Table) -> Result<String, E>) -> Result<Self, E> {
        Ok(Self {
            users: f(Table::Users)?,
            nodes: f(Table::Nodes)?,
            user_nodes: f(Table::UserNodes)?,
            telemetry: f(Table::Telemetry)?,
            binding_requests: f(Table::BindingRequests)?,
            serial_allowlist: f(Table::SerialAllowlist)?,
        })
    }

    /// The name of one table.
    pub fn get(&self, table: Table) -> &str {
        match table {
            Table::Users => &self.users,
            Table::Nodes => &self.nodes,
            Table::UserNodes => &self.user_nodes,
            Table::Telemetry => &self.telemetry,
            Table::BindingRequests => &self.binding_requests,
            Table::SerialAllowlist => &self.serial_allowlist,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_follow_the_contract() {
        let t = TableNames::for_tenant("acme-home");
        assert_eq!(t.nodes, "rm-acme-home-nodes");
        assert_eq!(t.user_nodes, "rm-acme-home-user-nodes");
        assert_eq!(t.get(Table::SerialAllowlist), "rm-acme-home-serial-allowlist");
    }

    #[test]
    fn from_lookup_names_the_missing_variable() {
        let err = TableNames::from_lookup(|k| (k != "TELEMETRY_TABLE").then(|| format!("x-{k}"))).unwrap_err();
        assert_eq!(err.to_string(), "environment variable TELEMETRY_TABLE is not set");
        let ok = TableNames::from_lookup(|k| Some(format!("x-{k}"))).unwrap();
        assert_eq!(ok.binding_requests, "x-BINDING_REQUESTS_TABLE");
    }

    #[test]
    fn key_schemas_match_the_contract() {
        assert_eq!(Table::Telemetry.key().sort, Some(("ts", KeyType::Number)));
        assert_eq!(Table::UserNodes.gsis()[0].name, "by-node");
        assert_eq!(Table::BindingRequests.ttl_attr(), Some("expires_at"));
        assert!(Table::Users.gsis().is_empty());
    }
}
