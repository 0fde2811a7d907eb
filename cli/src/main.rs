//! The `rainmaker-deploy` binary: parse arguments, install the error reporter, dispatch.

use clap::{CommandFactory, FromArgMatches};
use rainmaker_deploy::{cli::Cli, commands, lambdas_dir, output};

fn main() {
    let mut command = Cli::command();
    if std::env::args().skip(1).any(|a| a == "--version") {
        // `--version` names the template version and the Lambdas this binary would deploy (looked up only then)
        command = command.long_version(Box::leak(lambdas_dir::version_text().into_boxed_str()) as &'static str);
    }
    let cli = match command.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
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
