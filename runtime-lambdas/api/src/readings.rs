//! `GET /nodes/{node_id}/readings?from=<ms>&to=<ms>`: a node's readings received in `[from, to)`, from every
//! telemetry layout at once (`rainmaker_model::telemetry`): per-reading and per-node items in the node's own
//! partition, packed items in its bucket's. Authorized like `GET /nodes/{id}`.
//!
//! Two eventually consistent Queries (each paged): the node's partition by `ts` around the range (a reading's
//! device `ts` is at most `MAX_FUTURE_SKEW_MS` after its arrival and, for this route, at most [`MAX_DEVICE_LAG_MS`]
//! before it), its items filtered on their newest `received_at`; and the bucket's items in
//! [`packed::query_range`], decoded one at a time, only the node's readings kept ([`packed::select`]). The answer is
//! ascending by `ts`, a repeated `ts` once ([`dedup_by_ts`]).

use crate::error::{sdk, ApiError};
use crate::Api;
use aws_sdk_dynamodb::types::AttributeValue;
use rainmaker_model::ddb::{map_to_json, n, s, Item};
use rainmaker_model::telemetry::layout::{dedup_by_ts, readings_in, StoredReading};
use rainmaker_model::telemetry::packed;
/// The default and longest range, and how far beyond the range the node's own partition is read (shared with
/// `estimate`, which prices these Queries).
pub use rainmaker_model::telemetry::read_range::{own_ts_bounds, DEFAULT_WINDOW_MS, MAX_DEVICE_LAG_MS, MAX_WINDOW_MS};
use rainmaker_model::{attr, time};
use serde_json::{json, Value};

/// How far `to` may lie ahead of the function's clock (a client's clock runs a little fast).
pub const MAX_CLIENT_SKEW_MS: i64 = 60 * 1000;
/// The packed layout's binary attribute (`rainmaker_model::telemetry::packed`).
const PACKED: &str = "packed";

/// The parameters this route takes.
const PARAMS: [&str; 2] = ["from", "to"];

/// The `[from, to)` range (ms) of a request's query parameters at `now_ms`: both optional (`to` defaults to now,
/// `from` to 15 minutes before `to`); integers, `from < to`, at most an hour apart, `to` not in the future.
pub fn range(query: &[(String, String)], now_ms: i64) -> Result<(i64, i64), ApiError> {
    let latest = now_ms + MAX_CLIENT_SKEW_MS;
    let mut got: [Option<i64>; 2] = [None, None];
    for (k, v) in query {
        let Some(i) = PARAMS.iter().position(|p| p == k) else {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter `{k}`: this route takes `from` and `to` (milliseconds since the epoch)"
            )));
        };
        if got[i].is_some() {
            return Err(ApiError::bad_request(format!("`{k}` is given more than once")));
        }
        let t = v.trim().parse::<i64>().ok().filter(|t| (0..=latest).contains(t)).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`{k}` must be an integer of milliseconds since the epoch in 0..={latest} (not in the future), \
                 not {v:?}"
            ))
        })?;
        got[i] = Some(t);
    }
    let to = got[1].unwrap_or(now_ms);
    let from = got[0].unwrap_or(to - DEFAULT_WINDOW_MS);
    if from >= to {
        return Err(ApiError::bad_request(format!("`from` ({from}) must be less than `to` ({to})")));
    }
    if to - from > MAX_WINDOW_MS {
        return Err(ApiError::bad_request(format!(
            "`from`..`to` spans {} ms; at most {MAX_WINDOW_MS} (one hour): set `from` to {} or later",
            to - from,
            to - MAX_WINDOW_MS
        )));
    }
    Ok((from, to))
}

/// `node_id`'s readings received in `[from, to)` in one packed item's `packed` attribute (the CPU of the route:
/// `benches/readings.rs`).
pub fn node_readings_in(blob: &[u8], node_id: &str, from: i64, to: i64) -> Result<Vec<StoredReading>, ApiError> {
    let all = packed::decode(blob).map_err(ApiError::internal)?;
    Ok(packed::select(&all, node_id, from, to).map(packed::PackedReading::stored).collect())
}

/// A reading as the route answers it.
fn view(r: &StoredReading) -> Value {
    let mut v = json!({"ts": r.ts, "received_at": r.received_at, "params": r.params});
    if let Some(m) = &r.msg_id {
        v["msg_id"] = json!(m);
    }
    v
}

impl Api {
    pub(crate) async fn get_readings(
        &self,
        user_id: &str,
        node_id: &str,
        query: &[(String, String)],
    ) -> Result<(u16, Value), ApiError> {
        let (from, to) = range(query, time::now_ms())?;
        self.require_access(user_id, node_id).await?;
        let mut readings = self.own_readings(node_id, from, to).await?;
        readings.extend(self.packed_readings(node_id, from, to).await?);
        let readings: Vec<Value> = dedup_by_ts(readings).iter().map(view).collect();
        Ok((200, json!({"node_id": node_id, "from": from, "to": to, "readings": readings})))
    }

    /// Readings of the node's per-reading and per-node items received in `[from, to)`.
    async fn own_readings(&self, node_id: &str, from: i64, to: i64) -> Result<Vec<StoredReading>, ApiError> {
        let (lo, hi) = own_ts_bounds(from, to);
        let items = self.query_items(node_id, lo, hi, Some(from)).await?;
        let mut out = Vec::new();
        for item in items {
            let in_range = |r: &StoredReading| r.received_at.is_some_and(|t| t >= from && t < to);
            out.extend(readings_in(&map_to_json(&item)).into_iter().filter(in_range));
        }
        Ok(out)
    }

    /// The node's readings in its bucket's packed items received in `[from, to)`; another node's never.
    async fn packed_readings(&self, node_id: &str, from: i64, to: i64) -> Result<Vec<StoredReading>, ApiError> {
        let (lo, hi) = packed::query_range(from, to);
        let bucket = packed::partition_key(packed::bucket_of(node_id));
        let mut out = Vec::new();
        for item in self.query_items(&bucket, lo, hi, None).await? {
            let Some(AttributeValue::B(blob)) = item.get(PACKED) else {
                return Err(ApiError::internal(format!("packed item of {bucket} has no binary `{PACKED}`")));
            };
            out.extend(node_readings_in(blob.as_ref(), node_id, from, to)?);
        }
        Ok(out)
    }

    /// Every item of `partition` with `ts` in `lo..=hi` (paged, eventually consistent), optionally only those whose
    /// `received_at` (the newest of their readings) is at least `received_from`.
    async fn query_items(
        &self,
        partition: &str,
        lo: i64,
        hi: i64,
        received_from: Option<i64>,
    ) -> Result<Vec<Item>, ApiError> {
        let mut q = self
            .ddb
            .query()
            .table_name(&self.tables.telemetry)
            .key_condition_expression("#n = :n AND #t BETWEEN :lo AND :hi")
            .expression_attribute_names("#n", attr::NODE_ID)
            .expression_attribute_names("#t", attr::TS)
            .expression_attribute_values(":n", s(partition))
            .expression_attribute_values(":lo", n(lo))
            .expression_attribute_values(":hi", n(hi));
        if let Some(t) = received_from {
            q = q
                .filter_expression("#r >= :from")
                .expression_attribute_names("#r", attr::RECEIVED_AT)
                .expression_attribute_values(":from", n(t));
        }
        let mut pages = q.into_paginator().items().send();
        let mut items = Vec::new();
        while let Some(item) = pages.next().await {
            items.push(item.map_err(sdk)?);
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_765_000_000_000;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn msg(query: &[(&str, &str)]) -> String {
        let e = range(&q(query), NOW).unwrap_err();
        assert_eq!(e.code, rainmaker_model::ErrorCode::BadRequest);
        e.message
    }

    #[test]
    fn defaults_and_valid_ranges() {
        assert_eq!(range(&[], NOW).unwrap(), (NOW - DEFAULT_WINDOW_MS, NOW));
        assert_eq!(range(&q(&[("to", "1000000")]), NOW).unwrap(), (1_000_000 - DEFAULT_WINDOW_MS, 1_000_000));
        let from = (NOW - MAX_WINDOW_MS).to_string();
        assert_eq!(range(&q(&[("from", &from)]), NOW).unwrap(), (NOW - MAX_WINDOW_MS, NOW), "exactly an hour");
        let to = (NOW + MAX_CLIENT_SKEW_MS).to_string();
        assert!(range(&q(&[("from", &from), ("to", &to)]), NOW).unwrap_err().message.contains("spans"));
        assert_eq!(range(&q(&[("to", &to)]), NOW).unwrap().1, NOW + MAX_CLIENT_SKEW_MS, "a fast client clock");
    }

    #[test]
    fn bad_values_name_the_parameter_and_the_valid_range() {
        let latest = NOW + MAX_CLIENT_SKEW_MS;
        let m = msg(&[("from", "yesterday")]);
        assert!(m.contains("`from`") && m.contains(&format!("0..={latest}")) && m.contains("\"yesterday\""), "{m}");
        let m = msg(&[("to", "1.5")]);
        assert!(m.starts_with("`to` must be an integer"), "{m}");
        assert!(msg(&[("to", "-1")]).starts_with("`to` must be"));
        let future = (latest + 1).to_string();
        assert!(msg(&[("to", &future)]).contains("not in the future"));
        assert!(msg(&[("from", &future)]).starts_with("`from` must be"));
        let m = msg(&[("from", "2000"), ("to", "2000")]);
        assert_eq!(m, "`from` (2000) must be less than `to` (2000)");
        let m = msg(&[("from", "0"), ("to", "3600001")]);
        assert_eq!(m, "`from`..`to` spans 3600001 ms; at most 3600000 (one hour): set `from` to 1 or later");
        assert!(msg(&[("from", "1"), ("from", "2")]).contains("more than once"));
        assert!(msg(&[("limit", "5")]).contains("unknown query parameter `limit`"));
    }
}
