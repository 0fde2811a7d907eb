//! The ranges `GET /nodes/{id}/readings` reads (the api's `readings` module), shared with the cost model
//! (`estimate` prices the route's Queries over them): the default and the longest range, and the `ts` bounds of
//! the node's own partition around a range.

use super::packed::MAX_ITEM_SPAN_MS;
use super::MAX_FUTURE_SKEW_MS;

/// The range when the request names none: the last 15 minutes.
pub const DEFAULT_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Longest range one request may ask for.
pub const MAX_WINDOW_MS: i64 = 60 * 60 * 1000;
/// In the per-reading and per-node layouts (keyed by the device's `ts`), a reading whose `ts` is more than this
/// before its arrival (a device that buffered it for longer) is not in the route's answer; export still has it.
pub const MAX_DEVICE_LAG_MS: i64 = 60 * 60 * 1000;

/// The `ts` bounds (inclusive) of the Query of the node's own partition for readings received in `[from, to)`: a
/// reading's device `ts` is at most [`MAX_FUTURE_SKEW_MS`] after its arrival and, for this route, at most
/// [`MAX_DEVICE_LAG_MS`] before it, and a per-node item's `ts` (its oldest reading) up to one batch span
/// ([`MAX_ITEM_SPAN_MS`]) before its newest. DynamoDB meters every item in these bounds, filtered or not.
pub const fn own_ts_bounds(from: i64, to: i64) -> (i64, i64) {
    (from - MAX_DEVICE_LAG_MS - MAX_ITEM_SPAN_MS, to + MAX_FUTURE_SKEW_MS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_partition_is_read_70_minutes_beyond_the_range() {
        let (lo, hi) = own_ts_bounds(10 * 3_600_000, 10 * 3_600_000 + DEFAULT_WINDOW_MS);
        assert_eq!(hi + 1 - lo, DEFAULT_WINDOW_MS + 70 * 60 * 1000, "15 minutes + 60 lag + 5 span + 5 skew");
    }
}
