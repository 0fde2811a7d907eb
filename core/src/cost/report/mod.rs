//! Renderers of an estimate, a sweep (one column per device count) and a comparison: a grid of cells rendered as a
//! text table (`table.rs`), markdown (`markdown.rs`) or CSV (`csv.rs`, raw numbers); JSON is the serialized
//! structs; `chart.rs` draws the sweep as an SVG.

pub mod chart;
pub mod csv;
pub mod grid;
pub mod markdown;
pub mod table;

use crate::cost::Estimate;
use serde::Serialize;

/// Output format of `estimate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
}

/// What to render.
pub enum View<'a> {
    One(&'a Estimate),
    Sweep(&'a [Estimate]),
    Compare {
        base: &'a Estimate,
        other: &'a Estimate,
        base_name: &'a str,
        other_name: &'a str,
    },
    /// Several estimates side by side, one column each (`--compare direct,batched,packed`).
    Columns(&'a [(String, Estimate)]),
}

/// One column of [`View::Columns`] in JSON.
#[derive(Serialize)]
struct Column<'a> {
    name: &'a str,
    estimate: &'a Estimate,
}

/// A comparison in JSON.
#[derive(Serialize)]
struct Comparison<'a> {
    base: &'a Estimate,
    other: &'a Estimate,
    difference: Difference,
}

#[derive(Serialize)]
struct Difference {
    total_monthly_usd: f64,
    per_device_monthly_usd: f64,
    services: Vec<crate::cost::ServiceCost>,
}

/// Render a view in a format.
pub fn render(view: &View, format: Format) -> String {
    if format == Format::Json {
        let v = match view {
            View::One(e) => serde_json::to_value(e),
            View::Sweep(es) => serde_json::to_value(serde_json::json!({ "sweep": es })),
            View::Columns(cols) => serde_json::to_value(serde_json::json!({
                "columns": cols.iter().map(|(name, estimate)| Column { name, estimate }).collect::<Vec<_>>()
            })),
            View::Compare { base, other, .. } => serde_json::to_value(Comparison {
                base,
                other,
                difference: Difference {
                    total_monthly_usd: other.total_monthly_usd - base.total_monthly_usd,
                    per_device_monthly_usd: other.per_device_monthly_usd - base.per_device_monthly_usd,
                    services: grid::service_names(&[base, other])
                        .into_iter()
                        .map(|n| crate::cost::ServiceCost {
                            monthly_usd: other.service(&n) - base.service(&n),
                            name: n,
                        })
                        .collect(),
                },
            }),
        };
        return v.and_then(|v| serde_json::to_string_pretty(&v)).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    }
    if let (Format::Csv, View::One(e)) = (format, view) {
        return csv::one(e);
    }
    let doc = grid::build(view);
    match format {
        Format::Table => table::render(&doc) + &unit_line(view),
        Format::Markdown => markdown::render(&doc),
        _ => csv::render(&doc),
    }
}

/// The telemetry path's unit costs under a single estimate's table (each side's under a comparison), and what one
/// `GET /nodes/{id}/readings` call reads.
fn unit_line(view: &View) -> String {
    let line = |e: &Estimate, who: &str| {
        let reads = match &e.api_readings {
            Some(r) if r.calls_monthly > 0.0 => format!(
                "GET /nodes/{{id}}/readings{who}: {} calls a month over {} minutes, each {} read units and {} readings \
                 decoded ({} ms): {} a call\n",
                fmt_int(r.calls_monthly),
                fmt_qty(r.range_minutes),
                // whole or half units (eventual reads)
                match r.read_units_per_call {
                    u if u.fract() == 0.0 => fmt_int(u),
                    u => format!("{}.5", fmt_int(u.trunc())),
                },
                fmt_int(r.scanned_readings_per_call),
                fmt_int(r.scan_ms_per_call),
                fmt_price(r.usd_per_call),
            ),
            _ => String::new(),
        };
        let Some(u) = &e.unit_costs else { return reads };
        format!(
            "Telemetry path{who} (marginal): {} per million device messages, {} per million readings ({} a message); \
             {} per million readings at 25 a message; fixed {} a month\n{reads}",
            fmt_price(u.per_million_device_messages_usd),
            fmt_price(u.per_million_readings_usd),
            fmt_qty(u.readings_per_message),
            fmt_price(u.per_million_readings_at_25_per_message_usd),
            fmt_usd(u.telemetry_fixed_monthly_usd),
        )
    };
    match view {
        View::One(e) => line(e, ""),
        View::Compare { base, other, base_name, other_name } => {
            line(base, &format!(" of {base_name}")) + &line(other, &format!(" of {other_name}"))
        }
        View::Columns(cols) => cols.iter().map(|(name, e)| line(e, &format!(" of {name}"))).collect(),
        View::Sweep(_) => String::new(),
    }
}

/// `3600000` -> `3,600,000` (rounded to a whole number).
pub fn fmt_int(n: f64) -> String {
    let s = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < -0.5 {
        format!("-{out}")
    } else {
        out
    }
}

/// A quantity: whole numbers with separators, small ones with up to 3 decimals.
pub fn fmt_qty(n: f64) -> String {
    if n != 0.0 && n.abs() < 100.0 && n.fract() != 0.0 {
        let s = format!("{n:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        fmt_int(n)
    }
}

/// `$1,234.56` (negative: `-$1,234.56`).
pub fn fmt_usd(n: f64) -> String {
    let cents = (n.abs() * 100.0).round();
    let sign = if n < 0.0 && cents > 0.0 { "-" } else { "" };
    format!("{sign}${}.{:02}", fmt_int((cents / 100.0).trunc()), (cents % 100.0) as u64)
}

/// A unit price with four significant digits, at least two decimals: `$0.08`, `$0.1999`, `$0.00001333`.
pub fn fmt_price(n: f64) -> String {
    if n >= 1.0 || n == 0.0 {
        return fmt_usd(n);
    }
    let digits = (-(n.log10().floor()) as usize + 3).clamp(2, 12);
    let s = format!("{n:.digits$}");
    let trimmed = s.trim_end_matches('0');
    let decimals = trimmed.split_once('.').map_or(0, |(_, f)| f.len());
    if decimals < 2 {
        format!("${n:.2}")
    } else {
        format!("${trimmed}")
    }
}

/// A per-device cost with four significant decimals: `$0.0123`, `$0.000048`.
pub fn fmt_usd_small(n: f64) -> String {
    if n.abs() >= 1.0 || n == 0.0 {
        return fmt_usd(n);
    }
    let digits = (-(n.abs().log10().floor()) as usize + 3).clamp(4, 10);
    let sign = if n < 0.0 { "-" } else { "" };
    format!("{sign}${:.*}", digits, n.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(fmt_int(3_600_000.0), "3,600,000");
        assert_eq!(fmt_int(999.4), "999");
        assert_eq!(fmt_int(-1234.0), "-1,234");
        assert_eq!(fmt_usd(2102.4), "$2,102.40");
        assert_eq!(fmt_usd(-0.004), "$0.00");
        assert_eq!(fmt_usd(-12.345), "-$12.35");
        assert_eq!(fmt_usd(0.995), "$1.00");
        assert_eq!(fmt_usd_small(0.012345), "$0.01235");
        assert_eq!(fmt_usd_small(0.00004812), "$0.00004812");
        assert_eq!(fmt_usd_small(0.5), "$0.5000");
        assert_eq!(fmt_qty(2.56), "2.56");
        assert_eq!(fmt_price(0.08), "$0.08");
        assert_eq!(fmt_price(0.2), "$0.20");
        assert_eq!(fmt_price(0.1999), "$0.1999");
        assert_eq!(fmt_price(0.0000133334), "$0.00001333");
        assert_eq!(fmt_price(3.5), "$3.50");
        assert_eq!(fmt_qty(1234.6), "1,235");
    }
}
