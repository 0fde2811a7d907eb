//! One module per subcommand; `dispatch` routes the parsed command line to it.

pub mod apply;
pub mod blueprints;
pub mod claim;
pub mod common;
pub mod destroy;
pub mod doctor;
pub mod estimate;
pub mod gdpr;
pub mod init;
pub mod plan;
pub mod region;
pub mod render;
pub mod serials;
pub mod status;
pub mod upgrade;
pub mod usage;
pub mod validate;

use crate::cli::{Cli, Command};
use miette::Result;

/// Run the parsed command line.
pub fn dispatch(cli: Cli) -> Result<()> {
    let g = &cli.global;
    common::init_tracing(g.verbose);
    match cli.command {
        Command::Init(args) => init::run(g, &args),
        Command::Render(args) => render::run(g, &args),
        Command::Validate(args) => validate::run(g, &args),
        Command::Estimate(args) => estimate::run(g, &args),
        Command::Blueprints => blueprints::run(g),
        Command::Gdpr(cmd) => gdpr::run(g, &cmd),
        Command::Serials(cmd) => serials::run(g, &cmd),
        Command::Claim(cmd) => claim::run(g, &cmd),
        Command::Plan(args) => plan::run(g, &args),
        Command::Apply(args) => apply::run(g, &args),
        Command::Status(args) => status::run(g, &args),
        Command::Destroy(args) => destroy::run(g, &args),
        Command::Upgrade(args) => upgrade::run(g, &args),
        Command::Doctor(args) => doctor::run(g, &args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "rainmaker-deploy", &mut std::io::stdout());
            Ok(())
        }
    }
}
