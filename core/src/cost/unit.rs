//! Unit costs of the telemetry path: what one more million device messages (and readings) adds to the bill — the
//! marginal cost, from doubling the message rate — and what the path costs regardless of volume.

use crate::cost::error::CostError;
use crate::cost::prices::PriceTable;
use crate::cost::template::Resources;
use crate::cost::usage::{Usage, MONTH_HOURS};
use crate::cost::{estimate_once, Estimate, Options};
use serde::Serialize;

/// `unit_costs` of an estimate (`--output json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnitCosts {
    /// Device telemetry messages a month at this fleet size.
    pub device_messages_monthly: f64,
    pub readings_per_message: f64,
    /// (cost at 2× the message rate − cost at 1×) / added messages × 1M.
    pub per_million_device_messages_usd: f64,
    /// The same per reading (`readings_per_message` readings a message).
    pub per_million_readings_usd: f64,
    /// What the telemetry path costs regardless of volume: the time-billed components (stream-hours, shard-hours) of
    /// the resources whose cost moves with the message rate.
    pub telemetry_fixed_monthly_usd: f64,
    /// Device-side batching: the marginal cost of a million readings when the devices send the same readings
    /// [`DEVICE_BATCH`] to a message (the message rate divided by 25/`readings_per_message`, each message carrying
    /// 25 readings' bytes).
    pub per_million_readings_at_25_per_message_usd: f64,
}

/// Readings in one message with device-side batching (the most the telemetry rule's decoder accepts).
pub const DEVICE_BATCH: f64 = 25.0;

fn with_rate(usage: &Usage, per_hour: f64) -> Usage {
    let mut u = usage.clone();
    u.device.insert("telemetry_per_hour".into(), per_hour);
    u
}

/// The unit costs of `base` (estimated from `usage`); `None` without telemetry.
pub fn unit_costs(
    res: &Resources,
    usage: &Usage,
    prices: &PriceTable,
    opts: Options,
    base: &Estimate,
) -> Result<Option<UnitCosts>, CostError> {
    let rate = usage.device("telemetry_per_hour");
    if rate <= 0.0 || opts.devices == 0 {
        return Ok(None);
    }
    let messages = opts.devices as f64 * rate * MONTH_HOURS;
    let double = estimate_once(res, &with_rate(usage, 2.0 * rate), prices, opts)?;
    let per_message = (double.total_monthly_usd - base.total_monthly_usd) / messages;
    let moving = |id: &str| {
        let cost = |e: &Estimate| e.resource(id).map_or(0.0, |r| r.monthly_usd);
        (cost(&double) - cost(base)).abs() > 1e-9
    };
    // Time-billed components (stream-hours, shard-hours) of the resources whose cost moves with telemetry.
    let fixed: f64 = base
        .resources
        .iter()
        .filter(|r| moving(&r.logical_id))
        .flat_map(|r| r.components.iter())
        .filter(|c| c.unit.contains("hour"))
        .map(|c| c.monthly_usd)
        .sum::<f64>()
        + 0.0; // an empty sum is -0.0

    let readings = usage.device("readings_per_message").max(1.0);
    // The same readings, 25 to a message: fewer, larger messages.
    let mut batched = usage.clone();
    let reading_bytes = usage.device("telemetry_bytes") / readings;
    batched.device.insert("readings_per_message".into(), DEVICE_BATCH);
    batched.device.insert("telemetry_bytes".into(), reading_bytes * DEVICE_BATCH);
    let batched_rate = rate * readings / DEVICE_BATCH;
    let batched = with_rate(&batched, batched_rate);
    let b1 = estimate_once(res, &batched, prices, opts)?;
    let b2 = estimate_once(res, &with_rate(&batched, 2.0 * batched_rate), prices, opts)?;
    let batched_readings = opts.devices as f64 * batched_rate * MONTH_HOURS * DEVICE_BATCH;
    let per_reading_batched = (b2.total_monthly_usd - b1.total_monthly_usd) / batched_readings;
    Ok(Some(UnitCosts {
        device_messages_monthly: messages,
        readings_per_message: readings,
        per_million_device_messages_usd: per_message * 1e6,
        per_million_readings_usd: per_message * 1e6 / readings,
        telemetry_fixed_monthly_usd: fixed,
        per_million_readings_at_25_per_message_usd: per_reading_batched * 1e6,
    }))
}

/// The smallest fleet (devices, between 1 and 10^9) at which `cheaper_at_scale` costs less a month than `base`
/// under the same usage profile: the first of 10 log-spaced device counts a decade (1, 1.26, 1.58, ... × 10^k) at
/// which it is cheaper, then bisection on the device count between that count and the one before. The difference
/// need not be monotone — a packed read scans every node's items of its bucket, so its reads grow with the square of
/// the fleet and `direct` can be cheaper again at very large fleets —, so a plain bisection over 1..10^9 would miss
/// a crossing; a crossing and its return inside one grid step (26 %) would still be missed. `None` when it is not
/// cheaper at any count up to 10^9, `Some(1)` when it is cheaper from the first device.
pub fn crossover(
    base: &Resources,
    cheaper_at_scale: &Resources,
    usage: &Usage,
    prices: &PriceTable,
    free_tier: crate::cost::FreeTierMode,
) -> Result<Option<u64>, CostError> {
    let diff = |devices: u64| -> Result<f64, CostError> {
        let opts = Options { devices, free_tier };
        Ok(estimate_once(cheaper_at_scale, usage, prices, opts)?.total_monthly_usd
            - estimate_once(base, usage, prices, opts)?.total_monthly_usd)
    };
    if diff(1)? < 0.0 {
        return Ok(Some(1));
    }
    let mut lo = 1u64;
    let mut found = None;
    for step in 1..=90 {
        let at = 10f64.powf(f64::from(step) / 10.0).round() as u64;
        if at <= lo {
            continue;
        }
        if diff(at)? < 0.0 {
            found = Some(at);
            break;
        }
        lo = at;
    }
    let Some(mut hi) = found else { return Ok(None) };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if diff(mid)? < 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Some(hi))
}
