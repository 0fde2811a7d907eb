//! Progress of an export or erase, per source (items so far): a spinner row on a terminal, plain lines otherwise,
//! nothing with `--output json`.

use crate::progress::Mode;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use std::time::Duration;

/// Where progress goes.
pub trait Report: Sync {
    /// `items` of `source` so far; `done` once the source is complete.
    fn source(&self, source: &str, items: u64, done: bool);
    /// A free line.
    fn line(&self, text: &str);
}

/// No progress (tests, library callers).
pub struct NoReport;

impl Report for NoReport {
    fn source(&self, _: &str, _: u64, _: bool) {}
    fn line(&self, _: &str) {}
}

/// The CLI's progress on stderr.
pub struct Terminal {
    mode: Mode,
    bar: Mutex<Option<(String, ProgressBar)>>,
    printed: Mutex<(String, u64)>,
}

/// Plain mode prints a line every this many items of one source (and when it is done).
const PLAIN_EVERY: u64 = 10_000;

/// The plain line for `items` of `source` so far: one every [`PLAIN_EVERY`] items and one when it is done;
/// `last` is the source and the count last printed.
fn plain_line(last: &mut (String, u64), source: &str, items: u64, done: bool) -> Option<String> {
    if last.0 != source {
        *last = (source.to_string(), 0);
    }
    if done {
        return Some(format!("{source}: {items} items, done"));
    }
    if items < last.1 + PLAIN_EVERY {
        return None;
    }
    last.1 = items;
    Some(format!("{source}: {items} items"))
}

impl Terminal {
    pub fn new(mode: Mode) -> Terminal {
        Terminal { mode, bar: Mutex::new(None), printed: Mutex::new((String::new(), 0)) }
    }

    fn bar(&self, source: &str) -> ProgressBar {
        let mut slot = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((name, bar)) = slot.as_ref() {
            if name == source {
                return bar.clone();
            }
            bar.finish();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or(ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        *slot = Some((source.to_string(), bar.clone()));
        bar
    }

    /// Stop the spinner.
    pub fn finish(&self) {
        if let Some((_, bar)) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            bar.finish();
        }
    }
}

impl Report for Terminal {
    fn source(&self, source: &str, items: u64, done: bool) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Plain => {
                let mut last = self.printed.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(l) = plain_line(&mut last, source, items, done) {
                    eprintln!("{l}");
                }
            }
            Mode::Rich => {
                let bar = self.bar(source);
                bar.set_message(format!("{source}: {items} items{}", if done { ", done" } else { "" }));
                if done {
                    bar.finish();
                }
            }
        }
    }

    fn line(&self, text: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Plain => eprintln!("{text}"),
            Mode::Rich => match self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                Some((_, bar)) => bar.println(text),
                None => eprintln!("{text}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plain_line;

    /// In CI (plain lines): the items so far every 10,000 of a source, and a line when it is done.
    #[test]
    fn plain_lines_say_the_items_so_far_every_10000_and_when_done() {
        let mut last = (String::new(), 0);
        let calls: &[(&str, u64, bool, Option<&str>)] = &[
            ("telemetry", 1000, false, None),
            ("telemetry", 9999, false, None),
            ("telemetry", 10_000, false, Some("telemetry: 10000 items")),
            ("telemetry", 15_000, false, None),
            ("telemetry", 20_500, false, Some("telemetry: 20500 items")),
            ("telemetry", 29_000, false, None),
            ("telemetry", 29_001, true, Some("telemetry: 29001 items, done")),
            // another source starts counting again
            ("delete_telemetry N2", 9000, false, None),
            ("delete_telemetry N2", 12_000, false, Some("delete_telemetry N2: 12000 items")),
            ("shadows", 0, true, Some("shadows: 0 items, done")),
        ];
        for (source, items, done, want) in calls {
            assert_eq!(plain_line(&mut last, source, *items, *done).as_deref(), *want, "{source} {items} {done}");
        }
    }
}
