//! The usage profile (`usage.yaml`, `version: 1`): per-device behaviour that scales with `--devices`, fleet and
//! user behaviour, per-type defaults (`resource_type_default_usage`) and per-resource overrides by logical id
//! (`resource_usage`). Keys are declared once, here and in each priced resource, with their defaults; an unknown
//! key is an error naming the key and the valid ones.

use crate::cost::error::CostError;
use indexmap::IndexMap;
use rainmaker_model::telemetry::read_range::{DEFAULT_WINDOW_MS, MAX_WINDOW_MS};
use serde_json::Value;

/// Hours in the month AWS prices with.
pub const MONTH_HOURS: f64 = 730.0;
/// Days in that month (730 / 24).
pub const MONTH_DAYS: f64 = MONTH_HOURS / 24.0;

/// A usage key: its name, default and meaning (shown in errors and docs/estimate.md).
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub default: f64,
    pub doc: &'static str,
}

const fn key(name: &'static str, default: f64, doc: &'static str) -> Key {
    Key { name, default, doc }
}

/// `device:` — what one device does; everything here is multiplied by the device count.
pub const DEVICE_KEYS: &[Key] = &[
    key("connected_minutes_per_day", 1440.0, "minutes a day the device is connected to AWS IoT Core (1440 = always)"),
    key("reconnects_per_day", 1.0, "connections a day; each makes a connected and a disconnected lifecycle event"),
    key("telemetry_per_hour", 1.0, "telemetry messages published an hour"),
    key("telemetry_bytes", 200.0, "payload bytes of one telemetry message (metered in 5 KB steps)"),
    key("readings_per_message", 1.0, "readings in one telemetry message (device-side batching: 1..=25)"),
    key(
        "basic_ingest",
        1.0,
        "1/true: telemetry goes to `$aws/rules/...` topics (no messaging charge); 0/false: normal topics",
    ),
    key("downlink_per_day", 0.0, "messages delivered to the device a day (commands, notifications)"),
    key("downlink_bytes", 200.0, "payload bytes of one downlink message"),
    key(
        "shadow_updates_per_day",
        0.0,
        "shadow updates the device makes a day (one shadow operation + one accepted message each)",
    ),
    key("shadow_bytes", 500.0, "bytes of the shadow document (operations metered in 1 KB steps)"),
    key(
        "shadow_responses_per_update",
        1.0,
        "messages the shadow service publishes to the device per update (update/accepted = 1; + documents = 2)",
    ),
    key("subscribes_per_connect", 3.0, "MQTT SUBSCRIBE messages a device sends per (re)connect (each metered)"),
    key("qos1_downlink", 1.0, "1: the device subscribes with QoS 1, so it PUBACKs (a metered message) each delivery"),
    key(
        "lifecycle_events_metered",
        1.0,
        "1: the connected/disconnected lifecycle events are metered as messages published by the service",
    ),
    key(
        "packed_bytes_per_reading",
        0.0,
        "compressed bytes a reading takes in a packed item (telemetry.pipeline: packed); 0: the benchmark's measure of the blueprint's payloads",
    ),
    key(
        "telemetry_retention_days",
        30.0,
        "days telemetry is kept, when the template does not say (TELEMETRY_TTL_DAYS)",
    ),
];

/// `fleet:` — the device fleet as a whole.
pub const FLEET_KEYS: &[Key] = &[
    key("new_devices_percent_per_month", 2.0, "devices provisioned (and bound to a user) a month, in % of the fleet"),
    key("rule_error_percent", 0.01, "rule actions that fail and go to the error action (dead-letter queue), in %"),
    key("peak_to_average", 3.0, "peak request rate over the monthly average, for quota checks"),
];

/// `users:` — the people using the app.
pub const USER_KEYS: &[Key] = &[
    key("users_per_device", 1.0, "app users per device (owners and shares; 0.5 = two devices per user)"),
    key("monthly_active_percent", 60.0, "users who sign in during a month, in % (Cognito MAU)"),
    key("api_calls_per_user_per_day", 10.0, "REST API calls a user makes a day"),
    key("api_shadow_percent", 30.0, "API calls that read or update a device shadow, in %"),
    key(
        "api_readings_percent",
        2.0,
        "API calls that are GET /nodes/{id}/readings (a node's recent readings), in %; the other routes keep their mix of the rest",
    ),
    key(
        "api_readings_minutes",
        READINGS_DEFAULT_MINUTES,
        "the range a GET /nodes/{id}/readings call asks for, in minutes (1..=60; 15 = the route's default)",
    ),
];

/// The range `GET /nodes/{id}/readings` reads without `from` (`read_range::DEFAULT_WINDOW_MS`), in minutes.
pub const READINGS_DEFAULT_MINUTES: f64 = DEFAULT_WINDOW_MS as f64 / 60_000.0;
/// The longest range it allows (`read_range::MAX_WINDOW_MS`), in minutes.
pub const READINGS_MAX_MINUTES: f64 = MAX_WINDOW_MS as f64 / 60_000.0;

/// A usage key that takes only values in `min..=max` (every other key: any finite number, zero or more).
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub scope: &'static str,
    pub key: &'static str,
    pub min: f64,
    pub max: f64,
    /// Why those bounds (shown in the error).
    pub why: &'static str,
}

/// The bounded keys.
pub const BOUNDS: &[Bound] = &[
    Bound { scope: "users", key: "api_readings_percent", min: 0.0, max: 100.0, why: "a share of the API calls" },
    Bound {
        scope: "users",
        key: "api_readings_minutes",
        min: 1.0,
        max: READINGS_MAX_MINUTES,
        why: "GET /nodes/{id}/readings answers at most an hour, MAX_WINDOW_MS",
    },
];

/// Per-resource usage values (`key -> number`).
pub type Values = IndexMap<String, f64>;

/// A parsed usage profile.
#[derive(Debug, Clone)]
pub struct Usage {
    /// The file it came from (for messages).
    pub file: String,
    pub description: Option<String>,
    /// `devices:` — the device count when `--devices` is not given.
    pub devices: Option<u64>,
    pub device: Values,
    pub fleet: Values,
    pub users: Values,
    /// Type -> key -> value.
    pub type_defaults: IndexMap<String, Values>,
    /// Logical id -> key -> value.
    pub resources: IndexMap<String, Values>,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            file: "(built-in defaults)".into(),
            description: None,
            devices: None,
            device: defaults(DEVICE_KEYS),
            fleet: defaults(FLEET_KEYS),
            users: defaults(USER_KEYS),
            type_defaults: IndexMap::new(),
            resources: IndexMap::new(),
        }
    }
}

fn defaults(keys: &[Key]) -> Values {
    keys.iter().map(|k| (k.name.to_string(), k.default)).collect()
}

/// Names of keys, for help texts.
pub fn names(keys: &[Key]) -> String {
    keys.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

impl Usage {
    /// Parse a usage file's text.
    pub fn parse(file: &str, text: &str) -> Result<Usage, CostError> {
        let bad = |message: String| CostError::UsageParse { file: file.to_string(), message };
        let doc: Value = serde_saphyr::from_str(text).map_err(|e| bad(e.to_string()))?;
        let top = doc.as_object().ok_or_else(|| bad("the top level must be a mapping".into()))?;
        let mut u = Usage { file: file.to_string(), ..Usage::default() };
        let version = top.get("version").ok_or_else(|| bad("`version: 1` is missing".into()))?;
        match version.as_u64() {
            Some(1) => {}
            Some(n) => return Err(CostError::UsageVersion { file: file.into(), found: n.min(u32::MAX as u64) as u32 }),
            None => return Err(bad("`version` must be a number".into())),
        }
        const TOP: &str =
            "version, description, devices, device, fleet, users, resource_type_default_usage, resource_usage";
        for (k, v) in top {
            match k.as_str() {
                "version" => {}
                "description" => u.description = v.as_str().map(str::to_string),
                "devices" => {
                    u.devices = Some(v.as_u64().ok_or_else(|| bad("`devices` must be a whole number".into()))?)
                }
                "device" => read_section(file, "device", v, DEVICE_KEYS, &mut u.device)?,
                "fleet" => read_section(file, "fleet", v, FLEET_KEYS, &mut u.fleet)?,
                "users" => read_section(file, "users", v, USER_KEYS, &mut u.users)?,
                "resource_type_default_usage" => u.type_defaults = read_nested(file, k, v)?,
                "resource_usage" => u.resources = read_nested(file, k, v)?,
                _ => {
                    return Err(CostError::UnknownUsageKey {
                        file: file.into(),
                        scope: "the top level".into(),
                        key: k.clone(),
                        valid: TOP.into(),
                    })
                }
            }
        }
        Ok(u)
    }

    /// `device.<key>` (a declared key; 0 when it is not declared).
    pub fn device(&self, key: &str) -> f64 {
        self.device.get(key).copied().unwrap_or(0.0)
    }
    pub fn fleet(&self, key: &str) -> f64 {
        self.fleet.get(key).copied().unwrap_or(0.0)
    }
    pub fn users(&self, key: &str) -> f64 {
        self.users.get(key).copied().unwrap_or(0.0)
    }
}

/// A number (or a boolean as 1/0) that is finite and not negative.
pub fn number(file: &str, scope: &str, key: &str, v: &Value) -> Result<f64, CostError> {
    let n = match v {
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => v.as_f64(),
    };
    match n {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(CostError::BadValue { file: file.into(), scope: scope.into(), key: key.into(), value: v.to_string() }),
    }
}

fn read_section(file: &str, scope: &str, v: &Value, keys: &[Key], into: &mut Values) -> Result<(), CostError> {
    let Some(m) = v.as_object() else {
        return Err(CostError::UsageParse { file: file.into(), message: format!("`{scope}` must be a mapping") });
    };
    for (k, val) in m {
        if !keys.iter().any(|d| d.name == k) {
            return Err(CostError::UnknownUsageKey {
                file: file.into(),
                scope: format!("`{scope}`"),
                key: k.clone(),
                valid: names(keys),
            });
        }
        let n = number(file, scope, k, val)?;
        if let Some(b) = BOUNDS.iter().find(|b| b.scope == scope && b.key == k) {
            if n < b.min || n > b.max {
                return Err(CostError::OutOfRange {
                    file: file.into(),
                    scope: scope.into(),
                    key: k.clone(),
                    value: val.to_string(),
                    min: b.min,
                    max: b.max,
                    why: b.why.into(),
                });
            }
        }
        into.insert(k.clone(), n);
    }
    Ok(())
}

/// `name -> {key: number}`; the keys are checked against the priced resources later (they depend on the type).
fn read_nested(file: &str, scope: &str, v: &Value) -> Result<IndexMap<String, Values>, CostError> {
    let mut out = IndexMap::new();
    let Some(m) = v.as_object() else {
        return Err(CostError::UsageParse { file: file.into(), message: format!("`{scope}` must be a mapping") });
    };
    for (name, inner) in m {
        let Some(im) = inner.as_object() else {
            return Err(CostError::UsageParse {
                file: file.into(),
                message: format!("`{scope}.{name}` must be a mapping"),
            });
        };
        let mut vals = Values::new();
        for (k, val) in im {
            vals.insert(k.clone(), number(file, &format!("`{scope}.{name}`"), k, val)?);
        }
        out.insert(name.clone(), vals);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_the_file_leaves_out() {
        let u =
            Usage::parse("u.yaml", "version: 1\ndevice:\n  telemetry_per_hour: 6\n  basic_ingest: false\n").unwrap();
        assert_eq!(u.device("telemetry_per_hour"), 6.0);
        assert_eq!(u.device("basic_ingest"), 0.0);
        assert_eq!(u.device("connected_minutes_per_day"), 1440.0);
        assert_eq!(u.users("users_per_device"), 1.0);
    }

    #[test]
    fn unknown_keys_name_the_key_and_the_valid_ones() {
        let e = Usage::parse("u.yaml", "version: 1\ndevice:\n  telemetry_per_hours: 6\n").unwrap_err();
        assert_eq!(e.to_string(), "u.yaml: unknown usage key `telemetry_per_hours` for `device`");
        let CostError::UnknownUsageKey { valid, .. } = e else { panic!("{e:?}") };
        assert!(valid.contains("telemetry_per_hour,"));
        let e = Usage::parse("u.yaml", "version: 1\ndevicez: {}\n").unwrap_err();
        assert_eq!(e.to_string(), "u.yaml: unknown usage key `devicez` for the top level");
    }

    #[test]
    fn version_and_values_are_checked() {
        let e = Usage::parse("u.yaml", "device: {}\n").unwrap_err().to_string();
        assert_eq!(e, "u.yaml: not a valid usage file: `version: 1` is missing");
        let e = Usage::parse("u.yaml", "version: 2\n").unwrap_err().to_string();
        assert_eq!(e, "u.yaml: usage file version 2 is not supported: this version reads version 1");
        let e = Usage::parse("u.yaml", "version: 1\nusers: {users_per_device: -1}\n").unwrap_err().to_string();
        assert_eq!(e, "u.yaml: usage key `users_per_device` of users is -1: it must be a finite number, zero or more");
        let e = Usage::parse("u.yaml", "version: 1\nfleet: {peak_to_average: lots}\n").unwrap_err().to_string();
        assert!(e.contains("`peak_to_average` of fleet is \"lots\""), "{e}");
        assert!(Usage::parse("u.yaml", "version: 1\ndevice: [1]\n").is_err());
        assert!(Usage::parse("u.yaml", ": : :\n  - [").is_err());
    }

    #[test]
    fn bounded_keys_refuse_values_outside_their_range() {
        let e = Usage::parse("u.yaml", "version: 1\nusers: {api_readings_percent: 101}\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "u.yaml: usage key `api_readings_percent` of users is 101: it must be between 0 and 100 (a share of the API calls)"
        );
        assert!(matches!(e, CostError::OutOfRange { .. }));
        let e = Usage::parse("u.yaml", "version: 1\nusers: {api_readings_minutes: 61}\n").unwrap_err().to_string();
        assert_eq!(e, "u.yaml: usage key `api_readings_minutes` of users is 61: it must be between 1 and 60 (GET /nodes/{id}/readings answers at most an hour, MAX_WINDOW_MS)");
        let e = Usage::parse("u.yaml", "version: 1\nusers: {api_readings_minutes: 0.5}\n").unwrap_err().to_string();
        assert!(e.contains("`api_readings_minutes` of users is 0.5: it must be between 1 and 60"), "{e}");
        // negative values stay the general error
        let e = Usage::parse("u.yaml", "version: 1\nusers: {api_readings_percent: -1}\n").unwrap_err();
        assert!(matches!(e, CostError::BadValue { .. }), "{e:?}");
        // the bounds themselves are valid, and the defaults are the route's
        let u = Usage::parse("u.yaml", "version: 1\nusers: {api_readings_percent: 100, api_readings_minutes: 1}\n")
            .unwrap();
        assert_eq!((u.users("api_readings_percent"), u.users("api_readings_minutes")), (100.0, 1.0));
        assert!(
            Usage::parse("u.yaml", "version: 1\nusers: {api_readings_percent: 0, api_readings_minutes: 60}\n").is_ok()
        );
        assert_eq!(Usage::default().users("api_readings_minutes"), 15.0);
        assert_eq!(Usage::default().users("api_readings_percent"), 2.0);
        // a bound names a declared key of its section, with a default inside it
        for b in BOUNDS {
            let keys = match b.scope {
                "device" => DEVICE_KEYS,
                "fleet" => FLEET_KEYS,
                _ => USER_KEYS,
            };
            let k = keys.iter().find(|k| k.name == b.key).unwrap_or_else(|| panic!("{}", b.key));
            assert!((b.min..=b.max).contains(&k.default), "{}", b.key);
        }
    }

    #[test]
    fn reads_per_type_and_per_resource_usage() {
        let text = "version: 1\ndevices: 1000\nresource_type_default_usage:\n  AWS::Lambda::Function: {request_duration_ms: 30}\nresource_usage:\n  ApiFunction: {monthly_requests: 5000}\n";
        let u = Usage::parse("u.yaml", text).unwrap();
        assert_eq!(u.devices, Some(1000));
        assert_eq!(u.type_defaults["AWS::Lambda::Function"]["request_duration_ms"], 30.0);
        assert_eq!(u.resources["ApiFunction"]["monthly_requests"], 5000.0);
    }
}
