//! The AWS free tier: which allowances apply (`--free-tier none|always|first-year`) and how a shared allowance is
//! split over the account-level monthly totals of the prices it covers.

use crate::cost::prices::{FreeKind, PriceTable};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Which free-tier allowances to subtract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FreeTierMode {
    /// No free tier (an account that already uses it up elsewhere).
    None,
    /// The always-free allowances only (Lambda 1M requests + 400k GB-s, SQS 1M requests, ...): the default.
    #[default]
    Always,
    /// The always-free allowances plus the 12-month ones (IoT Core, API Gateway, S3): a new account.
    FirstYear,
}

impl FreeTierMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FreeTierMode::None => "none",
            FreeTierMode::Always => "always",
            FreeTierMode::FirstYear => "first-year",
        }
    }

    fn includes(self, kind: FreeKind) -> bool {
        match self {
            FreeTierMode::None => false,
            FreeTierMode::Always => kind == FreeKind::Always,
            FreeTierMode::FirstYear => true,
        }
    }
}

/// Free quantity per price id, given the account's monthly totals per price id. An allowance shared by several
/// prices (Lambda's 400k GB-s over x86_64 and arm64) is used up in the order the table lists them.
pub fn free_quantities(
    table: &PriceTable,
    mode: FreeTierMode,
    totals: &IndexMap<String, f64>,
) -> IndexMap<String, f64> {
    let mut free: IndexMap<String, f64> = IndexMap::new();
    for allowance in table.free_tier.values().filter(|a| mode.includes(a.kind)) {
        let mut left = allowance.quantity;
        for id in &allowance.applies_to {
            let used = totals.get(id).copied().unwrap_or(0.0) - free.get(id).copied().unwrap_or(0.0);
            let take = left.min(used.max(0.0));
            if take > 0.0 {
                *free.entry(id.clone()).or_insert(0.0) += take;
                left -= take;
            }
        }
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(pairs: &[(&str, f64)]) -> IndexMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn modes_pick_allowances() {
        let t = PriceTable::embedded("us-east-1").unwrap();
        let q = totals(&[("lambda.requests", 5e6), ("iot.messaging", 3e6)]);
        assert!(free_quantities(&t, FreeTierMode::None, &q).is_empty());
        let always = free_quantities(&t, FreeTierMode::Always, &q);
        assert_eq!(always.get("lambda.requests"), Some(&1e6));
        assert_eq!(always.get("iot.messaging"), None, "IoT Core's free tier is first-year only");
        let first = free_quantities(&t, FreeTierMode::FirstYear, &q);
        assert_eq!(first.get("iot.messaging"), Some(&500e3));
        assert_eq!(first.get("lambda.requests"), Some(&1e6));
    }

    #[test]
    fn never_more_free_than_used() {
        let t = PriceTable::embedded("us-east-1").unwrap();
        let free = free_quantities(&t, FreeTierMode::Always, &totals(&[("lambda.requests", 1234.0)]));
        assert_eq!(free.get("lambda.requests"), Some(&1234.0));
    }

    #[test]
    fn shared_allowance_is_used_in_order() {
        let t = PriceTable::embedded("us-east-1").unwrap();
        // 300k GB-s on x86_64 and 300k on arm64 share 400k free: x86_64 first, arm64 gets the remaining 100k.
        let q = totals(&[("lambda.duration_x86_64", 300e3), ("lambda.duration_arm64", 300e3)]);
        let free = free_quantities(&t, FreeTierMode::Always, &q);
        assert_eq!(free.get("lambda.duration_x86_64"), Some(&300e3));
        assert_eq!(free.get("lambda.duration_arm64"), Some(&100e3));
    }
}
