//! The embedded, dated price tables (one JSON file per region under `cost/prices/`), their free-tier allowances,
//! and lookups. Refreshed by `cargo xtask prices` from an AWS Price List bulk file (see `price_list.rs`).

use crate::cost::error::CostError;
use crate::cost::tiers::{self, Tier};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Region name and the embedded JSON text of its price table.
pub const EMBEDDED: &[(&str, &str)] =
    &[("eu-west-1", include_str!("prices/eu-west-1.json")), ("us-east-1", include_str!("prices/us-east-1.json"))];

/// One region's prices.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub version: u32,
    pub region: String,
    pub currency: String,
    /// Price id (`service.component`) -> price.
    pub prices: IndexMap<String, Price>,
    /// Allowance id -> free-tier allowance.
    pub free_tier: IndexMap<String, FreeAllowance>,
}

/// One priced quantity: `tiers[].usd` per `per` base units of `unit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub service: String,
    pub description: String,
    pub unit: String,
    pub per: f64,
    pub tiers: Vec<Tier>,
    /// Where the number comes from.
    pub source: String,
    /// The date the source was read (or the Price List publication date after `cargo xtask prices`).
    pub as_of: String,
    /// True when the number comes only from a secondary source and should be confirmed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub check: bool,
    /// How `cargo xtask prices` finds this price in an AWS Price List bulk file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_list: Option<PriceListKey>,
}

/// The product of an AWS Price List bulk file a price comes from: the offer's service code and the usage type
/// without its region prefix (`EU-Request` matches `Request`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceListKey {
    pub service: String,
    pub usagetype: String,
}

/// Whether a free-tier allowance lasts forever or only the first 12 months of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FreeKind {
    Always,
    FirstYear,
}

/// A monthly free quantity shared by the prices it applies to (used up in the listed order).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreeAllowance {
    pub kind: FreeKind,
    pub quantity: f64,
    pub applies_to: Vec<String>,
    pub note: String,
    pub source: String,
    pub as_of: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub check: bool,
}

impl PriceTable {
    /// The embedded table of `region`.
    pub fn embedded(region: &str) -> Result<PriceTable, CostError> {
        let text = EMBEDDED
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, t)| *t)
            .ok_or_else(|| CostError::UnknownRegion { region: region.to_string(), available: regions().join(", ") })?;
        Self::parse(text)
    }

    /// Parse and check a price table (JSON).
    pub fn parse(text: &str) -> Result<PriceTable, CostError> {
        let t: PriceTable = serde_json::from_str(text).map_err(|e| CostError::PriceTable(e.to_string()))?;
        t.check()?;
        Ok(t)
    }

    /// Invariants: tiers ascending and non-empty, `per` positive, free allowances name existing prices.
    pub fn check(&self) -> Result<(), CostError> {
        for (id, p) in &self.prices {
            if p.tiers.is_empty() || p.per <= 0.0 {
                return Err(CostError::PriceTable(format!("{}: `{id}` needs tiers and a positive `per`", self.region)));
            }
            let bounds: Vec<f64> = p.tiers.iter().filter_map(|t| t.up_to).collect();
            if bounds.windows(2).any(|w| w[0] >= w[1]) || p.tiers.iter().any(|t| t.usd < 0.0) {
                return Err(CostError::PriceTable(format!(
                    "{}: `{id}` tiers must ascend with prices >= 0",
                    self.region
                )));
            }
        }
        for (id, f) in &self.free_tier {
            if let Some(bad) = f.applies_to.iter().find(|p| !self.prices.contains_key(*p)) {
                return Err(CostError::PriceTable(format!(
                    "{}: free tier `{id}` names unknown price `{bad}`",
                    self.region
                )));
            }
        }
        Ok(())
    }

    /// The price `id`; the engine only asks for ids the embedded tables define (checked by a test).
    pub fn get(&self, id: &str) -> Option<&Price> {
        self.prices.get(id)
    }

    /// The oldest `as_of` of the table (what "prices as of" means for an estimate).
    pub fn as_of(&self) -> String {
        self.prices.values().map(|p| p.as_of.clone()).min().unwrap_or_default()
    }
}

impl Price {
    /// `$1.00 per 1M messages up to 1B, ...`
    pub fn describe(&self) -> String {
        tiers::describe(&self.tiers, self.per, &self.unit)
    }
}

/// Regions with an embedded price table.
pub fn regions() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(r, _)| *r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_table_parses_and_has_the_same_price_ids() {
        let us = PriceTable::embedded("us-east-1").unwrap();
        for r in regions() {
            let t = PriceTable::embedded(r).unwrap();
            assert_eq!(t.region, r);
            let ids: Vec<_> = t.prices.keys().collect();
            assert_eq!(ids, us.prices.keys().collect::<Vec<_>>(), "{r}");
            for (id, p) in &t.prices {
                assert!(!p.source.is_empty() && p.as_of.len() == 10, "{r} {id} needs a source and a date");
            }
        }
    }

    #[test]
    fn us_east_1_matches_the_sources_page() {
        let t = PriceTable::embedded("us-east-1").unwrap();
        let first = |id: &str| t.get(id).unwrap().tiers[0].usd;
        assert_eq!(first("iot.connectivity"), 0.08);
        assert_eq!(first("iot.messaging"), 1.00);
        assert_eq!(first("lambda.requests"), 0.20);
        assert_eq!(first("lambda.duration_x86_64"), 0.0000166667);
        assert_eq!(first("lambda.duration_arm64"), 0.0000133334);
        assert_eq!(first("dynamodb.write_units"), 0.625);
        assert_eq!(first("sqs.requests"), 0.40);
        assert_eq!(first("apigateway.rest_requests"), 3.50);
    }

    #[test]
    fn unknown_region_lists_the_known_ones() {
        let e = PriceTable::embedded("mars-1").unwrap_err().to_string();
        assert_eq!(e, "no price table for region `mars-1`");
        let CostError::UnknownRegion { available, .. } = PriceTable::embedded("mars-1").unwrap_err() else { panic!() };
        assert_eq!(available, "eu-west-1, us-east-1");
    }

    #[test]
    fn bad_tables_are_rejected() {
        let mut t = PriceTable::embedded("us-east-1").unwrap();
        t.free_tier.get_mut("logs").unwrap().applies_to.push("nope".into());
        assert!(t.check().is_err());
        let mut t = PriceTable::embedded("us-east-1").unwrap();
        t.prices.get_mut("iot.messaging").unwrap().tiers[1].up_to = Some(1.0);
        assert!(t.check().is_err());
    }
}
