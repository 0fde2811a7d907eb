//! The text table (the default `--format table`): aligned columns, resources with their components indented,
//! then services, totals and notes.

use super::grid::{Doc, Style};

/// Render a document as plain text.
pub fn render(doc: &Doc) -> String {
    let mut out = format!("{}\n", doc.title);
    for g in &doc.grids {
        out.push('\n');
        if !g.heading.is_empty() {
            out.push_str(&format!("{}\n", g.heading));
        }
        let cells: Vec<Vec<String>> = g
            .rows
            .iter()
            .map(|(style, r)| {
                r.iter()
                    .enumerate()
                    .map(|(i, c)| if i == 0 && *style == Style::Indent { format!("  {}", c.show()) } else { c.show() })
                    .collect()
            })
            .collect();
        let n = g.header.len();
        let width = |i: usize| {
            cells
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([g.header[i].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..n).map(width).collect();
        let left = |i: usize| i == 0 || g.rows.iter().all(|(_, r)| r.get(i).is_none_or(|c| c.is_text()));
        let line = |row: &[String]| {
            let parts: Vec<String> = (0..n)
                .map(|i| {
                    let c = row.get(i).map(String::as_str).unwrap_or("");
                    if left(i) {
                        format!("{c:<w$}", w = widths[i])
                    } else {
                        format!("{c:>w$}", w = widths[i])
                    }
                })
                .collect();
            format!("{}\n", parts.join("  ").trim_end())
        };
        out.push_str(&line(&g.header));
        out.push_str(&format!("{}\n", "-".repeat(widths.iter().sum::<usize>() + 2 * (n - 1))));
        for (i, row) in cells.iter().enumerate() {
            if g.rows[i].0 == Style::Total && (i == 0 || g.rows[i - 1].0 != Style::Total) {
                out.push_str(&format!("{}\n", "-".repeat(widths.iter().sum::<usize>() + 2 * (n - 1))));
            }
            out.push_str(&line(row));
        }
    }
    for (heading, lines) in &doc.notes {
        out.push_str(&format!("\n{heading}:\n"));
        for l in lines {
            out.push_str(&format!("  - {l}\n"));
        }
    }
    out
}
