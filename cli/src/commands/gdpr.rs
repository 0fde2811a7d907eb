//! `rainmaker-deploy gdpr export | erase | reapply`: data-subject requests for one user (docs/gdpr.md).

use super::apply::{runtime, tenant};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::gdpr::export::{self, Out};
use crate::gdpr::progress::Terminal;
use crate::gdpr::user::UserRef;
use crate::gdpr::{resources, GdprClients};
use crate::progress::Mode;
use clap::{Args, Subcommand};
use miette::Result;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum GdprCommand {
    /// Export everything the backend holds about one user into one archive (zip, mode 0600)
    Export(ExportArgs),
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
    /// The archive to write (`-`: stdout); default `gdpr-export-<tenant>-<user>.zip`
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing output file
    #[arg(long)]
    pub force: bool,
}

pub fn run(g: &GlobalArgs, cmd: &GdprCommand) -> Result<()> {
    match cmd {
        GdprCommand::Export(a) => run_export(g, a),
    }
}

fn mode(g: &GlobalArgs) -> Mode {
    Mode::detect(g.output == OutputFormat::Json, g.no_progress)
}

fn run_export(g: &GlobalArgs, a: &ExportArgs) -> Result<()> {
    let who = UserRef::parse(a.who.user.as_deref(), a.who.email.as_deref())?;
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
                Out::File(PathBuf::from(format!("gdpr-export-{}-{safe}.zip", t.config.name)))
            }
        };
        let c = GdprClients::new(&t.sdk).await?;
        let r = resources::resolve(&t, &c, a.who.user_pool_id.as_deref()).await?;
        export::export(&c, &r, &who, &out, a.force, &progress).await.map_err(miette::Report::from)
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
