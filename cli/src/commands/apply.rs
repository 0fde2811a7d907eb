//! `rainmaker-deploy apply`: plan, confirm (or `--yes`), execute, wait, claim certificate, verify, outputs.
//! Also the helpers the other AWS commands share: the tenant, the runtime, the prompt.

use super::usage::UsageError;
use crate::aws::deploy::{self, ApplyOptions, ApplyReport};
use crate::aws::events::{cancel_pair, CancelSignal, WaitOptions};
use crate::aws::sdk::{self, AwsOptions, Tenant};
use crate::aws::{Prompter, Question};
use crate::cli::{ApplyArgs, GlobalArgs, OutputFormat};
use crate::progress::{Display, Mode};
use miette::{IntoDiagnostic, Result};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

/// A tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().into_diagnostic()
}

/// The tenant at `--config`, with its SDK configuration from the standard chain and the global flags.
pub async fn tenant(g: &GlobalArgs, artifacts: &Path) -> Result<Tenant> {
    let config = super::render::load_config(g)?;
    let opts =
        AwsOptions { profile: g.profile.clone(), region: config.region.clone(), endpoint_url: g.endpoint_url.clone() };
    let sdk = sdk::load(&opts).await;
    let config_dir = g.config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    Ok(Tenant { config, sdk, config_dir, artifacts_dir: artifacts.to_path_buf() })
}

/// The progress display for the global flags.
pub fn display(g: &GlobalArgs) -> Display {
    Display::new(Mode::detect(g.output == OutputFormat::Json, g.no_progress))
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

/// Ask on the terminal (stderr + stdin), or answer yes with `--yes`; the plan is shown either way.
pub struct TerminalPrompter<'a> {
    pub yes: bool,
    pub display: &'a Display,
    pub show: bool,
}

/// Read y/N from stdin after printing `question` on stderr.
pub fn ask(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes" | "Yes")
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

pub fn run(g: &GlobalArgs, args: &ApplyArgs) -> Result<()> {
    require_yes_or_terminal(args.yes, "apply")?;
    let rt = runtime()?;
    let cancel = cancel_on_ctrl_c(&rt);
    let display = display(g);
    let report = rt.block_on(async {
        let t = tenant(g, &args.artifacts.locate()?.dir).await?;
        let opts = ApplyOptions {
            allow_replace: args.allow_replace,
            always_verify: args.verify,
            wait: WaitOptions { cancel: Some(cancel), ..WaitOptions::default() },
        };
        let prompter = TerminalPrompter { yes: args.yes, display: &display, show: g.output == OutputFormat::Text };
        deploy::apply(&t, &opts, &prompter, &display).await.map_err(miette::Report::from)
    });
    display.finish();
    let report = report?;
    crate::output::emit(g.output, &report, || text(&report))?;
    let failed = report.failed_checks();
    if !failed.is_empty() {
        let names: Vec<String> = failed.iter().map(|c| format!("{} ({})", c.name, c.detail)).collect();
        return Err(miette::miette!(
            code = "rainmaker::deploy::verification",
            help = "the stack says it is complete but the service disagrees; run `rainmaker-deploy apply --verify` again, \
                    and `rainmaker-deploy status` for the stack's events",
            "verification failed: {}",
            names.join("; ")
        ));
    }
    Ok(())
}

/// The human summary of an apply.
pub fn text(r: &ApplyReport) -> String {
    let mut s = String::new();
    for st in &r.stacks {
        s.push_str(&format!("{:<10} {:<32} {:?} ({})\n", st.stack, st.stack_name, st.result, st.status).to_lowercase());
        for rec in &st.recovered {
            s.push_str(&format!("           recovered: {rec}\n"));
        }
    }
    if !r.changed {
        s.push_str("nothing changed: the stacks already match this configuration\n");
    }
    let uploaded = r.artifacts.iter().filter(|a| a.uploaded).count();
    if !r.artifacts.is_empty() {
        s.push_str(&format!(
            "artifacts: {uploaded} uploaded, {} already in the bucket\n",
            r.artifacts.len() - uploaded
        ));
    }
    if !r.verification.is_empty() {
        let ok = r.verification.iter().filter(|c| c.ok).count();
        s.push_str(&format!("verified: {ok}/{} resources through their own APIs\n", r.verification.len()));
    }
    s.push_str("\noutputs:\n");
    for key in [
        "IotEndpoint",
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "ProvisioningTemplateName",
        "ClaimCertificateFile",
        "ClaimPrivateKeyFile",
    ] {
        if let Some(v) = r.outputs.get(key) {
            s.push_str(&format!("  {key:<26} {v}\n"));
        }
    }
    s.push_str(&format!("  (all outputs: {})\n", r.outputs_file.display()));
    s.push_str(&format!("\n{} AWS API calls in {:.1} s\n", r.api_calls.total, r.elapsed_ms as f64 / 1000.0));
    s
}
