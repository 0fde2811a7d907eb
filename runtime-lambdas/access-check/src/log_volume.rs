//! Measuring what a handler logs: the production subscriber's format (`lambda_runtime`'s default, which every
//! function's `main` installs: INFO, text, no target, no time, no ANSI colours: the functions' release build has no
//! `ansi` feature, while a workspace test build unifies it in) writing into a per-thread counter
//! ([`rainmaker_model::log_volume::Counting`]) instead of stdout; EMF lines are counted where
//! `rainmaker_model::emf` prints them.

use rainmaker_model::access::Event;
use rainmaker_model::log_volume::{self, declared_log, within_tolerance, Written};
use std::sync::Once;

static INIT: Once = Once::new();

/// Installs the production subscriber, counting instead of printing (once per process), and resets this thread's
/// count.
pub fn start_counting() {
    INIT.call_once(|| {
        use lambda_runtime::tracing::subscriber::{self, filter::LevelFilter};
        // `lambda_runtime::tracing::init_default_subscriber_with_writer`, with ANSI off (see the module docs).
        subscriber::fmt()
            .with_target(false)
            .without_time()
            .with_ansi(false)
            .with_env_filter(
                subscriber::filter::EnvFilter::builder()
                    .with_default_directive(LevelFilter::INFO.into())
                    .parse_lossy(""),
            )
            .with_writer(|| log_volume::Counting(std::io::sink()))
            .init();
    });
    log_volume::take();
}

/// What this thread logged since the last call, checked against the declaration of `event`: `Err` names the event,
/// both figures and the tolerance.
pub fn check(event: Event) -> Result<Written, String> {
    let measured = log_volume::take();
    let declared = declared_log(event);
    if within_tolerance(declared, measured) {
        Ok(measured)
    } else {
        Err(format!(
            "{event:?}: the handler logged {} lines, {} bytes; log_volume.rs declares {} lines, {} bytes \
             (tolerance: the same lines, max(10 %, 32 B) of the bytes)",
            measured.lines, measured.bytes, declared.lines, declared.bytes
        ))
    }
}
