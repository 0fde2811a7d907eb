//! The `rainmaker-deploy` binary: parse arguments, install the error reporter, dispatch.

use clap::Parser;
use rainmaker_deploy::{cli::Cli, commands, output};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => output::argument_error(e, std::env::args()),
    };
    output::install_error_hook();
    let format = cli.global.output;
    if let Err(report) = commands::dispatch(cli) {
        output::print_error(&report, format);
        std::process::exit(output::exit_code(&report));
    }
}
