//! The packed telemetry layout (`rainmaker_model::telemetry::packed`) under GDPR, the pure part: which of a
//! bucket's items can hold a node's readings inside an ownership window, what the export writes of them, and how
//! the erase rewrites an item without them.
//!
//! A packed item holds the readings of many nodes (every node of its bucket), so neither export nor erase can go
//! by key: each decodes the item and keeps or drops the node's readings whose `received_at` is inside the window
//! (`Window::contains`, the same rule as the other layouts). The erase rewrites the item with the other readings
//! (other nodes, and this node's outside the window) byte for byte as they were decoded, or deletes it when none
//! is left.

use rainmaker_model::telemetry::packed::{self, PackedReading, MAX_ITEM_SPAN_MS};
use rainmaker_model::window::Window;
use serde_json::{json, Map, Value};

/// The `ts` bounds (inclusive) of the bucket's items that can hold readings received inside `w`: an item's key is
/// its oldest reading's `received_at` × 1,000 + attempt, and an item spans at most `MAX_ITEM_SPAN_MS`. `None` as
/// the upper bound: the window is open (no bound).
pub fn item_bounds(w: &Window) -> (i64, Option<i64>) {
    match w.to {
        Some(to) => {
            let (lo, hi) = packed::query_range(w.from, to);
            (lo, Some(hi))
        }
        None => (w.from.saturating_sub(MAX_ITEM_SPAN_MS).saturating_mul(1000), None),
    }
}

/// Whether `r` is `node`'s reading inside one of `windows`.
fn theirs(r: &PackedReading, node: &str, windows: &[Window]) -> bool {
    r.node_id == node && windows.iter().any(|w| w.node_id == node && w.contains(r.received_at))
}

/// The export lines of one decoded item: `node`'s readings inside `w`, each as a reading of the per-reading
/// layout (`node_id`, `ts`, `received_at`, `msg_id` if any, `params`), in the item's order. Nothing of another node.
pub fn export_lines(readings: &[PackedReading], node: &str, w: &Window) -> Vec<Map<String, Value>> {
    readings
        .iter()
        .filter(|r| theirs(r, node, std::slice::from_ref(w)))
        .map(|r| {
            let mut m = Map::new();
            m.insert("node_id".into(), json!(r.node_id));
            m.insert("ts".into(), json!(r.ts));
            m.insert("received_at".into(), json!(r.received_at));
            if let Some(id) = &r.msg_id {
                m.insert("msg_id".into(), json!(id));
            }
            m.insert("params".into(), Value::Object(r.params.clone()));
            m
        })
        .collect()
}

/// What the erase does to one packed item.
#[derive(Debug, Clone, PartialEq)]
pub enum Erase {
    /// No reading of the node inside the windows: the item is not written.
    Untouched,
    /// Put the item back with these readings (`removed` of the node's dropped); `newest` is their newest
    /// `received_at` (the item's new `received_at`).
    Rewrite { keep: Vec<PackedReading>, removed: usize, newest: i64 },
    /// Every reading of the item was the node's inside the windows: delete it.
    Delete { removed: usize },
}

/// The erase of `node`'s readings inside `windows` from one decoded item.
pub fn erase(readings: Vec<PackedReading>, node: &str, windows: &[Window]) -> Erase {
    let before = readings.len();
    let keep: Vec<PackedReading> = readings.into_iter().filter(|r| !theirs(r, node, windows)).collect();
    let removed = before - keep.len();
    match (removed, keep.iter().map(|r| r.received_at).max()) {
        (0, _) => Erase::Untouched,
        (_, None) => Erase::Delete { removed },
        (_, Some(newest)) => Erase::Rewrite { keep, removed, newest },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(node: &str, ts: i64, received_at: i64) -> PackedReading {
        let params = json!({"seq": ts}).as_object().cloned().unwrap();
        PackedReading { node_id: node.into(), ts, received_at, msg_id: None, params }
    }

    fn w(from: i64, to: Option<i64>) -> Window {
        Window { node_id: "N".into(), from, to }
    }

    #[test]
    fn bounds_reach_back_one_item_span_and_stay_open_for_an_open_window() {
        let (lo, hi) = item_bounds(&w(1_000_000, Some(2_000_000)));
        assert_eq!(lo, packed::item_ts(1_000_000 - MAX_ITEM_SPAN_MS, 0));
        assert_eq!(hi, Some(2_000_000 * 1000 - 1), "an item begun at `to` holds nothing inside");
        assert_eq!(item_bounds(&w(1_000_000, None)), (packed::item_ts(1_000_000 - MAX_ITEM_SPAN_MS, 0), None));
    }

    #[test]
    fn export_keeps_the_node_s_readings_inside_the_window_only() {
        let item = [r("N", 1, 99), r("N", 2, 100), r("M", 3, 150), r("N", 4, 199), r("N", 5, 200)];
        let lines = export_lines(&item, "N", &w(100, Some(200)));
        let ts: Vec<i64> = lines.iter().map(|l| l["ts"].as_i64().unwrap()).collect();
        assert_eq!(ts, vec![2, 4], "from inclusive, to exclusive, never M");
        assert_eq!(
            Value::Object(lines[0].clone()),
            json!({"node_id": "N", "ts": 2, "received_at": 100, "params": {"seq": 2}})
        );
        assert!(export_lines(&item, "M", &Window { node_id: "M".into(), from: 0, to: None }).len() == 1);
    }

    #[test]
    fn erase_rewrites_without_the_node_s_window_or_deletes_an_emptied_item() {
        let ws = [w(100, Some(200)), w(300, None)];
        let item = vec![r("N", 1, 99), r("N", 2, 100), r("M", 3, 150), r("N", 4, 250), r("N", 5, 300)];
        match erase(item.clone(), "N", &ws) {
            Erase::Rewrite { keep, removed, newest } => {
                assert_eq!((removed, newest), (2, 250));
                assert_eq!(keep, vec![item[0].clone(), item[2].clone(), item[3].clone()], "others as they were");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(erase(vec![r("N", 2, 100), r("N", 6, 400)], "N", &ws), Erase::Delete { removed: 2 });
        assert_eq!(erase(vec![r("M", 2, 100), r("N", 1, 99)], "N", &ws), Erase::Untouched);
        // a window of another node never erases this node's readings
        let other = [Window { node_id: "M".into(), from: 0, to: None }];
        assert_eq!(erase(vec![r("N", 2, 100)], "N", &other), Erase::Untouched);
    }
}
