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
                if last.0 != source {
                    *last = (source.to_string(), 0);
                }
                if done {
                    eprintln!("{source}: {items} items, done");
                } else if items >= last.1 + PLAIN_EVERY {
                    eprintln!("{source}: {items} items");
                    last.1 = items;
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
