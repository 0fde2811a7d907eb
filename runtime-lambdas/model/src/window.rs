//! Ownership windows: which telemetry belongs to which owner of a node (pure).
//!
//! Every ownership of a node is a window `[from, to)` in ms: `from` is the bind time (the ms part of the
//! ownership epoch, `crate::ownership::epoch`), `to` the unbind time (absent while the ownership lasts). The
//! windows are recorded on the owner's `users` item, one attribute per ownership named
//! `ownership#<node id>#<epoch>` ([`attribute_name`]) holding `{node_id, from, to?}`, written in the same
//! transaction as the bind (open window), the unbind, the API's `DELETE /nodes/{id}` and `serials reset`
//! (closed window): one write per ownership change, never one per message.
//!
//! **Boundary rule.** A reading belongs to the window that contains its `received_at` — the topic rule's
//! `timestamp()`, the time AWS IoT received the message, never the device's own `ts` (a device could set that to
//! any time) — with `from` included and `to` excluded. The unbind also records `released_at = to` on the node and
//! the next bind is conditioned on `released_at <= from`, so two windows of one node never overlap even across two
//! hosts' clocks: a reading received at exactly the unbind's millisecond is not the previous owner's; one received
//! between the unbind and the next bind (`to <= received_at < from`) belongs to nobody (in no export, erased by
//! no erase, deleted by the table's TTL).

use serde_json::{Map, Value};

/// The prefix of the window attributes of a `users` item.
pub const PREFIX: &str = "ownership#";

/// One ownership of a node by the user whose `users` item holds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    pub node_id: String,
    /// Bind time, ms (included).
    pub from: i64,
    /// Unbind time, ms (excluded); `None` while the user owns the node.
    pub to: Option<i64>,
}

impl Window {
    /// Whether a reading received at `received_at` (ms) is in the window.
    pub fn contains(&self, received_at: i64) -> bool {
        received_at >= self.from && self.to.is_none_or(|t| received_at < t)
    }

    /// The value stored under [`attribute_name`]: `{node_id, from, to?}`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(crate::attr::NODE_ID.into(), Value::from(self.node_id.clone()));
        m.insert(crate::attr::FROM.into(), Value::from(self.from));
        if let Some(t) = self.to {
            m.insert(crate::attr::TO.into(), Value::from(t));
        }
        Value::Object(m)
    }
}

/// The `users` attribute of an ownership: `ownership#<node id>#<epoch>` (`#` is in neither a thing name nor an
/// epoch); an ownership from before epochs existed is named by its start, `ownership#<node id>#<from>`.
pub fn attribute_name(node_id: &str, epoch: Option<&str>, from: i64) -> String {
    match epoch {
        Some(e) => format!("{PREFIX}{node_id}#{e}"),
        None => format!("{PREFIX}{node_id}#{from}"),
    }
}

/// The bind time of an epoch (`<bind ms>-<8 hex>`), the start of its window.
pub fn epoch_start(epoch: &str) -> Option<i64> {
    epoch.split_once('-').and_then(|(ms, _)| ms.parse().ok())
}

/// The windows recorded on a `users` item (as JSON), sorted by node and start; malformed values are skipped.
pub fn windows_of(user_item: &Map<String, Value>) -> Vec<Window> {
    let mut out: Vec<Window> = user_item
        .iter()
        .filter(|(k, _)| k.starts_with(PREFIX))
        .filter_map(|(_, v)| {
            let m = v.as_object()?;
            Some(Window {
                node_id: m.get(crate::attr::NODE_ID)?.as_str()?.to_string(),
                from: m.get(crate::attr::FROM)?.as_i64()?,
                to: match m.get(crate::attr::TO) {
                    None => None,
                    Some(t) => Some(t.as_i64()?),
                },
            })
        })
        .collect();
    out.sort();
    out
}

/// What to do with one telemetry item for a set of windows (of one node).
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// No reading of the item is in the windows.
    None,
    /// Every reading is (a per-reading item, or a batched one whose readings all are).
    All,
    /// A batched item (`crate::telemetry::layout`) straddling a window's edge: the item restricted to the readings
    /// inside (`inside`) and to the others (`outside`), each with its `received_at` the newest of its readings.
    Some { inside: Map<String, Value>, outside: Map<String, Value> },
}

/// Split one telemetry item (either layout, as JSON) by the windows: see [`Part`]. A reading without a
/// `received_at` is in no window. Per-reading items go whole.
pub fn split(item: &Map<String, Value>, windows: &[Window]) -> Part {
    let node = item.get(crate::attr::NODE_ID).and_then(Value::as_str).unwrap_or_default();
    let inside = |r: &Map<String, Value>| {
        r.get(crate::attr::RECEIVED_AT)
            .and_then(Value::as_i64)
            .is_some_and(|t| windows.iter().any(|w| w.node_id == node && w.contains(t)))
    };
    let Some(Value::Array(readings)) = item.get(crate::attr::READINGS) else {
        return if inside(item) { Part::All } else { Part::None };
    };
    let (ins, outs): (Vec<&Value>, Vec<&Value>) = readings.iter().partition(|r| r.as_object().is_some_and(&inside));
    match (ins.is_empty(), outs.is_empty()) {
        (true, _) => Part::None,
        (false, true) => Part::All,
        (false, false) => Part::Some { inside: with_readings(item, &ins), outside: with_readings(item, &outs) },
    }
}

fn with_readings(item: &Map<String, Value>, readings: &[&Value]) -> Map<String, Value> {
    let mut m = item.clone();
    let newest = readings.iter().filter_map(|r| r.get(crate::attr::RECEIVED_AT).and_then(Value::as_i64)).max();
    m.insert(crate::attr::READINGS.into(), Value::Array(readings.iter().map(|r| (*r).clone()).collect()));
    if let Some(t) = newest {
        m.insert(crate::attr::RECEIVED_AT.into(), Value::from(t));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn w(node: &str, from: i64, to: Option<i64>) -> Window {
        Window { node_id: node.into(), from, to }
    }

    #[test]
    fn boundary_rule_from_included_to_excluded_gap_belongs_to_nobody() {
        // A owned N for [100, 200), B from 205: the reading at 200 and the gap's are nobody's
        let (a, b) = (w("N", 100, Some(200)), w("N", 205, None));
        let cases = [(99, false, false), (100, true, false), (199, true, false), (200, false, false)];
        for (t, in_a, in_b) in cases.into_iter().chain([(204, false, false), (205, false, true), (9_999, false, true)])
        {
            assert_eq!((a.contains(t), b.contains(t)), (in_a, in_b), "received_at {t}");
        }
        // back to back (unbind and bind in the same millisecond): exactly one owner for every reading
        let b2 = w("N", 200, None);
        for t in 150..250 {
            assert!(a.contains(t) ^ b2.contains(t), "received_at {t}");
        }
    }

    #[test]
    fn windows_are_named_stored_and_read_back() {
        assert_eq!(attribute_name("SN-1", Some("1700000000123-000000ab"), 5), "ownership#SN-1#1700000000123-000000ab");
        assert_eq!(attribute_name("SN-1", None, 5), "ownership#SN-1#5");
        assert_eq!(epoch_start("1700000000123-000000ab"), Some(1_700_000_000_123));
        assert_eq!(epoch_start("legacy"), None);
        let item = obj(json!({
            "user_id": "u", "email": "e",
            "ownership#N2#9-00000001": w("N2", 9, None).to_json(),
            "ownership#N1#1-00000001": w("N1", 1, Some(5)).to_json(),
            "ownership#bad": {"node_id": "N3"},
            "ownership#bad2": {"node_id": "N3", "from": 1, "to": "x"},
        }));
        assert_eq!(windows_of(&item), vec![w("N1", 1, Some(5)), w("N2", 9, None)]);
        assert_eq!(w("N1", 1, Some(5)).to_json(), json!({"node_id": "N1", "from": 1, "to": 5}));
    }

    #[test]
    fn items_split_by_received_at_never_by_the_devices_ts() {
        let ws = [w("N", 100, Some(200))];
        // a reading the device back-dated into the window, received after it: not the window's
        let backdated = obj(json!({"node_id": "N", "ts": 150, "received_at": 250, "params": {"a": 1}}));
        assert_eq!(split(&backdated, &ws), Part::None);
        let mine = obj(json!({"node_id": "N", "ts": 50, "received_at": 150, "params": {"a": 1}}));
        assert_eq!(split(&mine, &ws), Part::All);
        let other_node = obj(json!({"node_id": "M", "ts": 150, "received_at": 150, "params": {"a": 1}}));
        assert_eq!(split(&other_node, &ws), Part::None);
        assert_eq!(split(&obj(json!({"node_id": "N", "ts": 150})), &ws), Part::None, "no received_at: nobody's");
        let batch = obj(json!({"node_id": "N", "ts": 190, "received_at": 210, "batch": "s/1", "readings": [
            {"ts": 190, "received_at": 199, "params": {"a": 1}},
            {"ts": 191, "received_at": 200, "params": {"a": 2}},
            {"ts": 192, "received_at": 210, "params": {"a": 3}}]}));
        let Part::Some { inside, outside } = split(&batch, &ws) else { panic!("a straddling batch") };
        assert_eq!(inside["readings"].as_array().unwrap().len(), 1);
        assert_eq!(inside["received_at"], 199);
        assert_eq!(outside["readings"].as_array().unwrap().len(), 2);
        assert_eq!(outside["received_at"], 210);
        assert_eq!(outside["ts"], 190, "the key stays");
        assert_eq!(split(&batch, &[w("N", 0, None)]), Part::All);
        assert_eq!(split(&batch, &[w("N", 300, None)]), Part::None);
    }
}
