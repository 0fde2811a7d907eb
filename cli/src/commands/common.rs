//! What the commands share: config loading (`--region` over the config's), the tokio runtime, the tenant with its
//! SDK configuration, tracing for `-v`/`-vv`, the progress display, and the terminal prompts.

use super::usage::UsageError;
use crate::aws::calls::CallSummary;
use crate::aws::events::{cancel_pair, CancelSignal};
use crate::aws::failure::{Failed, FailedResource, RunFailure};
use crate::aws::sdk::{self, AwsOptions, Tenant};
use crate::aws::{DeployError, Prompter, Question};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::config;
use crate::progress::{Display, Mode};
use miette::{IntoDiagnostic, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

/// Load the config at `--config` (with `--region` overriding its region).
pub fn load_config(g: &GlobalArgs) -> Result<config::Config> {
    let mut cfg = config::load(&g.config)?;
    if let Some(r) = &g.region {
        if let Some(p) = config::region_problem(r) {
            return Err(UsageError::new("--region", p.message, p.help).into());
        }
        cfg.region = r.clone();
    }
    Ok(cfg)
}

/// `--timeout`: `<n>h`, `<n>m`, `<n>s` in that order, combined (`1h30m`, `90m`, `45s`); at least 1 s, at most 24 h.
pub fn parse_timeout(text: &str) -> std::result::Result<std::time::Duration, String> {
    let bad = || format!("`{text}` is not a duration: use hours, minutes and seconds like 90m, 1h30m or 45s");
    let (mut total, mut number, mut last_unit) = (0u64, String::new(), 0u8);
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let (rank, secs) = match c {
            'h' => (1, 3600),
            'm' => (2, 60),
            's' => (3, 1),
            _ => return Err(bad()),
        };
        if number.is_empty() || rank <= last_unit {
            return Err(bad());
        }
        total = number
            .parse::<u64>()
            .map_err(|_| bad())?
            .checked_mul(secs)
            .and_then(|v| v.checked_add(total))
            .ok_or_else(bad)?;
        number.clear();
        last_unit = rank;
    }
    if !number.is_empty() || last_unit == 0 {
        return Err(bad());
    }
    if !(1..=86_400).contains(&total) {
        return Err(format!("`{text}` is out of range: between 1s and 24h"));
    }
    Ok(std::time::Duration::from_secs(total))
}

/// A tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().into_diagnostic()
}

/// The tenant at `--config`, with its SDK configuration from the standard chain and the global flags. The region
/// is `--region`, else the config's; an explicit AWS region that disagrees is refused ([`super::region`]).
pub async fn tenant(g: &GlobalArgs, artifacts: &Path) -> Result<Tenant> {
    let config = load_config(g)?;
    if g.region.is_none() {
        super::region::choose(&config.region, None, super::region::ambient(g.profile.as_deref()).await.as_ref())?;
    }
    let opts =
        AwsOptions { profile: g.profile.clone(), region: config.region.clone(), endpoint_url: g.endpoint_url.clone() };
    let sdk = sdk::load(&opts).await;
    let config_dir = g.config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    Ok(Tenant { config, sdk, config_dir, artifacts_dir: artifacts.to_path_buf() })
}

/// A deploy-core error for the command line: a refused account also names the credentials' source (the core
/// knows the caller's ARN, the command line knows which profile or variables it was given).
pub fn deploy_error(e: DeployError, g: &GlobalArgs) -> miette::Report {
    match e {
        DeployError::WrongAccount { expected, actual, arn, credentials: None } => {
            miette::Report::from(DeployError::WrongAccount {
                expected,
                actual,
                arn,
                credentials: Some(credentials_source(g)),
            })
        }
        e => miette::Report::from(e),
    }
}

/// A failed `apply` or `destroy`: what it did on stdout (like a result, text or JSON), then the error for stderr
/// (exit 1). A refused input (exit 2: wrong account, another tenant, ...) changed nothing: the error says it all.
pub fn failed_run<D: serde::Serialize>(
    g: &GlobalArgs,
    failed: Failed<D>,
    text: impl FnOnce(&RunFailure<D>) -> String,
) -> miette::Report {
    let Failed { error, report } = failed;
    let code = report.error_code.as_deref();
    let refused = code.is_some_and(|c| c.starts_with("rainmaker::config") || c.starts_with("rainmaker::usage"));
    if !refused {
        if let Err(e) = crate::output::emit(g.output, &report, || text(&report)) {
            return e;
        }
    }
    deploy_error(error, g)
}

/// A failed run's lines for the resource that failed first and why (none seen: no line).
pub fn failing_resource_text(f: Option<&FailedResource>) -> String {
    let Some(f) = f else { return String::new() };
    let what = f.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
    format!("failed first: {} {}{what} in {}: {}\n  {}\n", f.logical_id, f.resource_type, f.stack, f.status, f.reason)
}

/// The last line of a run's text: how many API calls it made, in how long.
pub fn calls_text(api_calls: &CallSummary, elapsed_ms: u64) -> String {
    format!("{} AWS API calls in {:.1} s\n", api_calls.total, elapsed_ms as f64 / 1000.0)
}

/// Where the credentials come from, in words: the profile (`--profile` or `AWS_PROFILE`), the environment's keys,
/// or the rest of the default chain.
pub fn credentials_source(g: &GlobalArgs) -> String {
    if let Some(p) = &g.profile {
        let how =
            if std::env::var("AWS_PROFILE").ok().as_deref() == Some(p.as_str()) { "AWS_PROFILE" } else { "--profile" };
        return format!("profile {p} from {how}");
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        return "AWS_ACCESS_KEY_ID from the environment".into();
    }
    "the default credential chain (default profile, SSO, container or instance role)".into()
}

/// `-v`: every SDK call (operation, attempts, retries) and the raw detail of AWS errors; `-vv`: also the requests
/// and responses on the wire. `RUST_LOG` overrides both. Nothing is traced without them.
pub fn init_tracing(verbose: u8) {
    crate::aws::set_verbose(verbose > 0);
    let filter = match (std::env::var("RUST_LOG"), verbose) {
        (Ok(f), _) if !f.is_empty() => f,
        (_, 0) => return,
        (_, 1) => "warn,aws_smithy_runtime::client::orchestrator=debug,aws_smithy_runtime::client::retries=debug,\
                   aws_config=info,rainmaker_deploy=debug"
            .to_string(),
        _ => "info,aws_smithy_runtime=trace,aws_smithy_http_client=debug,aws_sigv4=debug,aws_config=debug,\
              rainmaker_deploy=trace"
            .to_string(),
    };
    let ansi = std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

/// The progress display for the global flags (plain lines when tracing, so the two do not interleave badly).
pub fn display(g: &GlobalArgs) -> Display {
    Display::new(Mode::detect(g.output == OutputFormat::Json, g.no_progress || g.verbose > 0))
}

/// Refuse to run without `--yes` when nobody can answer a question.
pub fn require_yes_or_terminal(yes: bool, what: &str) -> Result<()> {
    if !yes && !std::io::stdin().is_terminal() {
        return Err(UsageError::new(
            "--yes",
            format!("{what} needs confirmation and stdin is not a terminal"),
            format!("pass --yes to {what} without a prompt"),
        )
        .into());
    }
    Ok(())
}

/// Read y/N from stdin after printing `question` on stderr.
pub fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes" | "Yes")
}

/// Ask on the terminal (stderr + stdin), or answer yes with `--yes`; the plan is shown either way.
pub struct TerminalPrompter<'a> {
    pub yes: bool,
    pub display: &'a Display,
    pub show: bool,
}

impl Prompter for TerminalPrompter<'_> {
    fn confirm(&self, q: &Question<'_>) -> bool {
        let text = match q {
            Question::Execute(plan) => {
                if self.show {
                    self.display.line(plan.to_text().trim_end());
                }
                format!("Execute this change set on {}?", plan.stack_name)
            }
            Question::DeleteFailedStack { stack, status, reason } => {
                self.display.line(&format!("{stack} is in {status} (a failed first create): {}", reason.unwrap_or("")));
                format!("Delete {stack} and create it again?")
            }
        };
        if self.yes {
            return true;
        }
        self.display.finish();
        ask(&text)
    }
}

/// Ctrl-C once: cancel (a change set not yet executed is deleted; an update in progress is rolled back with
/// CancelUpdateStack); twice: exit at once.
pub fn cancel_on_ctrl_c(rt: &tokio::runtime::Runtime) -> CancelSignal {
    let (canceller, signal) = cancel_pair();
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            canceller.cancel();
            eprintln!(
                "\ncancelling: the update in progress is rolled back (Ctrl-C again to exit now, leaving it running)"
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    signal
}

#[cfg(test)]
mod timeout_tests {
    use super::parse_timeout;
    use std::time::Duration;

    #[test]
    fn timeouts_read_hours_minutes_and_seconds() {
        for (text, secs) in [("60m", 3600), ("90m", 5400), ("1h30m", 5400), ("45s", 45), ("2h", 7200), ("1h1m1s", 3661)]
        {
            assert_eq!(parse_timeout(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for bad in ["", "90", "m", "1m1h", "1.5h", "-5m", "5 min", "0s", "25h"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
        assert!(parse_timeout("90").unwrap_err().contains("90m, 1h30m or 45s"));
    }
}
