//! `rainmaker-deploy gdpr export | erase | reapply`: data-subject requests for one user (docs/gdpr.md).

use super::common::{ask, require_yes_or_terminal, runtime, tenant};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::gdpr::archive::Format;
use crate::gdpr::erase::{self, EraseOptions, EraseOutcome};
use crate::gdpr::export::{self, Out};
use crate::gdpr::progress::Terminal;
use crate::gdpr::reapply;
use crate::gdpr::user::UserRef;
use crate::gdpr::{resources, GdprClients};
use crate::progress::Mode;
use clap::{Args, Subcommand};
use miette::Result;
use rainmaker_core::gdpr::Action;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum GdprCommand {
    /// Export everything the backend holds about one user into one archive (zip or tar.gz, mode 0600)
    Export(ExportArgs),
    /// Erase everything about one user (ordered, idempotent, resumable) and write a receipt of keyed hashes
    Erase(EraseArgs),
    /// After a table restore: erase again what the receipts in DIR say was erased
    Reapply(ReapplyArgs),
}

/// Who the request is about.
#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    /// The user's id: the Cognito `sub`
    #[arg(long, required_unless_present = "email", conflicts_with = "email")]
    pub user: Option<String>,
    /// The user's email address, resolved to the sub through the user pool
    #[arg(long)]
    pub email: Option<String>,
    /// The user pool to use instead of the stack's `UserPoolId` output (moto does not create the pool; a maker
    /// may run it outside the stack)
    #[arg(long)]
    pub user_pool_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub who: UserArgs,
    /// The archive to write (`-`: stdout); default `gdpr-export-<tenant>-<user>.zip` (or `.tar.gz`)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Archive format; default: from the --out name (`.zip`, `.tar.gz`/`.tgz`), else zip
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Replace an existing output file
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EraseArgs {
    #[command(flatten)]
    pub who: UserArgs,
    /// List per source exactly what would be deleted or changed (counts and keys, on the terminal only: the
    /// listing is personal data and is never stored); change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Also revoke the certificates of the user's devices (by default they stay provisioned: they are the maker's)
    #[arg(long)]
    pub revoke_devices: bool,
    /// Also write the receipt to this file (mode 0600)
    #[arg(long)]
    pub receipt: Option<PathBuf>,
    /// The receipt key secret to use instead of the stack's `GdprReceiptKeySecretArn` output (moto's
    /// CloudFormation does not create secrets)
    #[arg(long, value_name = "ARN")]
    pub receipt_key_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReapplyArgs {
    /// Directory of erase receipts (`.rainmaker/<account>/<region>/<tenant>/gdpr/erasures` keeps them all)
    #[arg(long)]
    pub receipts: PathBuf,
    /// The user pool to use instead of the stack's `UserPoolId` output
    #[arg(long)]
    pub user_pool_id: Option<String>,
    /// The receipt key secret to use instead of the stack's `GdprReceiptKeySecretArn` output
    #[arg(long, value_name = "ARN")]
    pub receipt_key_secret: Option<String>,
    /// Do not ask (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub fn run(g: &GlobalArgs, cmd: &GdprCommand) -> Result<()> {
    match cmd {
        GdprCommand::Export(a) => run_export(g, a),
        GdprCommand::Erase(a) => run_erase(g, a),
        GdprCommand::Reapply(a) => run_reapply(g, a),
    }
}

fn plan_text(user: &str, actions: &[Action]) -> String {
    let mut s = format!("erasing user {user} does, in this order:\n");
    for (i, a) in actions.iter().enumerate() {
        let node = a.node_id.as_deref().map(|n| format!(" [{n}]")).unwrap_or_default();
        s.push_str(&format!("{:>3}. {}{node}: {} ({} items)\n", i + 1, a.step.name(), a.step.describe(), a.count));
        for k in a.keys.iter().take(20) {
            s.push_str(&format!("       {k}\n"));
        }
        if a.keys.len() > 20 {
            s.push_str(&format!("       ... and {} more\n", a.keys.len() - 20));
        }
    }
    s
}

fn run_erase(g: &GlobalArgs, a: &EraseArgs) -> Result<()> {
    let who = UserRef::parse(a.who.user.as_deref(), a.who.email.as_deref())?;
    require_yes_or_terminal(a.yes || a.dry_run, "erase")?;
    let rt = runtime()?;
    let progress = Terminal::new(mode(g));
    let outcome = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        let c = GdprClients::new(&t.sdk).await?;
        let mut r = resources::resolve(&t, &c, a.who.user_pool_id.as_deref()).await?;
        if let Some(arn) = &a.receipt_key_secret {
            r.receipt_key_secret = Some(arn.clone());
        }
        let o = EraseOptions {
            dry_run: a.dry_run,
            revoke_devices: a.revoke_devices,
            receipt: a.receipt.clone(),
            state_dir: crate::aws::identity::state_dir(&t).await?,
        };
        let confirm = |actions: &[Action]| {
            if a.yes {
                return true;
            }
            progress.finish();
            eprint!("{}", plan_text(who.shown(), actions));
            ask(&format!("Erase everything about {}? This cannot be undone.", who.shown()))
        };
        erase::erase(&c, &r, &who, &o, &confirm, &progress).await.map_err(miette::Report::from)
    });
    progress.finish();
    let outcome = outcome?;
    crate::output::emit(g.output, &outcome, || match &outcome {
        EraseOutcome::DryRun { user_id, actions } => format!(
            "dry run, nothing was changed (this listing is personal data: do not store it)\n{}",
            plan_text(user_id, actions)
        ),
        EraseOutcome::Erased { receipt, journal, resumed, already } => {
            let mut s = if *already {
                format!(
                    "this user was erased before: receipt {} (finished {})\n",
                    receipt.receipt_id,
                    receipt.finished_at.as_deref().unwrap_or("?")
                )
            } else {
                format!(
                    "erased{}: receipt {}\n",
                    if *resumed { " (an interrupted erase, finished now)" } else { "" },
                    receipt.receipt_id
                )
            };
            for st in &receipt.steps {
                s.push_str(&format!("  {:<24} {}\n", st.step.name(), st.count));
            }
            s.push_str("residual copies:\n");
            for x in &receipt.residual {
                s.push_str(&format!("  {}: {}\n", x.what, x.window));
            }
            s.push_str(&format!("receipt kept in {}\n", journal.display()));
            if let Some(p) = &a.receipt {
                s.push_str(&format!("receipt written to {}\n", p.display()));
            }
            s
        }
    })
}

fn run_reapply(g: &GlobalArgs, a: &ReapplyArgs) -> Result<()> {
    require_yes_or_terminal(a.yes, "reapply")?;
    let receipts = reapply::read_receipts(&a.receipts)?;
    let rt = runtime()?;
    let progress = Terminal::new(mode(g));
    let report = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        let c = GdprClients::new(&t.sdk).await?;
        let mut r = resources::resolve(&t, &c, a.user_pool_id.as_deref()).await?;
        if let Some(arn) = &a.receipt_key_secret {
            r.receipt_key_secret = Some(arn.clone());
        }
        if !a.yes && !ask(&format!("Re-apply {} erasures to {}'s tables?", receipts.len(), t.config.name)) {
            return Err(miette::Report::from(crate::gdpr::GdprError::Usage {
                flag: "--yes",
                message: "not confirmed; nothing was changed".into(),
                help: "answer y, or pass --yes".into(),
            }));
        }
        reapply::reapply(&c, &r, &crate::aws::identity::state_dir(&t).await?, &receipts, &progress)
            .await
            .map_err(miette::Report::from)
    });
    progress.finish();
    let report = report?;
    crate::output::emit(g.output, &report, || {
        format!(
            "re-applied {} receipts ({} erased users): deleted {} users items, {} grants, {} binding requests, {} \
             telemetry items; unbound {} nodes\n",
            report.receipts,
            report.erased_users,
            report.users,
            report.grants,
            report.binding_requests,
            report.telemetry,
            report.nodes_unbound
        )
    })
}

fn mode(g: &GlobalArgs) -> Mode {
    Mode::detect(g.output == OutputFormat::Json, g.no_progress)
}

fn run_export(g: &GlobalArgs, a: &ExportArgs) -> Result<()> {
    let who = UserRef::parse(a.who.user.as_deref(), a.who.email.as_deref())?;
    let format = Format::choose(a.format, a.out.as_deref().filter(|p| p.as_os_str() != "-"))?;
    let rt = runtime()?;
    let progress = Terminal::new(mode(g));
    let report = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        let out = match &a.out {
            Some(p) if p.as_os_str() == "-" => Out::Stdout,
            Some(p) => Out::File(p.clone()),
            None => {
                let safe: String =
                    who.shown().chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
                Out::File(PathBuf::from(format!("gdpr-export-{}-{safe}.{}", t.config.name, format.extension())))
            }
        };
        let c = GdprClients::new(&t.sdk).await?;
        let r = resources::resolve(&t, &c, a.who.user_pool_id.as_deref()).await?;
        export::export(&c, &r, &who, &out, a.force, format, &progress).await.map_err(miette::Report::from)
    });
    progress.finish();
    let report = report?;
    if report.out == "-" {
        // stdout holds the archive: the summary goes to stderr
        crate::output::progress(
            g.output,
            format!("exported {} ({} bytes, sha256 {})", report.user_id, report.bytes, report.sha256),
        );
        return Ok(());
    }
    crate::output::emit(g.output, &report, || {
        let mut s = format!(
            "exported user {} of {} to {} ({} files, {} bytes, sha256 {})\n",
            report.user_id, report.tenant, report.out, report.files, report.bytes, report.sha256
        );
        for (k, v) in &report.items {
            s.push_str(&format!("  {k:<18} {v}\n"));
        }
        s
    })
}
