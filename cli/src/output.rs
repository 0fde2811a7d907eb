//! Where things are printed: data to stdout (text or JSON), progress and errors to stderr, and exit codes.

use crate::cli::OutputFormat;
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, JSONReportHandler, Report};
use serde::Serialize;
use std::io::IsTerminal;

/// Exit code for a failure in the user's input (config, flags, templates).
pub const EXIT_USAGE: i32 = 2;
/// Exit code for every other failure.
pub const EXIT_FAILURE: i32 = 1;

/// Configure miette: colours only on a terminal without `NO_COLOR`, a fixed width, no hyperlinks.
pub fn install_error_hook() {
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().terminal_links(false).color(color_enabled()).width(100).build())
    }));
}

fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Print an error report to stderr, as text (with `help:`) or as one JSON object.
pub fn print_error(report: &Report, format: OutputFormat) {
    eprintln!("{}", render_error(report.as_ref(), format));
}

/// Render a diagnostic the way [`print_error`] prints it (used by tests and `--output json`).
pub fn render_error(diag: &dyn Diagnostic, format: OutputFormat) -> String {
    let mut out = String::new();
    match format {
        OutputFormat::Json => {
            let mut inner = String::new();
            let _ = JSONReportHandler::new().render_report(&mut inner, diag);
            let value: serde_json::Value = serde_json::from_str(&inner).unwrap_or(serde_json::Value::String(inner));
            out = serde_json::json!({ "error": value }).to_string();
        }
        OutputFormat::Text => {
            let theme = if color_enabled() { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
            let _ = GraphicalReportHandler::new_themed(theme)
                .with_width(100)
                .with_links(false)
                .render_report(&mut out, diag);
        }
    }
    out.trim_end().to_string()
}

/// Exit code for an error: usage errors (codes starting `rainmaker::config` or `rainmaker::usage`) give 2.
pub fn exit_code(report: &Report) -> i32 {
    match report.code().map(|c| c.to_string()) {
        Some(c)
            if c.starts_with("rainmaker::config")
                || c.starts_with("rainmaker::usage")
                || c.starts_with("rainmaker::tenants")
                || (c.starts_with("rainmaker::upgrade") && c != "rainmaker::upgrade::run") =>
        {
            EXIT_USAGE
        }
        _ => EXIT_FAILURE,
    }
}

/// Print a command's result: JSON on stdout with `--output json`, otherwise the given text.
pub fn emit<T: Serialize>(format: OutputFormat, value: &T, text: impl FnOnce() -> String) -> miette::Result<()> {
    match format {
        OutputFormat::Json => {
            let s = serde_json::to_string_pretty(value).map_err(|e| miette::miette!("serializing the result: {e}"))?;
            println!("{s}");
        }
        OutputFormat::Text => {
            let t = text();
            if !t.is_empty() {
                println!("{}", t.trim_end());
            }
        }
    }
    Ok(())
}

/// A progress line on stderr (suppressed with `--output json` so machines read clean stdout and stderr).
pub fn progress(format: OutputFormat, line: impl AsRef<str>) {
    if format == OutputFormat::Text {
        eprintln!("{}", line.as_ref());
    }
}

/// Report a command-line parse error and exit: clap's own text, or one JSON object on stderr when the arguments
/// ask for `--output json` (help and version requests print normally).
pub fn argument_error(e: clap::Error, args: impl Iterator<Item = String>) -> ! {
    use clap::error::ErrorKind;
    let args: Vec<String> = args.collect();
    let wants_json =
        args.windows(2).any(|w| w[0] == "--output" && w[1] == "json") || args.iter().any(|a| a == "--output=json");
    if wants_json
        && !matches!(
            e.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        let text = e.render().to_string();
        let message = text.lines().next().unwrap_or("").trim_start_matches("error: ").to_string();
        let help = text.lines().skip(1).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
        let v = serde_json::json!({ "error": {
            "code": "rainmaker::usage::arguments", "severity": "error", "message": message, "help": help } });
        eprintln!("{v}");
        std::process::exit(EXIT_USAGE);
    }
    e.exit()
}
