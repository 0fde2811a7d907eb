//! The document every text renderer draws: a title, notes, and grids of typed cells (so CSV keeps raw numbers
//! while the table and markdown format them).

use super::{fmt_int, fmt_price, fmt_qty, fmt_usd, fmt_usd_small, View};
use crate::cost::Estimate;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Qty(f64),
    Usd(f64),
    UsdSmall(f64),
    Percent(Option<f64>),
    Empty,
}

impl Cell {
    /// The cell as the table and markdown show it.
    pub fn show(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Qty(n) => fmt_qty(*n),
            Cell::Usd(n) => fmt_usd(*n),
            Cell::UsdSmall(n) => fmt_usd_small(*n),
            Cell::Percent(Some(p)) => format!("{p:+.1}%"),
            Cell::Percent(None) => "–".into(),
            Cell::Empty => String::new(),
        }
    }
    /// The cell as CSV has it (raw numbers).
    pub fn raw(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Qty(n) | Cell::Usd(n) | Cell::UsdSmall(n) => format!("{n}"),
            Cell::Percent(Some(p)) => format!("{p}"),
            Cell::Percent(None) | Cell::Empty => String::new(),
        }
    }
    pub fn is_text(&self) -> bool {
        matches!(self, Cell::Text(_) | Cell::Empty)
    }
}

/// How a row stands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    /// A heading row (a resource).
    Group,
    /// Indented (a component).
    Indent,
    /// A total.
    Total,
}

#[derive(Debug, Clone)]
pub struct Grid {
    pub heading: String,
    pub header: Vec<String>,
    pub rows: Vec<(Style, Vec<Cell>)>,
}

/// A title, grids and notes.
#[derive(Debug, Clone)]
pub struct Doc {
    pub title: String,
    pub grids: Vec<Grid>,
    /// (heading, lines) sections after the grids.
    pub notes: Vec<(String, Vec<String>)>,
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// Service names across estimates, in first-seen order.
pub fn service_names(es: &[&Estimate]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for e in es {
        for s in &e.services {
            if !names.contains(&s.name) {
                names.push(s.name.clone());
            }
        }
    }
    names
}

fn context(e: &Estimate) -> String {
    format!(
        "{}, prices as of {}, free tier: {}, usage: {}",
        e.region,
        e.prices_as_of,
        e.free_tier.as_str(),
        e.usage_file
    )
}

/// Build the document of a view.
pub fn build(view: &View) -> Doc {
    match view {
        View::One(e) => one(e),
        View::Sweep(es) => sweep(es),
        View::Compare { base, other, base_name, other_name } => compare(base, other, base_name, other_name),
        View::Columns(cols) => columns(cols),
    }
}

fn one(e: &Estimate) -> Doc {
    let mut rows = Vec::new();
    for r in &e.resources {
        rows.push((
            Style::Group,
            vec![
                t(format!("{} ({})", r.logical_id, r.type_name)),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                Cell::Usd(r.monthly_usd),
            ],
        ));
        for c in &r.components {
            let price = if c.per == 1.0 {
                fmt_price(c.unit_price_usd)
            } else {
                format!("{}/{}", fmt_price(c.unit_price_usd), crate::cost::tiers::short_number(c.per))
            };
            rows.push((
                Style::Indent,
                vec![t(c.name.clone()), Cell::Qty(c.quantity), t(c.unit.clone()), t(price), Cell::Usd(c.monthly_usd)],
            ));
        }
    }
    let resources = Grid {
        heading: "By resource".into(),
        header: ["resource / component", "quantity", "unit", "avg price", "monthly"].map(String::from).to_vec(),
        rows,
    };
    let mut rows: Vec<(Style, Vec<Cell>)> = e
        .services
        .iter()
        .map(|s| {
            let share =
                if e.total_monthly_usd > 0.0 { Some(s.monthly_usd / e.total_monthly_usd * 100.0) } else { None };
            (
                Style::Plain,
                vec![
                    t(s.name.clone()),
                    Cell::Usd(s.monthly_usd),
                    Cell::UsdSmall(per_device(e, s.monthly_usd)),
                    share.map_or(Cell::Empty, |p| t(format!("{p:.1}%"))),
                ],
            )
        })
        .collect();
    rows.push((
        Style::Total,
        vec![t("Total"), Cell::Usd(e.total_monthly_usd), Cell::UsdSmall(e.per_device_monthly_usd), t("100.0%")],
    ));
    let services = Grid {
        heading: "By service".into(),
        header: ["service", "monthly", "per device", "share"].map(String::from).to_vec(),
        rows,
    };
    Doc {
        title: format!("Monthly AWS cost for {} devices ({})", fmt_int(e.devices as f64), context(e)),
        grids: vec![resources, services],
        notes: notes(e),
    }
}

fn per_device(e: &Estimate, usd: f64) -> f64 {
    if e.devices > 0 {
        usd / e.devices as f64
    } else {
        0.0
    }
}

fn notes(e: &Estimate) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    if !e.warnings.is_empty() {
        out.push(("Warnings".to_string(), e.warnings.clone()));
    }
    if !e.unpriced.is_empty() {
        out.push((
            "Unpriced (not in the total)".to_string(),
            e.unpriced.iter().map(|u| format!("{} ({})", u.logical_id, u.type_name)).collect(),
        ));
    }
    if !e.free.is_empty() {
        let mut by_type: Vec<(String, usize)> = Vec::new();
        for f in &e.free {
            match by_type.iter_mut().find(|(t, _)| *t == f.type_name) {
                Some((_, n)) => *n += 1,
                None => by_type.push((f.type_name.clone(), 1)),
            }
        }
        let line = by_type.iter().map(|(t, n)| format!("{t} ×{n}")).collect::<Vec<_>>().join(", ");
        out.push((format!("Free ({} resources)", e.free.len()), vec![line]));
    }
    let prices = e
        .prices
        .iter()
        .map(|p| format!("{}: {} — {} ({}{})", p.id, p.price, p.source, p.as_of, if p.check { ", check" } else { "" }))
        .collect();
    out.push((format!("Prices ({})", e.region), prices));
    out
}

/// One row per service (its cost in each estimate), then the totals and the cost per device: the body of the
/// side-by-side tables (`--sweep`, `--compare`).
fn service_rows(es: &[&Estimate]) -> Vec<(Style, Vec<Cell>)> {
    let mut rows = Vec::new();
    for name in service_names(es) {
        let mut cells = vec![t(name.clone())];
        cells.extend(es.iter().map(|e| Cell::Usd(e.service(&name))));
        rows.push((Style::Plain, cells));
    }
    let mut total = vec![t("Total")];
    total.extend(es.iter().map(|e| Cell::Usd(e.total_monthly_usd)));
    rows.push((Style::Total, total));
    let mut per = vec![t("Per device")];
    per.extend(es.iter().map(|e| Cell::UsdSmall(e.per_device_monthly_usd)));
    rows.push((Style::Total, per));
    rows
}

fn sweep(es: &[Estimate]) -> Doc {
    let refs: Vec<&Estimate> = es.iter().collect();
    let mut header = vec!["service".to_string()];
    header.extend(es.iter().map(|e| fmt_int(e.devices as f64)));
    let rows = service_rows(&refs);
    let title = match es.first() {
        Some(e) => format!("Monthly AWS cost by device count ({})", context(e)),
        None => "Monthly AWS cost by device count".into(),
    };
    let mut warnings: Vec<String> = Vec::new();
    for e in es {
        for w in &e.warnings {
            let w = format!("{} devices: {w}", fmt_int(e.devices as f64));
            warnings.push(w);
        }
    }
    let mut notes = Vec::new();
    if !warnings.is_empty() {
        notes.push(("Warnings".to_string(), warnings));
    }
    if let Some(e) = es.first() {
        notes.extend(self::notes(e).into_iter().filter(|(h, _)| !h.starts_with("Warnings")));
    }
    Doc { title, grids: vec![Grid { heading: String::new(), header, rows }], notes }
}

fn compare(base: &Estimate, other: &Estimate, base_name: &str, other_name: &str) -> Doc {
    let change = |a: f64, b: f64| Cell::Percent(if a.abs() > 1e-9 { Some((b - a) / a * 100.0) } else { None });
    let mut rows = Vec::new();
    for name in service_names(&[base, other]) {
        let (a, b) = (base.service(&name), other.service(&name));
        rows.push((Style::Plain, vec![t(name), Cell::Usd(a), Cell::Usd(b), Cell::Usd(b - a), change(a, b)]));
    }
    let (a, b) = (base.total_monthly_usd, other.total_monthly_usd);
    rows.push((Style::Total, vec![t("Total"), Cell::Usd(a), Cell::Usd(b), Cell::Usd(b - a), change(a, b)]));
    let (a, b) = (base.per_device_monthly_usd, other.per_device_monthly_usd);
    rows.push((
        Style::Total,
        vec![t("Per device"), Cell::UsdSmall(a), Cell::UsdSmall(b), Cell::UsdSmall(b - a), change(a, b)],
    ));
    let header = vec![
        "service".to_string(),
        base_name.to_string(),
        other_name.to_string(),
        "difference".into(),
        "change".into(),
    ];
    let mut warnings: Vec<String> = base.warnings.iter().map(|w| format!("{base_name}: {w}")).collect();
    warnings.extend(other.warnings.iter().map(|w| format!("{other_name}: {w}")));
    let mut notes = Vec::new();
    if !warnings.is_empty() {
        notes.push(("Warnings".to_string(), warnings));
    }
    Doc {
        title: format!(
            "Monthly AWS cost for {} devices: {base_name} vs {other_name} ({})",
            fmt_int(base.devices as f64),
            context(base)
        ),
        grids: vec![Grid { heading: String::new(), header, rows }],
        notes,
    }
}

/// One column per estimate (the same device count and usage), services, total and per device; each side's
/// warnings.
fn columns(cols: &[(String, Estimate)]) -> Doc {
    let es: Vec<&Estimate> = cols.iter().map(|(_, e)| e).collect();
    let mut header = vec!["service".to_string()];
    header.extend(cols.iter().map(|(n, _)| n.clone()));
    let rows = service_rows(&es);
    let warnings: Vec<String> =
        cols.iter().flat_map(|(n, e)| e.warnings.iter().map(move |w| format!("{n}: {w}"))).collect();
    let mut notes = Vec::new();
    if !warnings.is_empty() {
        notes.push(("Warnings".to_string(), warnings));
    }
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let title = match es.first() {
        Some(e) => format!(
            "Monthly AWS cost for {} devices: {} ({})",
            fmt_int(e.devices as f64),
            names.join(" vs "),
            context(e)
        ),
        None => "Monthly AWS cost".into(),
    };
    Doc { title, grids: vec![Grid { heading: String::new(), header, rows }], notes }
}
