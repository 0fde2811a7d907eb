//! Pricing engine: the monthly AWS cost of a deployed backend for N devices, priced from CloudFormation
//! templates, a usage profile and an embedded, dated price table. Pure: no AWS SDK, no network.
//!
//! `estimate` = parse templates (`template`) → derive usage along the architecture (`flow`) → each resource's
//! cost components (`resources/*`, found through `registry`) → account-level totals per price with tiers
//! (`tiers`) and the free tier (`free_tier`) → cost shared back to the components → quota warnings (`quotas`).
//! `report/` renders the result as a table, JSON, CSV, markdown or an SVG chart.

pub mod error;
pub mod flow;
pub mod free_tier;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod golden_packed;
#[cfg(test)]
mod golden_pipeline;
#[cfg(test)]
mod golden_reads;
pub mod kms_requests;
pub mod packed;
pub mod price_list;
pub mod prices;
pub mod quotas;
pub mod read_flow;
pub mod registry;
pub mod report;
pub mod resources;
pub mod stream_flow;
pub mod template;
pub mod tiers;
pub mod unit;
pub mod usage;

pub use error::CostError;
pub use free_tier::FreeTierMode;
pub use prices::PriceTable;
pub use template::Resources;
pub use usage::Usage;

use crate::cost::registry::Registry;
use crate::cost::resources::{Line, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::{Key, Values};
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

/// What to estimate for.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub devices: u64,
    pub free_tier: FreeTierMode,
}

/// The monthly cost of a backend.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub devices: u64,
    pub region: String,
    pub currency: String,
    pub prices_as_of: String,
    pub free_tier: FreeTierMode,
    pub usage_file: String,
    pub total_monthly_usd: f64,
    pub per_device_monthly_usd: f64,
    pub services: Vec<ServiceCost>,
    pub resources: Vec<ResourceCost>,
    /// Resources that cost nothing by themselves.
    pub free: Vec<ResourceRef>,
    /// Resources of types the engine does not price (not counted in the total).
    pub unpriced: Vec<ResourceRef>,
    pub warnings: Vec<String>,
    /// Every price used, with its source and date.
    pub prices: Vec<PriceUsed>,
    /// The telemetry path's marginal and fixed cost (`None` without telemetry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_costs: Option<unit::UnitCosts>,
    /// One `GET /nodes/{id}/readings` call: its reads, the readings it decodes and what they cost (`None` without
    /// the API's function).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_readings: Option<read_flow::ReadingsCall>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceCost {
    pub name: String,
    pub monthly_usd: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceCost {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub stack: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub monthly_usd: f64,
    /// The resolved usage keys of the resource.
    pub usage: IndexMap<String, f64>,
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Component {
    pub name: String,
    pub service: String,
    pub price_id: String,
    pub quantity: f64,
    pub unit: String,
    /// The part of `quantity` the free tier covers.
    pub free_quantity: f64,
    /// The list price (all tiers), e.g. `$0.20 per 1M requests`.
    pub price: String,
    /// What this component pays per `per` units after account-level tiers and the free tier.
    pub unit_price_usd: f64,
    pub per: f64,
    pub monthly_usd: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceRef {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub stack: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PriceUsed {
    pub id: String,
    pub service: String,
    pub description: String,
    pub price: String,
    pub source: String,
    pub as_of: String,
    pub check: bool,
}

/// The synthetic device-fleet resource (priced when the templates hold AWS IoT resources).
fn device_fleet() -> Resource {
    Resource {
        logical_id: flow::DEVICE_FLEET.into(),
        type_name: resources::iot_devices::TYPE.into(),
        stack: "(devices)".into(),
        properties: Value::Null,
        metadata: serde_json::json!({"Description": "the devices: AWS IoT Core connectivity, messages and Device Shadow"}),
    }
}

/// Resources only one telemetry pipeline deploys (`telemetry.pipeline`), with their types: a usage profile may set
/// keys for them whichever pipeline the templates have (a blueprint's profile serves both, and `--compare
/// direct,batched` prices one profile under each); keys of one the templates lack are ignored with a warning.
pub const PIPELINE_RESOURCES: &[(&str, &str)] = &[
    ("TelemetryIngestFunction", "AWS::Lambda::Function"),
    ("TelemetryBatchFunction", "AWS::Lambda::Function"),
    ("TelemetryStream", "AWS::Kinesis::Stream"),
];

/// `resource_usage` entries for pipeline resources the templates do not have (see [`PIPELINE_RESOURCES`]).
fn other_pipeline(res: &Resources, usage: &Usage) -> Vec<String> {
    usage
        .resources
        .keys()
        .filter(|id| res.get(id).is_none() && PIPELINE_RESOURCES.iter().any(|(p, _)| p == id))
        .map(|id| {
            format!(
                "resource_usage.{id} of {} is ignored: the templates' telemetry pipeline does not deploy it",
                usage.file
            )
        })
        .collect()
}

/// Check the usage profile's per-type and per-resource keys against the templates and the registry.
pub fn check_usage(res: &Resources, usage: &Usage) -> Result<(), CostError> {
    let reg = Registry;
    let fleet = device_fleet();
    for (id, values) in &usage.resources {
        let r = if id == flow::DEVICE_FLEET { Some(&fleet) } else { res.get(id) };
        if let (None, Some((_, type_name))) = (r, PIPELINE_RESOURCES.iter().find(|(p, _)| p == id)) {
            check_keys(&usage.file, &format!("`resource_usage.{id}` ({type_name})"), reg.keys(type_name), values)?;
            continue;
        }
        let Some(r) = r else {
            let known: Vec<&str> =
                res.list.iter().filter(|r| reg.priced(&r.type_name).is_some()).map(|r| r.logical_id.as_str()).collect();
            return Err(CostError::UnknownResource {
                file: usage.file.clone(),
                id: id.clone(),
                known: known.join(", "),
            });
        };
        check_keys(&usage.file, &format!("`resource_usage.{id}` ({})", r.type_name), reg.keys(&r.type_name), values)?;
    }
    for (t, values) in &usage.type_defaults {
        if reg.priced(t).is_none() {
            return Err(CostError::UnknownType {
                file: usage.file.clone(),
                type_name: t.clone(),
                known: reg.priced_types().join(", "),
            });
        }
        check_keys(&usage.file, &format!("`resource_type_default_usage.{t}`"), reg.keys(t), values)?;
    }
    Ok(())
}

fn check_keys(file: &str, scope: &str, keys: &[Key], values: &Values) -> Result<(), CostError> {
    for k in values.keys() {
        let base = k.strip_suffix("_per_device").filter(|b| b.starts_with("monthly_"));
        if !keys.iter().any(|d| d.name == k || Some(d.name) == base) {
            let mut valid: Vec<String> = keys.iter().map(|d| d.name.to_string()).collect();
            valid.extend(
                keys.iter().filter(|d| d.name.starts_with("monthly_")).map(|d| format!("{}_per_device", d.name)),
            );
            let valid = if valid.is_empty() { "none (this type has no usage keys)".into() } else { valid.join(", ") };
            return Err(CostError::UnknownUsageKey { file: file.into(), scope: scope.into(), key: k.clone(), valid });
        }
    }
    Ok(())
}

/// Estimate the monthly cost of `res` under `usage` with `prices`, with the telemetry path's unit costs.
pub fn estimate(res: &Resources, usage: &Usage, prices: &PriceTable, opts: Options) -> Result<Estimate, CostError> {
    let mut e = estimate_once(res, usage, prices, opts)?;
    e.unit_costs = unit::unit_costs(res, usage, prices, opts, &e)?;
    Ok(e)
}

/// One estimate, without unit costs.
pub(crate) fn estimate_once(
    res: &Resources,
    usage: &Usage,
    prices: &PriceTable,
    opts: Options,
) -> Result<Estimate, CostError> {
    check_usage(res, usage)?;
    let reg = Registry;
    let d = opts.devices as f64;
    let flow = flow::run(res, usage, d, &reg);
    let fleet = device_fleet();
    let all: Vec<&Resource> = flow.has_iot.then_some(&fleet).into_iter().chain(res.list.iter()).collect();

    let (mut free, mut unpriced) = (Vec::new(), Vec::new());
    let mut drafts: Vec<(&Resource, IndexMap<String, f64>, Vec<Line>)> = Vec::new();
    for r in &all {
        let rref = |reason: &str| ResourceRef {
            logical_id: r.logical_id.clone(),
            type_name: r.type_name.clone(),
            stack: r.stack.clone(),
            reason: reason.into(),
        };
        let Some(p) = reg.priced(&r.type_name) else {
            match reg.free(&r.type_name) {
                Some(why) => free.push(rref(why)),
                None => unpriced.push(rref("no price model for this type: not in the total")),
            }
            continue;
        };
        let ru = ResourceUsage {
            id: &r.logical_id,
            type_name: &r.type_name,
            usage,
            derived: flow.derived.get(&r.logical_id),
            keys: p.usage_keys(),
            devices: d,
        };
        let mut resolved: IndexMap<String, f64> =
            p.usage_keys().iter().map(|k| (k.name.to_string(), ru.get(k.name))).collect();
        let lines = p.lines(r, &ru);
        for (k, v) in flow.derived.get(&r.logical_id).into_iter().flatten() {
            resolved.entry(k.clone()).or_insert(*v);
        }
        drafts.push((r, resolved, lines));
    }

    // Account-level totals per price, tiers and free tier, shared back by quantity.
    let mut totals: IndexMap<String, f64> = IndexMap::new();
    for (_, _, lines) in &drafts {
        for l in lines {
            *totals.entry(l.price_id.to_string()).or_insert(0.0) += l.quantity;
        }
    }
    let free_q = free_tier::free_quantities(prices, opts.free_tier, &totals);
    let mut cost: IndexMap<String, f64> = IndexMap::new();
    for (id, total) in &totals {
        let p = prices.get(id).ok_or_else(|| CostError::PriceTable(format!("{}: no price `{id}`", prices.region)))?;
        let f = free_q.get(id).copied().unwrap_or(0.0);
        cost.insert(id.clone(), tiers::cost_between(f, *total, &p.tiers, p.per));
    }

    let described: IndexMap<&str, String> =
        totals.keys().filter_map(|id| Some((id.as_str(), prices.get(id)?.describe()))).collect();
    let mut out_resources = Vec::new();
    let mut services: IndexMap<String, f64> = IndexMap::new();
    let mut used: Vec<String> = Vec::new();
    for (r, resolved, lines) in &drafts {
        let mut comps = Vec::new();
        for l in lines {
            let p =
                prices.get(l.price_id).ok_or_else(|| CostError::PriceTable(format!("no price `{}`", l.price_id)))?;
            let total = totals.get(l.price_id).copied().unwrap_or(0.0);
            let share = if total > 0.0 { l.quantity / total } else { 0.0 };
            let monthly = cost.get(l.price_id).copied().unwrap_or(0.0) * share;
            let unit_price = if l.quantity > 0.0 { monthly / l.quantity * p.per } else { p.tiers[0].usd };
            *services.entry(p.service.clone()).or_insert(0.0) += monthly;
            if !used.iter().any(|u| u == l.price_id) {
                used.push(l.price_id.to_string());
            }
            comps.push(Component {
                name: l.name.clone(),
                service: p.service.clone(),
                price_id: l.price_id.to_string(),
                quantity: l.quantity,
                unit: p.unit.clone(),
                free_quantity: free_q.get(l.price_id).copied().unwrap_or(0.0) * share,
                price: described.get(l.price_id).cloned().unwrap_or_default(),
                unit_price_usd: unit_price,
                per: p.per,
                monthly_usd: monthly,
            });
        }
        out_resources.push(ResourceCost {
            logical_id: r.logical_id.clone(),
            type_name: r.type_name.clone(),
            stack: r.stack.clone(),
            description: r.description().map(str::to_string),
            monthly_usd: comps.iter().map(|c| c.monthly_usd).sum(),
            usage: resolved.iter().filter(|(k, _)| !k.starts_with('_')).map(|(k, v)| (k.clone(), *v)).collect(),
            components: comps,
        });
    }

    // Services in the price table's order, so sweeps and comparisons line up.
    let mut service_list: Vec<ServiceCost> = Vec::new();
    for p in prices.prices.values() {
        if let Some(v) = services.get(&p.service) {
            if !service_list.iter().any(|s| s.name == p.service) {
                service_list.push(ServiceCost { name: p.service.clone(), monthly_usd: *v });
            }
        }
    }
    let total: f64 = service_list.iter().map(|s| s.monthly_usd).sum();

    let resolved: Vec<quotas::Resolved> = drafts
        .iter()
        .map(|(r, v, _)| quotas::Resolved { id: &r.logical_id, type_name: &r.type_name, values: v })
        .collect();
    let mut warnings = quotas::check(&resolved, usage);
    // a call's reads and scan at the account's effective prices (the first tier's when nothing is used yet)
    let avg = |id: &str| match (totals.get(id), cost.get(id), prices.get(id)) {
        (Some(t), Some(c), _) if *t > 0.0 => c / t,
        (_, _, Some(p)) => p.tiers[0].usd / p.per,
        _ => 0.0,
    };
    let api_readings = flow.readings.map(|mut r| {
        let duration = drafts
            .iter()
            .flat_map(|(_, _, lines)| lines.iter())
            .find(|l| l.name.starts_with("Duration of GET /nodes/{id}/readings"))
            .map_or("lambda.duration_arm64", |l| l.price_id);
        r.usd_per_call = r.read_units_per_call * avg("dynamodb.read_units") + r.scan_gb_s_per_call * avg(duration);
        r
    });
    warnings.extend(flow.warnings);
    warnings.extend(other_pipeline(res, usage));
    for u in &unpriced {
        warnings.push(format!("{} ({}) is not priced: the total leaves it out", u.logical_id, u.type_name));
    }

    let prices_used: Vec<PriceUsed> = prices
        .prices
        .iter()
        .filter(|(id, _)| used.contains(id))
        .map(|(id, p)| PriceUsed {
            id: id.clone(),
            service: p.service.clone(),
            description: p.description.clone(),
            price: described.get(id.as_str()).cloned().unwrap_or_default(),
            source: p.source.clone(),
            as_of: p.as_of.clone(),
            check: p.check,
        })
        .collect();
    Ok(Estimate {
        devices: opts.devices,
        region: prices.region.clone(),
        currency: prices.currency.clone(),
        prices_as_of: prices_used.iter().map(|p| p.as_of.clone()).min().unwrap_or_else(|| prices.as_of()),
        free_tier: opts.free_tier,
        usage_file: usage.file.clone(),
        total_monthly_usd: total,
        per_device_monthly_usd: if opts.devices > 0 { total / d } else { 0.0 },
        services: service_list,
        resources: out_resources,
        free,
        unpriced,
        warnings,
        prices: prices_used,
        unit_costs: None,
        api_readings,
    })
}

/// One estimate per device count (the templates are parsed once).
pub fn sweep(
    res: &Resources,
    usage: &Usage,
    prices: &PriceTable,
    counts: &[u64],
    free_tier: FreeTierMode,
) -> Result<Vec<Estimate>, CostError> {
    counts.iter().map(|&devices| estimate(res, usage, prices, Options { devices, free_tier })).collect()
}

impl Estimate {
    /// Monthly cost of a service (0 when absent).
    pub fn service(&self, name: &str) -> f64 {
        self.services.iter().find(|s| s.name == name).map_or(0.0, |s| s.monthly_usd)
    }
    /// A resource's cost.
    pub fn resource(&self, id: &str) -> Option<&ResourceCost> {
        self.resources.iter().find(|r| r.logical_id == id)
    }
}
