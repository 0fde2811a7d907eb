//! The DynamoDB calls each runtime function makes per event, declared next to the functions: what `estimate`
//! prices (`core/src/cost/flow.rs` reads [`DECLARED`]) and what the access-check test holds every handler to (it
//! runs the handler against moto, records the calls it really sends and fails when they differ from this table).
//!
//! Costs follow from the declaration: a write is ⌈bytes / 1 KB⌉ write units on the table plus as many on each index
//! in [`Access::indexes`] (ALL projection), doubled inside a transaction; a read is ⌈bytes / 4 KB⌉ read units when
//! strongly consistent, half of that when eventually consistent. A write whose condition fails costs the same.

use crate::tables::{Table, GSI_BY_NODE, GSI_BY_OWNER, GSI_BY_USER};

/// A DynamoDB operation (one item each; a `TransactWriteItems` is declared item by item with `transaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    GetItem,
    PutItem,
    UpdateItem,
    DeleteItem,
    Query,
    /// One key of a `BatchGetItem`.
    BatchGetItem,
    /// A `ConditionCheck` item of a transaction; priced as a write of the item (an assumption: AWS documents
    /// transactions at twice the units of their items, and a check reserves the item like a write).
    ConditionCheck,
}

impl Op {
    /// Whether the operation writes.
    pub const fn writes(self) -> bool {
        matches!(self, Op::PutItem | Op::UpdateItem | Op::DeleteItem | Op::ConditionCheck)
    }
}

/// The size class of the item an operation touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Node,
    UserNode,
    User,
    BindingRequest,
    Serial,
    /// One telemetry reading: its share of the payload plus [`TELEMETRY_ITEM_OVERHEAD`].
    Reading,
    /// One item of the batched layout (`crate::telemetry::layout`): a node's readings of one Kinesis batch, each
    /// its share of the payload plus [`BATCH_READING_OVERHEAD`], plus [`BATCH_ITEM_OVERHEAD`].
    ReadingBatch,
    /// One item of the packed layout (`crate::telemetry::packed`): the compressed readings of many nodes, plus
    /// [`PACKED_ITEM_OVERHEAD`]; its size depends on the readings per item, so the cost model computes it.
    PackedItem,
}

/// Stored bytes of one item (attributes + key + DynamoDB's 100-byte overhead), by size class.
pub const fn item_bytes(size: Size) -> Option<u32> {
    match size {
        Size::Node => Some(400),
        Size::UserNode => Some(200),
        Size::User => Some(150),
        Size::BindingRequest => Some(200),
        Size::Serial => Some(150),
        Size::Reading | Size::ReadingBatch | Size::PackedItem => None,
    }
}

/// DynamoDB's storage overhead of every item (100 B "for indexing"): in the stored bytes billed as storage, not in the
/// item size read and write units are metered on — "the sum of the lengths of its attribute names and values"
/// (DynamoDB developer guide, "DynamoDB item sizes and formats"). The size classes here are stored bytes.
pub const STORAGE_OVERHEAD: u32 = 100;

/// The item size request units are metered on, of an item of `stored` bytes ([`STORAGE_OVERHEAD`] off).
pub fn metered_item_bytes(stored: f64) -> f64 {
    (stored - f64::from(STORAGE_OVERHEAD)).max(1.0)
}

/// Telemetry item bytes beyond the reading's payload (node id, ts, received_at, expires_at, msg_id, overhead).
pub const TELEMETRY_ITEM_OVERHEAD: u32 = 150;

/// Bytes of one reading inside a batched item beyond its payload share (its `ts`, `received_at`, `msg_id` and the
/// map's attribute names).
pub const BATCH_READING_OVERHEAD: u32 = 60;

/// Bytes of a batched item beyond its readings (node id, key, `received_at`, `expires_at`, `batch` = shard id and a
/// 56-digit sequence number, DynamoDB's 100-byte item overhead).
pub const BATCH_ITEM_OVERHEAD: u32 = 230;

/// Bytes of a packed item beyond its compressed readings (`packed`): the seven attribute names (`node_id`, `ts`,
/// `packed`, `count`, `received_at`, `expires_at`, `batch`: 46 B), the values `#packed-NNN` (11 B) and `batch` (a
/// 20-character shard id, `/`, a 56-digit sequence number: 77 B), the numbers `ts` (16 digits: 9 B), `count` (3 B),
/// `received_at` (13 digits: 8 B) and `expires_at` (10 digits: 6 B) — DynamoDB sizes a number at about one byte
/// per two significant digits plus one — and DynamoDB's 100-byte item overhead: 46 + 11 + 77 + 9 + 3 + 8 + 6 + 100.
pub const PACKED_ITEM_OVERHEAD: u32 = 260;

/// One declared DynamoDB call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub op: Op,
    pub table: Table,
    /// The index a `Query` reads (`None`: the table).
    pub index: Option<&'static str>,
    pub size: Size,
    /// Reads: `ConsistentRead: true` (writes: `false`).
    pub strong: bool,
    /// Carries a `ConditionExpression`.
    pub conditional: bool,
    /// An item of a `TransactWriteItems` (twice the write units).
    pub transaction: bool,
    /// Once per reading of the message (else once per event).
    pub per_reading: bool,
    /// Once per item of the batched layout the event makes: per node of a Kinesis batch (more when a node's
    /// readings exceed `crate::telemetry::layout::MAX_ITEM_READINGS`).
    pub per_node: bool,
    /// Once per item of the packed layout the batch makes (per bucket of nodes and time span of a Kinesis batch,
    /// `crate::telemetry::packed`).
    pub per_packed_item: bool,
    /// Global secondary indexes the write also updates (the item carries their key; ALL projection).
    pub indexes: &'static [&'static str],
}

/// What invokes a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A device message from the telemetry rule (one or several readings).
    Telemetry,
    /// A batch of telemetry stream records from Lambda's Kinesis event source mapping (batched pipeline).
    TelemetryBatch,
    /// The same with `TELEMETRY_LAYOUT=packed` (packed pipeline).
    TelemetryPacked,
    /// A lifecycle event from the presence rule.
    Presence,
    /// The pre-provisioning hook for a new device.
    Provisioning,
    /// `POST /nodes/bind` (the app asks for a binding code).
    BindStart,
    /// The device's binding confirmation from the binding rule.
    BindConfirm,
    /// `GET /nodes`.
    ListNodes,
    /// `GET /nodes/{id}`.
    GetNode,
    /// `GET /nodes/{id}/params` (plus a GetThingShadow).
    GetParams,
    /// `GET /nodes/{id}/readings?from&to` (the api's `readings` module).
    GetReadings,
    /// `PUT /nodes/{id}/params` (plus an UpdateThingShadow).
    PutParams,
    /// `POST /nodes/{id}/shares`.
    Share,
    /// `DELETE /nodes/{id}/shares/{user}`.
    Unshare,
}

/// The declared calls of one function for one event.
#[derive(Debug, Clone, Copy)]
pub struct Declaration {
    /// The function (`contract::FUNCTIONS`).
    pub function: &'static str,
    pub event: Event,
    pub accesses: &'static [Access],
}

const fn read(table: Table, size: Size, strong: bool) -> Access {
    Access {
        op: Op::GetItem,
        table,
        index: None,
        size,
        strong,
        conditional: false,
        transaction: false,
        per_reading: false,
        per_node: false,
        per_packed_item: false,
        indexes: &[],
    }
}

const fn write(op: Op, table: Table, size: Size, conditional: bool, indexes: &'static [&'static str]) -> Access {
    Access {
        op,
        table,
        index: None,
        size,
        strong: false,
        conditional,
        transaction: false,
        per_reading: false,
        per_node: false,
        per_packed_item: false,
        indexes,
    }
}

const fn in_transaction(a: Access) -> Access {
    Access { transaction: true, ..a }
}

/// The user's `user_nodes` grant, read strongly before every node operation (authorization).
const AUTHZ: Access = read(Table::UserNodes, Size::UserNode, true);
/// ... and the node, read strongly for its ownership epoch (`crate::ownership`); the node operations use it.
const AUTHZ_NODE: Access = read(Table::Nodes, Size::Node, true);
/// The node's newest telemetry item (Query newest first, `Limit 1`, eventual): its `received_at` is the node's
/// last-seen time together with the presence events (issue 13: derived on read instead of written per message).
const NEWEST_READING: Access = Access { op: Op::Query, ..read(Table::Telemetry, Size::Reading, false) };

/// Every function's calls per event, as the code in `runtime-lambdas/` makes them on the success path.
pub const DECLARED: &[Declaration] = &[
    Declaration {
        function: "telemetry-ingest",
        event: Event::Telemetry,
        accesses: &[
            // One conditional put per reading (idempotent on (node_id, ts)); nothing else (issue 13: the node's
            // last-seen time is derived by the API from the newest reading, not written per message).
            Access { per_reading: true, ..write(Op::PutItem, Table::Telemetry, Size::Reading, true, &[]) },
        ],
    },
    Declaration {
        function: "telemetry-batch",
        event: Event::TelemetryBatch,
        accesses: &[
            // One conditional put per node of the batch (its readings in one item, `telemetry::layout`); a failed
            // condition returns the old item (no read) and only the readings it lacks are put again.
            Access { per_node: true, ..write(Op::PutItem, Table::Telemetry, Size::ReadingBatch, true, &[]) },
        ],
    },
    Declaration {
        function: "telemetry-batch",
        event: Event::TelemetryPacked,
        accesses: &[
            // One conditional put per packed item (a bucket's readings of the batch within a time span); a failed
            // condition returns the old item (no read): a redelivery stops there, another batch's item takes the
            // next attempt (one more put, rare: two batches' oldest readings in the same millisecond and bucket).
            Access { per_packed_item: true, ..write(Op::PutItem, Table::Telemetry, Size::PackedItem, true, &[]) },
        ],
    },
    Declaration {
        function: "presence",
        event: Event::Presence,
        accesses: &[write(Op::UpdateItem, Table::Nodes, Size::Node, true, &[GSI_BY_OWNER])],
    },
    Declaration {
        function: "provisioning-hook",
        event: Event::Provisioning,
        accesses: &[
            // The entry with its secret HMAC, read strongly, judged in the hook (constant-time comparison).
            read(Table::SerialAllowlist, Size::Serial, true),
            in_transaction(write(Op::UpdateItem, Table::SerialAllowlist, Size::Serial, true, &[])),
            // A new node has no owner yet: no `by-owner` entry.
            in_transaction(write(Op::UpdateItem, Table::Nodes, Size::Node, false, &[])),
        ],
    },
    Declaration {
        function: "api",
        event: Event::BindStart,
        accesses: &[
            // The caller's outstanding codes (count, `expires_at` filter) for the cap; no read of the node, so
            // unknown, bound and unbound nodes cost and answer the same (binding-confirm checks the node).
            Access {
                op: Op::Query,
                index: Some(GSI_BY_USER),
                ..read(Table::BindingRequests, Size::BindingRequest, false)
            },
            write(Op::UpdateItem, Table::Users, Size::User, false, &[]),
            write(Op::PutItem, Table::BindingRequests, Size::BindingRequest, true, &[GSI_BY_USER]),
        ],
    },
    Declaration {
        function: "binding-confirm",
        event: Event::BindConfirm,
        accesses: &[
            read(Table::BindingRequests, Size::BindingRequest, true),
            in_transaction(write(Op::UpdateItem, Table::Nodes, Size::Node, true, &[GSI_BY_OWNER])),
            in_transaction(write(Op::PutItem, Table::UserNodes, Size::UserNode, false, &[GSI_BY_NODE])),
            // the owner's open ownership window on their `users` item (`crate::window`): one write per bind
            in_transaction(write(Op::UpdateItem, Table::Users, Size::User, false, &[])),
            in_transaction(write(Op::DeleteItem, Table::BindingRequests, Size::BindingRequest, true, &[GSI_BY_USER])),
        ],
    },
    Declaration {
        function: "api",
        event: Event::ListNodes,
        accesses: &[
            Access { op: Op::Query, ..read(Table::UserNodes, Size::UserNode, false) },
            Access { op: Op::BatchGetItem, ..read(Table::Nodes, Size::Node, false) },
            // One per node listed (the estimate lists one).
            NEWEST_READING,
        ],
    },
    Declaration { function: "api", event: Event::GetNode, accesses: &[AUTHZ, AUTHZ_NODE, NEWEST_READING] },
    Declaration { function: "api", event: Event::GetParams, accesses: &[AUTHZ, AUTHZ_NODE] },
    Declaration {
        function: "api",
        event: Event::GetReadings,
        accesses: &[
            AUTHZ,
            AUTHZ_NODE,
            // The node's own partition (per-reading and per-node items) by `ts` in `read_range::own_ts_bounds`,
            // then its bucket's packed items in `telemetry::packed::query_range`: eventual, one call per page
            // (one here). The cost model sizes both from the layout the templates deploy
            // (`core/src/cost/read_flow.rs`): the bucket Query reads every node's packed items of the range.
            Access { op: Op::Query, ..read(Table::Telemetry, Size::Reading, false) },
            Access { op: Op::Query, ..read(Table::Telemetry, Size::PackedItem, false) },
        ],
    },
    Declaration { function: "api", event: Event::PutParams, accesses: &[AUTHZ, AUTHZ_NODE] },
    Declaration {
        function: "api",
        event: Event::Share,
        accesses: &[
            AUTHZ,
            AUTHZ_NODE,
            // One transaction: the caller still owns the node at the epoch read, and the grant is new.
            in_transaction(write(Op::ConditionCheck, Table::Nodes, Size::Node, true, &[])),
            in_transaction(write(Op::PutItem, Table::UserNodes, Size::UserNode, true, &[GSI_BY_NODE])),
        ],
    },
    Declaration {
        function: "api",
        event: Event::Unshare,
        accesses: &[AUTHZ, AUTHZ_NODE, write(Op::DeleteItem, Table::UserNodes, Size::UserNode, true, &[GSI_BY_NODE])],
    },
];

/// The declaration for an event (each event is handled by one function).
pub fn declared(event: Event) -> Option<&'static Declaration> {
    DECLARED.iter().find(|d| d.event == event)
}

/// How the REST API's calls divide over the routes: the non-shadow calls half `GET /nodes`, half `GET /nodes/{id}`;
/// the shadow calls (`api_shadow_percent`) two thirds `GET .../params`, one third `PUT .../params`.
pub fn api_mix(shadow_share: f64) -> [(Event, f64); 4] {
    let other = (1.0 - shadow_share).max(0.0);
    [
        (Event::ListNodes, other / 2.0),
        (Event::GetNode, other / 2.0),
        (Event::GetParams, shadow_share * 2.0 / 3.0),
        (Event::PutParams, shadow_share / 3.0),
    ]
}

/// The REST API's calls over the routes with `GET /nodes/{id}/readings` taking `readings_share` of them (clamped to
/// 0..=1) and the other routes [`api_mix`] of the rest.
pub fn api_mix_with_readings(shadow_share: f64, readings_share: f64) -> [(Event, f64); 5] {
    let readings = readings_share.clamp(0.0, 1.0);
    let [a, b, c, d] = api_mix(shadow_share).map(|(ev, part)| (ev, part * (1.0 - readings)));
    [a, b, c, d, (Event::GetReadings, readings)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_is_declared_once_and_sizes_are_known() {
        for d in DECLARED {
            assert_eq!(DECLARED.iter().filter(|o| o.event == d.event).count(), 1, "{:?}", d.event);
            for a in d.accesses {
                assert!(
                    matches!(a.size, Size::Reading | Size::ReadingBatch | Size::PackedItem)
                        || item_bytes(a.size).is_some()
                );
                assert!(!(a.strong && a.op.writes()), "{:?}: a write has no read consistency", d.event);
                for i in a.indexes {
                    assert!(
                        a.table.gsis().iter().any(|g| g.name == *i),
                        "{:?}: {i} is not a GSI of {:?}",
                        d.event,
                        a.table
                    );
                }
            }
        }
        let mix: f64 = api_mix(0.3).iter().map(|(_, s)| s).sum();
        assert!((mix - 1.0).abs() < 1e-12);
        let with = api_mix_with_readings(0.3, 0.02);
        assert!((with.iter().map(|(_, s)| s).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(with[4], (Event::GetReadings, 0.02));
        assert!((with[2].1 - 0.3 * 2.0 / 3.0 * 0.98).abs() < 1e-12, "the other routes keep their mix of the rest");
        assert_eq!(api_mix_with_readings(0.3, 0.0)[..4], api_mix(0.3)[..]);
    }
}
