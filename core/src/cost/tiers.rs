//! Tiered prices: the one helper every priced quantity goes through (account-level monthly totals).

use serde::{Deserialize, Serialize};

/// One price tier: `usd` per `per` units (see [`crate::cost::prices::Price`]) for the units up to `up_to`
/// (a cumulative monthly total, in base units), or for every unit above the previous tier when `up_to` is absent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to: Option<f64>,
    pub usd: f64,
}

/// Cost of `quantity` base units under `tiers`, each tier priced per `per` units.
///
/// Worked examples, AWS IoT Core messaging ($1.00 per 1M up to 1B, $0.80 per 1M up to 5B, $0.70 per 1M above):
/// - 500M messages: 500 × $1.00 = $500.00
/// - 2.628B messages: 1,000 × $1.00 + 1,628 × $0.80 = $1,000.00 + $1,302.40 = $2,302.40
/// - 6B messages: $1,000.00 + 4,000 × $0.80 + 1,000 × $0.70 = $4,900.00
///
/// A quantity past the last bounded tier uses the last tier's price, so a table whose last tier has an `up_to`
/// still prices everything.
pub fn tiered_cost(quantity: f64, tiers: &[Tier], per: f64) -> f64 {
    if quantity <= 0.0 || per <= 0.0 {
        return 0.0;
    }
    let mut cost = 0.0;
    let mut floor = 0.0;
    for (i, t) in tiers.iter().enumerate() {
        let last = i + 1 == tiers.len();
        let ceiling = if last { f64::INFINITY } else { t.up_to.unwrap_or(f64::INFINITY) };
        if quantity <= floor {
            break;
        }
        let in_tier = quantity.min(ceiling) - floor;
        if in_tier > 0.0 {
            cost += in_tier / per * t.usd;
        }
        floor = ceiling;
    }
    cost
}

/// Cost of the units between `from` and `to` of a monthly total (used to skip the free units, which are the
/// first ones of the month): `tiered_cost(to) - tiered_cost(from)`.
pub fn cost_between(from: f64, to: f64, tiers: &[Tier], per: f64) -> f64 {
    if to <= from {
        return 0.0;
    }
    tiered_cost(to, tiers, per) - tiered_cost(from, tiers, per)
}

/// Human text for a tier list: `$1.00/1M up to 1B, $0.80/1M up to 5B, $0.70/1M above`.
pub fn describe(tiers: &[Tier], per: f64, unit: &str) -> String {
    let per_s = short_number(per);
    let per_s = if per == 1.0 { unit.to_string() } else { format!("{per_s} {unit}") };
    let parts: Vec<String> = tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = format!("${} per {per_s}", price_digits(t.usd));
            match (t.up_to, i + 1 == tiers.len()) {
                (Some(u), false) => format!("{p} up to {}", short_number(u)),
                _ if tiers.len() > 1 => format!("{p} above"),
                _ => p,
            }
        })
        .collect();
    parts.join(", ")
}

/// A price with as many decimals as it needs (at least two): 0.2 -> `0.20`, 0.0000166667 -> `0.0000166667`.
pub fn price_digits(usd: f64) -> String {
    let s = format!("{usd:.10}");
    let s = s.trim_end_matches('0');
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = if frac.len() < 2 { format!("{frac:0<2}") } else { frac.to_string() };
    format!("{int}.{frac}")
}

/// 1000 -> `1k`, 1_000_000 -> `1M`, 2_500_000_000 -> `2.5B`; other numbers as they are.
pub fn short_number(n: f64) -> String {
    for (div, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")] {
        if n >= div && (n / div * 100.0).fract() == 0.0 {
            let v = n / div;
            return if v.fract() == 0.0 { format!("{v:.0}{suffix}") } else { format!("{v}{suffix}") };
        }
    }
    if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iot_messaging() -> Vec<Tier> {
        vec![
            Tier { up_to: Some(1e9), usd: 1.00 },
            Tier { up_to: Some(5e9), usd: 0.80 },
            Tier { up_to: None, usd: 0.70 },
        ]
    }

    #[test]
    fn tiered_cost_table() {
        let t = iot_messaging();
        // (quantity, expected USD), worked by hand from the doc comment's prices.
        let cases = [
            (0.0, 0.0),
            (-5.0, 0.0),
            (1.0, 0.000001),
            (500e6, 500.0),
            (1e9, 1000.0),
            (2.628e9, 2302.40),
            (5e9, 4200.0),
            (6e9, 4900.0),
        ];
        for (q, want) in cases {
            let got = tiered_cost(q, &t, 1e6);
            assert!((got - want).abs() < 1e-6, "{q} messages: got {got}, want {want}");
        }
    }

    #[test]
    fn lambda_x86_duration_tiers() {
        let t = vec![
            Tier { up_to: Some(6e9), usd: 0.0000166667 },
            Tier { up_to: Some(15e9), usd: 0.000015 },
            Tier { up_to: None, usd: 0.0000133334 },
        ];
        // 7B GB-s: 6B at the first price + 1B at the second.
        let want = 6e9 * 0.0000166667 + 1e9 * 0.000015;
        assert!((tiered_cost(7e9, &t, 1.0) - want).abs() < 1e-6);
    }

    #[test]
    fn a_bounded_last_tier_prices_everything_above_it() {
        let t = vec![Tier { up_to: Some(10.0), usd: 1.0 }, Tier { up_to: Some(20.0), usd: 0.5 }];
        assert_eq!(tiered_cost(30.0, &t, 1.0), 10.0 + 20.0 * 0.5);
    }

    #[test]
    fn free_units_are_the_first_of_the_month() {
        let t = iot_messaging();
        // 500k free messages out of 2B: the free units come off the $1.00 tier.
        let got = cost_between(500e3, 2e9, &t, 1e6);
        let want = (1e9 - 500e3) / 1e6 * 1.0 + 1e9 / 1e6 * 0.8;
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        assert_eq!(cost_between(3.0, 2.0, &t, 1e6), 0.0);
    }

    #[test]
    fn describes_tiers() {
        assert_eq!(
            describe(&iot_messaging(), 1e6, "messages"),
            "$1.00 per 1M messages up to 1B, $0.80 per 1M messages up to 5B, $0.70 per 1M messages above"
        );
        assert_eq!(describe(&[Tier { up_to: None, usd: 0.0000166667 }], 1.0, "GB-s"), "$0.0000166667 per GB-s");
        assert_eq!(short_number(333e6), "333M");
        assert_eq!(short_number(2.25e6), "2.25M");
        assert_eq!(short_number(1234.5), "1234.5");
        assert_eq!(price_digits(0.2), "0.20");
        assert_eq!(price_digits(5.0), "5.00");
    }
}
