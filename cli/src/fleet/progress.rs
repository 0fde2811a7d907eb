//! Upgrade progress on stderr. On a terminal: one indicatif row per started tenant (tenant, wave, its current
//! state, elapsed time), updated in place, with failures printed above the rows. Otherwise (a pipe, `CI` set, or
//! `--no-progress`): one plain line per event, prefixed by the tenant and its wave, with the elapsed seconds,
//! exactly as [`plain_line`] formats it.

use crate::aws::{Progress, ProgressEvent};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Rows,
}

impl Style {
    /// Rows on a terminal; plain lines elsewhere, in CI (`CI` set) and with `--no-progress`.
    pub fn detect(no_progress: bool) -> Style {
        if !no_progress && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            Style::Rows
        } else {
            Style::Plain
        }
    }
}

/// `acme-home [canary] executing change set x (12s)`: one plain progress line.
pub fn plain_line(tenant: &str, wave: &str, text: &str, elapsed: Duration) -> String {
    format!("{tenant} [{wave}] {text} ({:.0}s)", elapsed.as_secs_f64())
}

/// The run's progress display.
#[derive(Clone)]
pub struct FleetProgress {
    style: Style,
    multi: MultiProgress,
    /// Width of the tenant column of the rows.
    width: usize,
}

impl FleetProgress {
    /// A display in `style` for tenants whose longest name is `width` characters.
    pub fn new(style: Style, width: usize) -> FleetProgress {
        let target = if style == Style::Rows { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        FleetProgress { style, multi: MultiProgress::with_draw_target(target), width }
    }

    /// The lines of one tenant, starting now (a row appears on a terminal).
    pub fn tenant(&self, tenant: &str, wave: &str) -> Lines {
        let row = (self.style == Style::Rows).then(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} [{elapsed:>4}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(format!("{tenant:<w$} [{wave}]", w = self.width));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Lines {
            tenant: tenant.to_string(),
            wave: wave.to_string(),
            started: Instant::now(),
            multi: self.multi.clone(),
            row,
        }
    }

    /// A line that belongs to no one tenant's row (the alarm checks after a bake).
    pub fn note(&self, text: &str) {
        match self.style {
            Style::Plain => eprintln!("{text}"),
            Style::Rows => {
                let _ = self.multi.println(text);
            }
        }
    }
}

/// One tenant's progress: plain lines, or its row.
pub struct Lines {
    tenant: String,
    wave: String,
    started: Instant,
    multi: MultiProgress,
    row: Option<ProgressBar>,
}

impl Lines {
    /// The tenant's state now (a plain line, or the row's message).
    pub fn line(&self, text: &str) {
        match &self.row {
            Some(bar) => bar.set_message(text.to_string()),
            None => eprintln!("{}", plain_line(&self.tenant, &self.wave, text, self.started.elapsed())),
        }
    }

    /// Something that must stay visible (a failed resource): a plain line, or printed above the rows.
    fn keep(&self, text: &str) {
        match &self.row {
            Some(_) => {
                let _ = self.multi.println(plain_line(&self.tenant, &self.wave, text, self.started.elapsed()));
            }
            None => self.line(text),
        }
    }

    /// The tenant ended with `status`: the last plain line, or the row frozen with it.
    pub fn done(&self, status: &str) {
        match &self.row {
            Some(bar) => bar.finish_with_message(status.to_string()),
            None => self.line(status),
        }
    }
}

impl Progress for Lines {
    fn report(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::Step { message, .. } => self.line(&message),
            ProgressEvent::StackDone { stack, status } => self.line(&format!("{stack}: {status}")),
            ProgressEvent::Resource { logical_id, status, reason, failed: true, .. } => {
                self.keep(&format!("{logical_id} {status}: {}", reason.unwrap_or_default()))
            }
            ProgressEvent::Resource { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_are_prefixed_by_tenant_and_wave_with_whole_seconds() {
        assert_eq!(plain_line("acme-home", "canary", "starting", Duration::ZERO), "acme-home [canary] starting (0s)");
        assert_eq!(
            plain_line("b", "rest", "rm-b: UPDATE_COMPLETE", Duration::from_millis(12_400)),
            "b [rest] rm-b: UPDATE_COMPLETE (12s)"
        );
        // the tests' stderr is never a terminal; --no-progress is plain anywhere
        assert_eq!(Style::detect(true), Style::Plain);
        assert_eq!(Style::detect(false), Style::Plain);
    }
}
