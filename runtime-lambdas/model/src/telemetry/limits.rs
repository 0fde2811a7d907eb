//! Telemetry limits of both pipelines (telemetry-ingest, telemetry-batch): `TELEMETRY_TTL_DAYS`, `MAX_PAYLOAD_BYTES`.

use crate::contract::{ENV_MAX_PAYLOAD_BYTES, ENV_TELEMETRY_TTL_DAYS};
use crate::ModelError;

/// Validation limits and retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted rule event (the device payload plus the rule's `node_id` and `received_at`), bytes.
    pub max_payload_bytes: usize,
    /// Days a reading is kept (`expires_at` = `received_at` + this).
    pub ttl_days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_payload_bytes: 8192, ttl_days: 30 }
    }
}

impl Limits {
    /// Read the settings through `lookup`; unset variables keep their defaults, invalid ones are errors.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ModelError> {
        let d = Limits::default();
        Ok(Limits {
            max_payload_bytes: parse(&lookup, ENV_MAX_PAYLOAD_BYTES, d.max_payload_bytes as i64, 64, 128 * 1024)?
                as usize,
            ttl_days: parse(&lookup, ENV_TELEMETRY_TTL_DAYS, d.ttl_days, 1, 3650)?,
        })
    }
}

fn parse(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ModelError> {
    let Some(raw) = lookup(name).filter(|v| !v.trim().is_empty()) else { return Ok(default) };
    match raw.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(ModelError::InvalidEnv { name, reason: format!("{raw:?} is not an integer in {min}..={max}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Limits::from_lookup(|_| None).unwrap(), Limits::default());
        let l = Limits::from_lookup(|k| Some(if k == ENV_TELEMETRY_TTL_DAYS { "7" } else { "1024" }.into())).unwrap();
        assert_eq!(l, Limits { max_payload_bytes: 1024, ttl_days: 7 });
        let err = Limits::from_lookup(|k| (k == ENV_TELEMETRY_TTL_DAYS).then(|| "0".into())).unwrap_err();
        assert!(err.to_string().contains("TELEMETRY_TTL_DAYS"), "{err}");
    }
}
