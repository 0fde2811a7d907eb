//! CSV: the grids with raw numbers (no currency signs or separators) for spreadsheets; one header row per grid,
//! grids separated by an empty line; notes left out (use JSON for everything).

use super::grid::Doc;

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Render a document as CSV.
pub fn render(doc: &Doc) -> String {
    let mut out = String::new();
    for (i, g) in doc.grids.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&g.header.iter().map(|h| field(h)).collect::<Vec<_>>().join(","));
        out.push('\n');
        for (_, row) in &g.rows {
            out.push_str(&row.iter().map(|c| field(&c.raw())).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
    }
    out
}

/// One estimate as CSV: a row per cost component (raw numbers), the resource on every row.
pub fn one(e: &crate::cost::Estimate) -> String {
    let mut out = String::from(
        "logical_id,type,component,service,price_id,quantity,unit,free_quantity,unit_price_usd,per,monthly_usd\n",
    );
    for r in &e.resources {
        for c in &r.components {
            let row = [
                field(&r.logical_id),
                field(&r.type_name),
                field(&c.name),
                field(&c.service),
                field(&c.price_id),
                c.quantity.to_string(),
                field(&c.unit),
                c.free_quantity.to_string(),
                c.unit_price_usd.to_string(),
                c.per.to_string(),
                c.monthly_usd.to_string(),
            ];
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out.push_str(&format!("TOTAL,,,,,,,,,,{}\n", e.total_monthly_usd));
    out
}
