//! `rainmaker-deploy doctor`: one check per thing a first `apply` needs, each ok/warn/fail with a fix.
//!
//! `local` checks files and tools (no network), `aws` the credentials, the reach of the services and the quotas
//! (thin: it gathers data), `quota` decides what a quota value means for one more tenant (pure, table-tested).

pub mod aws;
pub mod local;
pub mod quota;

use serde::Serialize;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One check: what was looked at, the verdict, what was found and, unless ok, what to do.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    /// Stable id: `credentials`, `cloudformation`, `iot`, `s3`, `quota.<key>`, `cfn-lint`, `checkov`, `lambdas`,
    /// `config`.
    pub name: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &str, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Ok, detail: detail.into(), fix: None }
    }
    pub fn warn(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Warn, detail: detail.into(), fix: Some(fix.into()) }
    }
    pub fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }
}

/// How many checks ended in each state.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
}

/// Count the verdicts.
pub fn summarize(checks: &[Check]) -> Summary {
    let mut s = Summary::default();
    for c in checks {
        match c.status {
            Status::Ok => s.ok += 1,
            Status::Warn => s.warn += 1,
            Status::Fail => s.fail += 1,
        }
    }
    s
}

/// The checks as aligned text lines, each non-ok one followed by its fix.
pub fn to_text(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in checks {
        s.push_str(&format!("{:<4}  {:<width$}  {}\n", c.status.label(), c.name, c.detail));
        if let Some(fix) = &c.fix {
            s.push_str(&format!("{:<4}  {:<width$}  fix: {fix}\n", "", ""));
        }
    }
    let sum = summarize(checks);
    s.push_str(&format!("\n{} ok, {} warn, {} fail\n", sum.ok, sum.warn, sum.fail));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_every_check_and_the_fix_of_each_one_not_ok() {
        let checks = vec![
            Check::ok("config", "rainmaker.yaml: tenant acme"),
            Check::fail("credentials", "no credentials", "run `aws configure`"),
        ];
        let t = to_text(&checks);
        assert!(t.contains("ok    config       rainmaker.yaml"), "{t}");
        assert!(t.contains("FAIL  credentials  no credentials\n                   fix: run `aws configure`"), "{t}");
        assert!(t.ends_with("1 ok, 0 warn, 1 fail\n"), "{t}");
        assert_eq!(summarize(&checks), Summary { ok: 1, warn: 0, fail: 1 });
    }
}
