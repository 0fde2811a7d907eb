//! Markdown: the same document as the table, as GitHub-flavoured markdown tables (numbers right-aligned).

use super::grid::{Doc, Style};

fn esc(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Render a document as markdown.
pub fn render(doc: &Doc) -> String {
    let mut out = format!("### {}\n", esc(&doc.title));
    for g in &doc.grids {
        out.push('\n');
        if !g.heading.is_empty() {
            out.push_str(&format!("#### {}\n\n", g.heading));
        }
        out.push_str(&format!("| {} |\n", g.header.iter().map(|h| esc(h)).collect::<Vec<_>>().join(" | ")));
        let align: Vec<&str> = (0..g.header.len())
            .map(|i| {
                if i == 0 || g.rows.iter().all(|(_, r)| r.get(i).is_none_or(|c| c.is_text())) {
                    "---"
                } else {
                    "---:"
                }
            })
            .collect();
        out.push_str(&format!("|{}|\n", align.join("|")));
        for (style, row) in &g.rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let s = esc(&c.show());
                    match (style, i) {
                        (Style::Group | Style::Total, _) if !s.is_empty() => format!("**{s}**"),
                        (Style::Indent, 0) => format!("&nbsp;&nbsp;{s}"),
                        _ => s,
                    }
                })
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    for (heading, lines) in &doc.notes {
        out.push_str(&format!("\n**{}**\n\n", esc(heading)));
        for l in lines {
            out.push_str(&format!("- {l}\n"));
        }
    }
    out
}
