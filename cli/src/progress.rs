//! Progress on stderr: indicatif rows on a terminal (one per resource, with its description, elapsed time and
//! errors highlighted), plain lines otherwise, nothing with `--output json`.

use crate::aws::{Progress, ProgressEvent};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Spinners and one row per resource (stderr is a terminal and `--no-progress` not given).
    Rich,
    /// One line per event.
    Plain,
    /// Nothing (`--output json`).
    Quiet,
}

impl Mode {
    pub fn detect(json: bool, no_progress: bool) -> Mode {
        if json {
            Mode::Quiet
        } else if no_progress || !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
            Mode::Plain
        } else {
            Mode::Rich
        }
    }
}

/// The CLI's [`Progress`] sink.
pub struct Display {
    mode: Mode,
    multi: MultiProgress,
    rows: Mutex<HashMap<(String, String), ProgressBar>>,
}

impl Display {
    pub fn new(mode: Mode) -> Display {
        let multi = MultiProgress::with_draw_target(if mode == Mode::Rich {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Display { mode, multi, rows: Mutex::new(HashMap::new()) }
    }

    /// Print a line above the rows (or plainly).
    pub fn line(&self, text: &str) {
        match self.mode {
            Mode::Rich => {
                let _ = self.multi.println(text);
            }
            Mode::Plain => eprintln!("{text}"),
            Mode::Quiet => {}
        }
    }

    /// Stop the spinners (before a prompt or the final output).
    pub fn finish(&self) {
        for bar in self.rows.lock().unwrap_or_else(|p| p.into_inner()).values() {
            if !bar.is_finished() {
                bar.finish();
            }
        }
    }
}

fn paint(failed: bool, done: bool, text: &str) -> String {
    let color = std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
    match (color, failed, done) {
        (true, true, _) => format!("\x1b[31m{text}\x1b[0m"),
        (true, false, true) => format!("\x1b[32m{text}\x1b[0m"),
        _ => text.to_string(),
    }
}

impl Progress for Display {
    fn report(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::Step { stack, message } => {
                let prefix = stack.map(|s| format!("{s}: ")).unwrap_or_default();
                self.line(&format!("- {prefix}{message}"));
            }
            ProgressEvent::StackDone { stack, status } => {
                let failed = crate::aws::stack::is_failure(&status) && status != "DELETE_COMPLETE";
                self.line(&paint(failed, !failed, &format!("= {stack}: {status}")));
            }
            ProgressEvent::Resource {
                stack,
                logical_id,
                resource_type,
                status,
                reason,
                description,
                elapsed_secs,
                failed,
                ..
            } => {
                let what = description.unwrap_or(resource_type);
                let why = reason.filter(|r| !r.is_empty()).map(|r| format!(" - {r}")).unwrap_or_default();
                let done = !status.ends_with("_IN_PROGRESS");
                let text = format!("{status:<28} {logical_id:<28} {what}{why}");
                match self.mode {
                    Mode::Quiet => {}
                    Mode::Plain => eprintln!("  [{elapsed_secs:>6.1}s] {}", paint(failed, false, &text)),
                    Mode::Rich => {
                        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
                        let bar = rows.entry((stack, logical_id)).or_insert_with(|| {
                            let b = self.multi.add(ProgressBar::new_spinner());
                            b.set_style(
                                ProgressStyle::with_template("  {spinner} [{elapsed:>4}] {msg}")
                                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                            );
                            b.enable_steady_tick(Duration::from_millis(120));
                            b
                        });
                        bar.set_message(paint(failed, done, &text));
                        if done {
                            bar.finish();
                        }
                    }
                }
            }
        }
    }
}
