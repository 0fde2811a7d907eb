//! `rainmaker-deploy validate`: render, run the built-in checks, then cfn-lint and checkov when they are on PATH.

use crate::cfn_lint::{self, LintMatch};
use crate::checkov::{self, CheckovReport};
use crate::cli::{GlobalArgs, ValidateArgs};
use crate::output;
use crate::template::{self, Finding};
use miette::{Diagnostic, Result};
use serde::Serialize;
use thiserror::Error;

#[derive(Serialize)]
struct StackReport {
    stack: String,
    findings: Vec<Finding>,
    cfn_lint: Option<Vec<LintMatch>>,
    checkov: Option<CheckovReport>,
}

#[derive(Serialize)]
struct Warning {
    path: String,
    message: String,
    help: String,
}

#[derive(Serialize)]
struct Report {
    ok: bool,
    cfn_lint: String,
    checkov: String,
    /// Valid settings that should not go to production (placeholder or `*` origins).
    warnings: Vec<Warning>,
    stacks: Vec<StackReport>,
}

#[derive(Debug, Error, Diagnostic)]
#[error("validation failed: {count} problem{} in the rendered templates", if *count == 1 { "" } else { "s" })]
#[diagnostic(
    code(rainmaker::validate::failed),
    help("the templates shipped with this version should always pass; report this with your rainmaker.yaml")
)]
struct Failed {
    count: usize,
}

pub fn run(g: &GlobalArgs, args: &ValidateArgs) -> Result<()> {
    let cfg = super::common::load_config(g)?;
    let rendered = template::render(&cfg)?;
    let lint_bin = if args.no_cfn_lint { None } else { cfn_lint::find() };
    let checkov_bin = if args.no_checkov { None } else { checkov::find() };
    let dir = std::env::temp_dir().join(format!("rainmaker-validate-{}", std::process::id()));
    let mut stacks = Vec::new();
    let mut paths = Vec::new();
    for s in &rendered.stacks {
        let parsed = template::parse(&s.body)?;
        let findings = template::check(&parsed);
        let path = dir.join(&s.file_name);
        if lint_bin.is_some() || checkov_bin.is_some() {
            std::fs::create_dir_all(&dir).map_err(|e| miette::miette!("creating {}: {e}", dir.display()))?;
            std::fs::write(&path, &s.body).map_err(|e| miette::miette!("writing {}: {e}", path.display()))?;
        }
        let cfn_lint = match &lint_bin {
            None => None,
            Some(bin) => {
                output::progress(g.output, format!("cfn-lint {} ...", s.file_name));
                Some(cfn_lint::lint(bin, &path, &cfg.region).map_err(|e| {
                    miette::miette!(help = "set CFN_LINT to a working cfn-lint, or pass --no-cfn-lint", "{e}")
                })?)
            }
        };
        stacks.push(StackReport { stack: s.stack_name.clone(), findings, cfn_lint, checkov: None });
        paths.push(path);
    }
    if let Some(bin) = &checkov_bin {
        output::progress(g.output, "checkov ...");
        let reports = checkov::check(bin, &paths)
            .map_err(|e| miette::miette!(help = "set CHECKOV to a working checkov, or pass --no-checkov", "{e}"));
        let _ = std::fs::remove_dir_all(&dir);
        for (st, r) in stacks.iter_mut().zip(reports?) {
            st.checkov = Some(r);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let count: usize = stacks
        .iter()
        .map(|s| {
            s.findings.len()
                + s.cfn_lint.as_ref().map_or(0, Vec::len)
                + s.checkov.as_ref().map_or(0, |c| c.failed.len())
        })
        .sum();
    let lint_state = match (&lint_bin, args.no_cfn_lint) {
        (Some(p), _) => format!("ran {}", p.display()),
        (None, true) => "skipped (--no-cfn-lint)".into(),
        (None, false) => {
            "not found on PATH (install it with `pip install cfn-lint` to lint against the official schemas)".into()
        }
    };
    let checkov_state = match (&checkov_bin, args.no_checkov) {
        (Some(p), _) => format!("ran {}", p.display()),
        (None, true) => "skipped (--no-checkov)".into(),
        (None, false) => "not found on PATH (install it with `pip install checkov` for the security checks)".into(),
    };
    let warnings = crate::config::warnings(&cfg)
        .into_iter()
        .map(|p| Warning { path: p.path, message: p.message, help: p.help })
        .collect();
    let report = Report { ok: count == 0, cfn_lint: lint_state, checkov: checkov_state, warnings, stacks };
    output::emit(g.output, &report, || text(&report))?;
    if count > 0 {
        return Err(Failed { count }.into());
    }
    Ok(())
}

fn text(r: &Report) -> String {
    let mut s = String::new();
    for st in &r.stacks {
        let lint = st.cfn_lint.as_ref().map_or(0, Vec::len);
        let ck = st.checkov.as_ref().map_or(0, |c| c.failed.len());
        let mark = if st.findings.is_empty() && lint == 0 && ck == 0 { "ok" } else { "FAILED" };
        s.push_str(&format!(
            "{mark:<6} {} ({} built-in finding(s), {} cfn-lint finding(s), {} checkov finding(s))\n",
            st.stack,
            st.findings.len(),
            lint,
            ck
        ));
        for f in &st.findings {
            s.push_str(&format!("  [{}] {}: {}\n", f.check, f.resource.as_deref().unwrap_or("template"), f.message));
        }
        for m in st.cfn_lint.iter().flatten() {
            s.push_str(&format!("  [{} {}] line {}: {}\n", m.level, m.rule, m.line, m.message));
        }
        for c in st.checkov.iter().flat_map(|c| &c.failed) {
            s.push_str(&format!("  [checkov {}] {}: {}\n", c.check, c.resource, c.name));
        }
    }
    for w in &r.warnings {
        s.push_str(&format!("warning: {}: {} ({})\n", w.path, w.message, w.help));
    }
    s.push_str(&format!("cfn-lint: {}\n", r.cfn_lint));
    s.push_str(&format!("checkov: {}\n", r.checkov));
    s
}
