//! Log volume: what each function writes per event (declared here next to [`crate::access`], measured by the
//! access-check test, priced by `estimate`), the per-thread counter that measures it, and Lambda's own lines.
//!
//! CloudWatch Logs meters ingestion as the bytes of each log event plus 26 bytes of metadata per event (the
//! `PutLogEvents` API reference: "the sum of all event messages in UTF-8, plus 26 bytes for each log event"), so a
//! declaration carries both the bytes and the number of lines (one line = one log event).

use crate::access::Event;
use std::cell::Cell;
use std::io::Write;

/// Bytes CloudWatch Logs adds to every log event (`PutLogEvents` batch size rule).
pub const EVENT_OVERHEAD_BYTES: u32 = 26;

/// Lambda's START, END and REPORT lines of one warm invocation in the text log format, shaped like the example in
/// the Lambda developer guide ("Working with Lambda function logs"; a 36-character request id, durations with two
/// decimals). A cold start adds `Init Duration` to REPORT (not counted: warm invocations dominate).
pub const PLATFORM_LINES_TEXT: [&str; 3] = [
    "START RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0 Version: $LATEST\n",
    "END RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0\n",
    "REPORT RequestId: 6bc28136-xmpl-4365-b021-0ce6b2e64ab0\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 21 MB\t\n",
];

/// Metered bytes of the platform lines of one invocation (text format): their bytes plus the event overhead.
pub fn platform_metered_bytes_text() -> u32 {
    PLATFORM_LINES_TEXT.iter().map(|l| l.len() as u32 + EVENT_OVERHEAD_BYTES).sum()
}

/// What a function writes itself for one event on the success path (tracing lines and EMF metric lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Written {
    pub bytes: u64,
    pub lines: u64,
}

impl Written {
    /// Bytes CloudWatch Logs meters for these lines (bytes + 26 per line).
    pub fn metered_bytes(self) -> u64 {
        self.bytes + self.lines * u64::from(EVENT_OVERHEAD_BYTES)
    }
}

/// Declared app log output per event (measured by `runtime-lambdas/access-check`, which fails when a handler writes
/// more than 10 % or 32 bytes more or less than declared).
pub const fn declared_log(event: Event) -> Written {
    let (lines, bytes) = match event {
        // "telemetry stored" (node, accepted, duplicates) + the EMF line of TelemetryAccepted.
        Event::Telemetry => (2, 286),
        // "telemetry batch stored" (records, puts, accepted, duplicates, rejected, failed) + the EMF line of
        // TelemetryAccepted: per batch, whatever its size.
        Event::TelemetryBatch => (2, 310),
        // The same two lines with the packed layout (the same fields).
        Event::TelemetryPacked => (2, 310),
        // "presence event" (node, connected, timestamp, outcome).
        Event::Presence => (1, 94),
        // "provisioning allowed" (serial, certificate id).
        Event::Provisioning => (1, 124),
        // "node bound" (node, user pseudonym) + the EMF line of NodeBound.
        Event::BindConfirm => (2, 263),
        // The API logs nothing on success (API Gateway's access log is priced with the stage).
        Event::BindStart
        | Event::ListNodes
        | Event::GetNode
        | Event::GetParams
        | Event::GetReadings
        | Event::PutParams
        | Event::Share
        | Event::Unshare => (0, 0),
    };
    Written { bytes, lines }
}

thread_local! {
    static WRITTEN: Cell<Written> = const { Cell::new(Written { bytes: 0, lines: 0 }) };
}

/// A writer that counts what passes through it on this thread (see [`take`]); a thread-local add per write.
#[derive(Debug)]
pub struct Counting<W>(pub W);

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(buf)?;
        let lines = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        WRITTEN.with(|w| {
            let v = w.get();
            w.set(Written { bytes: v.bytes + n as u64, lines: v.lines + lines });
        });
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// What this thread wrote through [`Counting`] since the last call, resetting the count.
pub fn take() -> Written {
    WRITTEN.with(|w| w.replace(Written::default()))
}

/// Whether `measured` is within the tolerance of `declared`: max(10 %, 32 bytes), and the same number of lines.
pub fn within_tolerance(declared: Written, measured: Written) -> bool {
    let slack = (declared.bytes / 10).max(32);
    declared.lines == measured.lines && declared.bytes.abs_diff(measured.bytes) <= slack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_counts_bytes_and_lines_per_thread() {
        take();
        let mut w = Counting(Vec::new());
        writeln!(w, "abc").unwrap();
        write!(w, "de\nf").unwrap();
        std::thread::spawn(|| writeln!(Counting(std::io::sink()), "elsewhere").unwrap()).join().unwrap();
        assert_eq!(take(), Written { bytes: 8, lines: 2 });
        assert_eq!(take(), Written::default());
    }

    #[test]
    fn tolerance_is_ten_percent_or_32_bytes() {
        let d = |bytes| Written { bytes, lines: 1 };
        assert!(within_tolerance(d(100), d(132)));
        assert!(!within_tolerance(d(100), d(133)));
        assert!(within_tolerance(d(1000), d(900)));
        assert!(!within_tolerance(d(1000), d(899)));
        assert!(!within_tolerance(d(100), Written { bytes: 100, lines: 2 }));
    }

    #[test]
    fn platform_lines_are_264_bytes_plus_overhead() {
        let raw: usize = PLATFORM_LINES_TEXT.iter().map(|l| l.len()).sum();
        assert_eq!(raw, 71 + 52 + 141);
        assert_eq!(platform_metered_bytes_text(), 264 + 3 * 26);
    }
}
