//! Reading an AWS Price List bulk offer file (`products` + `terms.OnDemand` with `priceDimensions`, `beginRange`,
//! `endRange`, `pricePerUnit.USD`) into the embedded price table: used by `cargo xtask prices`. No network.

use crate::cost::error::CostError;
use crate::cost::prices::PriceTable;
use crate::cost::tiers::Tier;
use serde_json::Value;

/// What a refresh changed.
#[derive(Debug, Default)]
pub struct Refresh {
    /// (price id, old price text, new price text).
    pub updated: Vec<(String, String, String)>,
    /// Price ids of the offer's service not found in the file (usage type or region absent).
    pub missing: Vec<String>,
}

/// Long region names some offer files use instead of `regionCode`.
fn location(region: &str) -> &'static [&'static str] {
    match region {
        "us-east-1" => &["US East (N. Virginia)"],
        "us-west-2" => &["US West (Oregon)"],
        "eu-west-1" => &["EU (Ireland)", "Europe (Ireland)"],
        "eu-central-1" => &["EU (Frankfurt)", "Europe (Frankfurt)"],
        _ => &[],
    }
}

/// `EU-Request` matches `Request`; `Request` matches `Request`; `Request-ARM` does not.
fn usagetype_matches(found: &str, want: &str) -> bool {
    found == want || found.strip_suffix(want).is_some_and(|p| p.ends_with('-') && !p[..p.len() - 1].contains('-'))
}

fn num(v: Option<&Value>) -> Option<f64> {
    let s = v?.as_str()?;
    if s == "Inf" {
        return Some(f64::INFINITY);
    }
    s.parse().ok()
}

/// Update the prices of `table` that come from this offer file (optionally only ids starting with `only`).
pub fn refresh(table: &mut PriceTable, file: &str, text: &str, only: Option<&str>) -> Result<Refresh, CostError> {
    let bad = |m: &str| CostError::PriceList { file: file.to_string(), message: m.to_string() };
    let doc: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let products = doc.get("products").and_then(Value::as_object).ok_or_else(|| bad("no `products` object"))?;
    let on_demand =
        doc.pointer("/terms/OnDemand").and_then(Value::as_object).ok_or_else(|| bad("no `terms.OnDemand` object"))?;
    let offer = doc.get("offerCode").and_then(Value::as_str).unwrap_or("");
    let version = doc.get("version").and_then(Value::as_str).unwrap_or("?");
    let date = doc.get("publicationDate").and_then(Value::as_str).map(|d| d.chars().take(10).collect::<String>());
    let region = table.region.clone();
    let mut out = Refresh::default();
    for (id, price) in table.prices.iter_mut() {
        let Some(key) = price.price_list.clone() else { continue };
        let service_matches = offer.is_empty() || key.service == offer;
        if !service_matches || only.is_some_and(|o| !id.starts_with(o) && key.service != o) {
            continue;
        }
        let sku = products.iter().find_map(|(sku, p)| {
            let a = p.get("attributes")?;
            let ut = a.get("usagetype")?.as_str()?;
            let in_region = match a.get("regionCode").and_then(Value::as_str) {
                Some(r) => r == region,
                None => a.get("location").and_then(Value::as_str).is_some_and(|l| location(&region).contains(&l)),
            };
            (in_region && usagetype_matches(ut, &key.usagetype)).then(|| sku.clone())
        });
        let dims: Vec<(f64, f64, f64)> = sku
            .and_then(|sku| on_demand.get(&sku))
            .and_then(Value::as_object)
            .and_then(|terms| terms.values().next())
            .and_then(|term| term.get("priceDimensions"))
            .and_then(Value::as_object)
            .map(|d| {
                d.values()
                    .filter_map(|pd| {
                        let begin = num(pd.get("beginRange")).unwrap_or(0.0);
                        let end = num(pd.get("endRange")).unwrap_or(f64::INFINITY);
                        let usd = num(pd.pointer("/pricePerUnit/USD"))?;
                        Some((begin, end, usd))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if dims.is_empty() {
            out.missing.push(id.clone());
            continue;
        }
        let mut dims = dims;
        dims.sort_by(|a, b| a.0.total_cmp(&b.0));
        // A leading free range is the free tier, which the table keeps separately.
        while dims.len() > 1 && dims[0].2 == 0.0 {
            dims.remove(0);
        }
        let tiers: Vec<Tier> = dims
            .iter()
            .map(|(_, end, usd)| Tier { up_to: end.is_finite().then_some(*end), usd: round(usd * price.per) })
            .collect();
        let old = price.describe();
        price.tiers = tiers;
        price.source = format!("AWS Price List bulk file {offer} version {version}");
        if let Some(d) = &date {
            price.as_of = d.clone();
        }
        price.check = false;
        out.updated.push((id.clone(), old, price.describe()));
    }
    table.check()?;
    Ok(out)
}

/// Ten significant digits, so `0.0000002 × 1e6` prints as `0.2`.
fn round(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let mag = 10f64.powi(9 - x.abs().log10().floor() as i32);
    (x * mag).round() / mag
}

/// The table as the JSON file it is embedded from (whole numbers without `.0`).
pub fn to_json(table: &PriceTable) -> Result<String, CostError> {
    let mut v = serde_json::to_value(table).map_err(|e| CostError::PriceTable(e.to_string()))?;
    integral(&mut v);
    serde_json::to_string_pretty(&v).map(|s| s + "\n").map_err(|e| CostError::PriceTable(e.to_string()))
}

fn integral(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < 9e15 {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral),
        Value::Object(m) => m.values_mut().for_each(integral),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("testdata/price-list-lambda.json");

    #[test]
    fn refreshes_lambda_prices_from_a_bulk_file() {
        let mut t = PriceTable::embedded("eu-west-1").unwrap();
        let r = refresh(&mut t, "lambda.json", FIXTURE, None).unwrap();
        let ids: Vec<&str> = r.updated.iter().map(|u| u.0.as_str()).collect();
        assert_eq!(ids, vec!["lambda.requests", "lambda.duration_x86_64"]);
        assert_eq!(r.missing, vec!["lambda.duration_arm64"]);
        let p = t.get("lambda.requests").unwrap();
        assert_eq!(p.tiers, vec![Tier { up_to: None, usd: 0.21 }]);
        assert_eq!((p.as_of.as_str(), p.check), ("2026-10-01", false));
        let d = t.get("lambda.duration_x86_64").unwrap();
        assert_eq!(d.tiers.len(), 3);
        assert_eq!(d.tiers[0], Tier { up_to: Some(6e9), usd: 0.0000166667 });
        assert_eq!(d.tiers[2].up_to, None);
        // Other services are left alone.
        assert_eq!(t.get("sqs.requests").unwrap().tiers[0].usd, 0.40);
    }

    #[test]
    fn usage_types_match_without_the_region_prefix() {
        assert!(usagetype_matches("EU-Request", "Request"));
        assert!(usagetype_matches("Request", "Request"));
        assert!(!usagetype_matches("Request-ARM", "Request"));
        assert!(!usagetype_matches("EU-Lambda-Provisioned-GB-Second", "GB-Second"));
    }

    #[test]
    fn rejects_other_files_and_writes_integral_numbers() {
        let mut t = PriceTable::embedded("us-east-1").unwrap();
        let e = refresh(&mut t, "x.json", "{}", None).unwrap_err().to_string();
        assert_eq!(e, "x.json: not an AWS Price List bulk file: no `products` object");
        let json = to_json(&t).unwrap();
        assert!(json.contains("\"per\": 1000000,") && !json.contains("1000000.0"));
        assert_eq!(PriceTable::parse(&json).unwrap().prices.len(), t.prices.len());
    }
}
