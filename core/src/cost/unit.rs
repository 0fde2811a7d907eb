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
}

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
    Ok(Some(UnitCosts {
        device_messages_monthly: messages,
        readings_per_message: readings,
        per_million_device_messages_usd: per_message * 1e6,
        per_million_readings_usd: per_message * 1e6 / readings,
        telemetry_fixed_monthly_usd: fixed,
    }))
}
