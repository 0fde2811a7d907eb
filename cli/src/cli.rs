//! All clap structs: global flags shared by every command and one subcommand per capability.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Deploy and operate an ESP RainMaker-like serverless IoT backend in your own AWS account.
#[derive(Debug, Parser)]
#[command(name = "rainmaker-deploy", version, about, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The tenant configuration file
    #[arg(long, global = true, default_value = "rainmaker.yaml", env = "RAINMAKER_CONFIG")]
    pub config: PathBuf,
    /// AWS named profile (standard AWS chain otherwise)
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (for `init`: the tenant's region, default us-east-1; otherwise overrides the config's)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Send AWS API calls to this endpoint (a local emulator such as moto_server)
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// How to print results and errors
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Plain progress lines, no spinners
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// -v: trace every AWS call on stderr and show the raw detail of AWS errors; -vv: also the HTTP exchanges
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Output format of results and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text
    Text,
    /// One JSON document on stdout (errors as JSON on stderr)
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check this machine and AWS account before a first apply: credentials, reach, quotas, tools, Lambdas, config
    Doctor(crate::commands::doctor::DoctorArgs),
    /// Write a rainmaker.yaml for a new tenant from a blueprint
    Init(InitArgs),
    /// Write the rendered CloudFormation templates, deploy nothing
    Render(RenderArgs),
    /// Render and check the templates (built-in checks, then cfn-lint and checkov when they are on PATH)
    Validate(ValidateArgs),
    /// Show what `apply` would change in the live stacks, replacements flagged; changes nothing
    Plan(PlanArgs),
    /// Deploy: artifacts, change set, execute, claim certificate, verify, print outputs
    Apply(ApplyArgs),
    /// Stack states, template versions, outputs and last events
    Status(StatusArgs),
    /// Delete the stacks; tables, user pool and artifacts bucket are kept unless --delete-data
    Destroy(DestroyArgs),
    /// Roll this CLI's templates out to every tenant of a tenants.yaml: waves, tolerance, report
    Upgrade(crate::commands::upgrade::UpgradeArgs),
    /// Monthly AWS cost of the deployed backend for N devices
    Estimate(crate::commands::estimate::EstimateArgs),
    /// List the blueprints this version ships
    Blueprints,
    /// Data-subject requests for one user: export everything, erase everything (with a receipt), re-apply erasures
    #[command(subcommand)]
    Gdpr(crate::commands::gdpr::GdprCommand),
    /// The serial allow-list: import the factory list (serial + device secret), list it, show one serial
    #[command(subcommand)]
    Serials(SerialsCommand),
    /// The fleet-provisioning claim certificate: show it, rotate it (the old one keeps working for a grace period)
    #[command(subcommand)]
    Claim(ClaimCommand),
    /// Print a shell completion script
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Blueprint to start from (see `rainmaker-deploy blueprints`)
    #[arg(long, default_value = "smart-home")]
    pub blueprint: String,
    /// Tenant name: 4 to 32 of a-z, 0-9 and '-', starting with a letter
    #[arg(long)]
    pub name: String,
    /// Directory to write rainmaker.yaml into (without it: the --config path, ./rainmaker.yaml by default)
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Overwrite an existing rainmaker.yaml
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Directory to write one template per stack into
    #[arg(long, default_value = "rendered")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Skip cfn-lint even when it is on PATH
    #[arg(long)]
    pub no_cfn_lint: bool,
    /// Skip checkov even when it is on PATH
    #[arg(long)]
    pub no_checkov: bool,
}

/// Where the Lambda zips and their manifest.json are (found without it: see `lambdas_dir`).
#[derive(Debug, Clone, Args)]
pub struct ArtifactsArg {
    /// Directory holding the Lambda zips and manifest.json [default: $RAINMAKER_ARTIFACTS, else
    /// ../share/rainmaker-deploy/lambdas beside the executable, else a checkout's target/lambda-artifacts]
    #[arg(long)]
    pub artifacts: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub artifacts: ArtifactsArg,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub artifacts: ArtifactsArg,
    /// Do not ask before executing (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Allow changes that replace or remove stateful resources (tables, user pool, artifacts bucket): data is lost
    #[arg(long)]
    pub allow_replace: bool,
    /// Run the verification pass even when nothing changed
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub timeout: TimeoutArg,
}

#[derive(Debug, Args)]
pub struct TimeoutArg {
    /// Stop waiting for CloudFormation after this long: 90m, 1h30m, 45s, 2h (the operation goes on; the next run
    /// continues from it)
    #[arg(long, default_value = "60m", value_parser = crate::commands::common::parse_timeout, value_name = "DURATION")]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Every tenant of this tenants.yaml instead (through each tenant's role): stack states and template versions
    #[arg(long, value_name = "FILE")]
    pub tenants: Option<std::path::PathBuf>,
    /// How many recent events to show per stack
    #[arg(long, default_value_t = 5)]
    pub events: usize,
    /// Also run CloudFormation drift detection on each stack (read-only; minutes on a large stack): drift status and
    /// the MODIFIED/DELETED resources with their property differences. Exit 3 when a detection fails
    #[arg(long)]
    pub drift: bool,
    #[command(flatten)]
    pub timeout: TimeoutArg,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Keep the data: tables, user pool, artifacts bucket and key secrets (the default)
    #[arg(long, conflicts_with = "delete_data")]
    pub keep_data: bool,
    /// Also delete what the live stacks retain, once they are gone: the DynamoDB tables, the artifacts bucket (every
    /// object version), the Cognito user pool (irreversible) and both key secrets (recoverable for 7 days)
    #[arg(long)]
    pub delete_data: bool,
    /// With --delete-data: delete the key secrets at once, without the 7-day recovery window (irreversible)
    #[arg(long, requires = "delete_data")]
    pub force_delete_secrets: bool,
    #[command(flatten)]
    pub timeout: TimeoutArg,
}

#[derive(Debug, Subcommand)]
pub enum ClaimCommand {
    /// The claim certificates in the account: id, created, status, attached, fingerprint (never the key)
    Show,
    /// Make a new claim certificate (stored in the account's secret, attached, local claim files rewritten); the
    /// old one keeps working until the grace period ends and `claim rotate --finish` deletes it
    Rotate(ClaimRotateArgs),
}

#[derive(Debug, Args)]
pub struct ClaimRotateArgs {
    /// How long the replaced certificate keeps working (devices still carrying it provision until then): 30d,
    /// 7d12h, 90m, 0s
    #[arg(long, default_value = "30d", value_parser = crate::aws::claim::plan::parse_grace, value_name = "DURATION")]
    pub grace: std::time::Duration,
    /// Instead of rotating: detach, deactivate and delete every replaced certificate whose grace period has ended
    #[arg(long, conflicts_with = "grace")]
    pub finish: bool,
    /// Show what would be done, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum SerialsCommand {
    /// Add serials with their device secrets from a CSV file (`serial,secret`): checked whole first, then
    /// written in batches; re-running is safe; a provisioned serial is never changed
    Import(SerialsImportArgs),
    /// List the allow-list, page by page (never a secret or its HMAC)
    List(SerialsListArgs),
    /// One serial: allow-list state, provisioned at, certificate and its status in IoT, thing, owner present
    Show(SerialsShowArgs),
    /// Let a serial provision again: revoke and detach its old certificate, remove its owner and every grant
    /// (unless --keep-owner), then clear its provisioned state
    Reset(SerialsResetArgs),
}

#[derive(Debug, Args)]
pub struct SerialsResetArgs {
    /// The serial (= thing name = node id)
    pub serial: String,
    /// Keep the node's owner and grants (e.g. a board replaced for the same customer)
    #[arg(long)]
    pub keep_owner: bool,
    /// Show the steps, change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct SerialsImportArgs {
    /// The CSV file: the header line `serial,secret`, then one device a line (a secret is 22 to 128 of A-Z,
    /// a-z, 0-9, '-' and '_')
    #[arg(long)]
    pub file: PathBuf,
    /// Check the file and compare it with the allow-list; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct SerialsListArgs {
    /// Only provisioned serials
    #[arg(long, conflicts_with = "unprovisioned")]
    pub provisioned: bool,
    /// Only serials not provisioned yet
    #[arg(long)]
    pub unprovisioned: bool,
}

#[derive(Debug, Args)]
pub struct SerialsShowArgs {
    /// The serial (= thing name = node id)
    pub serial: String,
}
