//! The sources of personal data an export reads and an erase clears, and which data-model tables they cover.
//!
//! **Invariant:** every table of the data model appears in [`TABLES`], either with the export sources and erase
//! steps that cover it or with the reason it holds no personal data. A CLI test lists the model's tables and the
//! rendered template's tables and fails when one is missing, so a new table cannot ship without a decision here.

use super::plan::Step;
use rainmaker_model::attr;
use serde::Serialize;

/// One source of the export (one file, or one directory for telemetry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Cognito,
    Users,
    Memberships,
    Nodes,
    Things,
    Shadows,
    Telemetry,
    BindingRequests,
}

impl Source {
    /// Every source, in archive order.
    pub const ALL: [Source; 8] = [
        Source::Cognito,
        Source::Users,
        Source::Memberships,
        Source::Nodes,
        Source::Things,
        Source::Shadows,
        Source::Telemetry,
        Source::BindingRequests,
    ];

    /// Stable name (manifest, receipt, progress).
    pub const fn name(self) -> &'static str {
        match self {
            Source::Cognito => "cognito",
            Source::Users => "users",
            Source::Memberships => "memberships",
            Source::Nodes => "nodes",
            Source::Things => "things",
            Source::Shadows => "shadows",
            Source::Telemetry => "telemetry",
            Source::BindingRequests => "binding_requests",
        }
    }

    /// Path in the archive (`telemetry/` holds one `<node>.ndjson` per owned node).
    pub const fn path(self) -> &'static str {
        match self {
            Source::Cognito => "cognito.json",
            Source::Users => "users.json",
            Source::Memberships => "memberships.json",
            Source::Nodes => "nodes.json",
            Source::Things => "things.json",
            Source::Shadows => "shadows.json",
            Source::Telemetry => "telemetry/",
            Source::BindingRequests => "binding_requests.json",
        }
    }

    /// Where the data lives and how it is read (no table scan anywhere).
    pub const fn origin(self) -> &'static str {
        match self {
            Source::Cognito => "Cognito user pool: ListUsers (filter on sub or email), AdminGetUser",
            Source::Users => "DynamoDB users table: GetItem by user_id",
            Source::Memberships => {
                "DynamoDB user_nodes table: Query by user_id; grants given counted with Query on the by-node index"
            }
            Source::Nodes => "DynamoDB nodes table: Query on the by-owner index (owner_id)",
            Source::Things => "IoT registry: DescribeThing per owned node",
            Source::Shadows => {
                "IoT device shadow: GetThingShadow (classic) and ListNamedShadowsForThing + GetThingShadow"
            }
            Source::Telemetry => {
                "DynamoDB telemetry table: Query by node_id per node you own or owned, the readings received inside \
                 your ownership windows (users.json, ownership#...)"
            }
            Source::BindingRequests => "DynamoDB binding_requests table: Query on the by-user index (user_id)",
        }
    }

    /// What the file holds, for README.txt.
    pub const fn describes(self) -> &'static str {
        match self {
            Source::Cognito => {
                "your sign-in account: username, attributes (sub = your user id, email, ...), status, enabled, \
                 created and last modified times, MFA settings"
            }
            Source::Users => {
                "your profile row: user_id, email (as last seen at sign-in), created_at (ms since epoch), and one \
                 ownership#<node>#<id> entry per ownership of a node: node_id, from (when you bound it, ms) and to \
                 (when you unbound it; absent while you own it)"
            }
            Source::Memberships => {
                "your grants: for each node you own or that was shared with you, node_id, role (owner | shared) and \
                 granted_at; for nodes you own, shared_with: how many other users you shared them with (a count, \
                 never their ids)"
            }
            Source::Nodes => {
                "the nodes (devices) you own: node_id, serial, owner_id (your user id), owner_epoch (the id of your \
                 ownership: the time you bound the node, ms, and random digits), connected, presence_at, last_seen_at, \
                 provisioned_at, certificate_id (the id of the device's IoT certificate, a fingerprint of its public \
                 certificate, no secret)"
            }
            Source::Things => "the IoT registry entries of your nodes: thing name, type, attributes, version",
            Source::Shadows => {
                "the device shadows of your nodes: the classic shadow and every named shadow (reported and desired \
                 state, metadata, version)"
            }
            Source::Telemetry => {
                "one file per node you own or owned, one JSON object per line: ts (reading time, ms), params (what the \
                 device reported), received_at, expires_at (when it is deleted automatically, s), msg_id; only the \
                 readings AWS IoT received while you owned the node"
            }
            Source::BindingRequests => {
                "the binding codes you requested and not yet used: binding_code, node_id, created_at, expires_at"
            }
        }
    }
}

/// How one table is covered: the export sources reading it and the erase steps clearing it, or why neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableCoverage {
    /// The table's name suffix in the data model (`rm-<tenant>-<suffix>`).
    pub table: &'static str,
    pub export: &'static [Source],
    pub erase: &'static [Step],
    /// Why a table with no export or erase holds no personal data.
    pub excluded: Option<&'static str>,
}

/// Every table of the data model (`rainmaker_model::Table::ALL`, by suffix).
pub const TABLES: &[TableCoverage] = &[
    TableCoverage { table: "users", export: &[Source::Users], erase: &[Step::DeleteUserItem], excluded: None },
    TableCoverage { table: "nodes", export: &[Source::Nodes], erase: &[Step::Unbind], excluded: None },
    TableCoverage {
        table: "user-nodes",
        export: &[Source::Memberships],
        erase: &[Step::RemoveGrantsToUser, Step::RemoveGrantsToOthers, Step::Unbind, Step::DeleteGrants],
        excluded: None,
    },
    TableCoverage {
        table: "telemetry",
        export: &[Source::Telemetry],
        erase: &[Step::DeleteFormerTelemetry, Step::DeleteTelemetry],
        excluded: None,
    },
    TableCoverage {
        table: "binding-requests",
        export: &[Source::BindingRequests],
        erase: &[Step::DeleteBindingRequests],
        excluded: None,
    },
    TableCoverage {
        table: "serial-allowlist",
        export: &[],
        erase: &[],
        excluded: Some(
            "device data, not user data: the maker's list of the serials allowed to provision (serial, provisioned, \
             provisioned_at, certificate_id, and a keyed hash (HMAC) of each device's secret where the maker lists \
             one); it names devices, never a user, is written by the maker and the provisioning hook only, and stays \
             when a device changes owner; the link from a device to its owner is the nodes item's owner_id, which \
             the export includes and the erase clears",
        ),
    },
];

/// What the export does with one attribute of the items it reads: the file it appears in, or why it is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeCoverage {
    /// The table's name suffix.
    pub table: &'static str,
    pub attribute: &'static str,
    pub exported: Option<Source>,
    pub omitted: Option<&'static str>,
}

const fn out(table: &'static str, attribute: &'static str, source: Source) -> AttributeCoverage {
    AttributeCoverage { table, attribute, exported: Some(source), omitted: None }
}

const fn left(table: &'static str, attribute: &'static str, reason: &'static str) -> AttributeCoverage {
    AttributeCoverage { table, attribute, exported: None, omitted: Some(reason) }
}

/// Every attribute the write paths put on the items of the covered tables (`rainmaker_model::write`, the
/// functions, the item types). The CLI test `gdpr::each_export_matches_the_seed_and_holds_no_other_users_data`
/// reads the seeded items (shaped as the functions write them) and fails on an attribute missing here, on an
/// exported one missing from its file and on an omitted one present.
pub const ATTRIBUTES: &[AttributeCoverage] = &[
    out("users", attr::USER_ID, Source::Users),
    out("users", attr::EMAIL, Source::Users),
    out("users", attr::CREATED_AT, Source::Users),
    // one attribute per ownership window (`rainmaker_model::window`), matched by prefix
    out("users", rainmaker_model::window::PREFIX, Source::Users),
    out("nodes", attr::NODE_ID, Source::Nodes),
    out("nodes", attr::SERIAL, Source::Nodes),
    out("nodes", attr::OWNER_ID, Source::Nodes),
    out("nodes", attr::OWNER_EPOCH, Source::Nodes),
    out("nodes", attr::CONNECTED, Source::Nodes),
    out("nodes", attr::PRESENCE_AT, Source::Nodes),
    out("nodes", attr::LAST_SEEN_AT, Source::Nodes),
    out("nodes", attr::PROVISIONED_AT, Source::Nodes),
    left(
        "nodes",
        attr::RELEASED_AT,
        "when the node's previous ownership ended (the previous owner's unbind: their data, GDPR Art. 20(4)); your \
         own ownership starts at owner_epoch's time and is in users.json",
    ),
    // device data, but linked to the user while they own the node, like the serial and the thing; a fingerprint
    // of the public certificate, no secret (the private key never leaves the device)
    out("nodes", attr::CERTIFICATE_ID, Source::Nodes),
    out("user-nodes", attr::NODE_ID, Source::Memberships),
    out("user-nodes", attr::ROLE, Source::Memberships),
    out("user-nodes", attr::GRANTED_AT, Source::Memberships),
    left(
        "user-nodes",
        attr::USER_ID,
        "the key of each grant: your own user id, given once in cognito.json and users.json",
    ),
    left(
        "user-nodes",
        attr::GRANTED_BY,
        "for a node shared with you it is the owner's user id (another person's data, GDPR Art. 20(4)); for a \
         node you own it is your own id",
    ),
    left(
        "user-nodes",
        attr::EPOCH,
        "for a node shared with you it is the owner's ownership id (when they bound the node: their data); for a \
         node you own it equals owner_epoch in nodes.json",
    ),
    out("telemetry", attr::NODE_ID, Source::Telemetry),
    out("telemetry", attr::TS, Source::Telemetry),
    out("telemetry", attr::PARAMS, Source::Telemetry),
    out("telemetry", attr::RECEIVED_AT, Source::Telemetry),
    out("telemetry", attr::EXPIRES_AT, Source::Telemetry),
    out("telemetry", attr::MSG_ID, Source::Telemetry),
    out("binding-requests", attr::BINDING_CODE, Source::BindingRequests),
    out("binding-requests", attr::USER_ID, Source::BindingRequests),
    out("binding-requests", attr::NODE_ID, Source::BindingRequests),
    out("binding-requests", attr::CREATED_AT, Source::BindingRequests),
    out("binding-requests", attr::EXPIRES_AT, Source::BindingRequests),
];

/// The coverage of one attribute of a table's items (an entry ending in `#` covers every attribute it prefixes).
pub fn attribute(table: &str, attribute: &str) -> Option<&'static AttributeCoverage> {
    ATTRIBUTES.iter().find(|a| {
        a.table == table
            && (a.attribute == attribute || (a.attribute.ends_with('#') && attribute.starts_with(a.attribute)))
    })
}

/// The coverage of a table by suffix.
pub fn coverage(table: &str) -> Option<&'static TableCoverage> {
    TABLES.iter().find(|t| t.table == table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_covered_or_excluded_with_a_reason() {
        for t in TABLES {
            let covered = !t.export.is_empty() && !t.erase.is_empty();
            assert!(covered ^ t.excluded.is_some(), "{}: covered by both or neither", t.table);
        }
    }

    #[test]
    fn every_attribute_is_exported_or_left_out_with_a_reason_and_only_of_covered_tables() {
        for a in ATTRIBUTES {
            assert!(a.exported.is_some() ^ a.omitted.is_some(), "{}.{}", a.table, a.attribute);
            let t = coverage(a.table).unwrap_or_else(|| panic!("{}: not a table", a.table));
            assert!(t.excluded.is_none(), "{}: attributes of an excluded table", a.table);
            if let Some(s) = a.exported {
                assert!(
                    t.export.contains(&s),
                    "{}.{} goes to {s:?}, which does not read the table",
                    a.table,
                    a.attribute
                );
            }
            assert_eq!(ATTRIBUTES.iter().filter(|b| b.table == a.table && b.attribute == a.attribute).count(), 1);
        }
    }

    #[test]
    fn every_source_is_exported_from_somewhere_and_paths_are_unique() {
        let outside_tables = [Source::Cognito, Source::Things, Source::Shadows];
        for s in Source::ALL {
            let from_table = TABLES.iter().any(|t| t.export.contains(&s));
            assert!(from_table || outside_tables.contains(&s), "{s:?} is read from no table");
        }
        let mut paths: Vec<_> = Source::ALL.iter().map(|s| s.path()).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), Source::ALL.len());
        assert!(Source::ALL.iter().all(|s| !s.origin().contains("Scan")), "no source is read by a table scan");
    }
}
