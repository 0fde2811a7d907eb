//! The `rainmaker-deploy` binary: parse arguments, install the error reporter, dispatch.

use clap::Parser;
use rainmaker_deploy::{cli::Cli, commands, output};

fn main() {
    let cli = Cli::parse();
    output::install_error_hook();
    let format = cli.global.output;
    if let Err(report) = commands::dispatch(cli) {
        output::print_error(&report, format);
        std::process::exit(output::exit_code(&report));
    }
}
