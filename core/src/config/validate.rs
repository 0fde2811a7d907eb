//! Semantic checks on a parsed config: names AWS would refuse, ranges, regions, patterns, tags.

use super::error::{did_you_mean, Problem};
use super::regions::{IOT_REGIONS, LOG_RETENTION_DAYS};
use super::{Config, CONFIG_VERSION};
use regex::Regex;

/// All problems of a config (empty when it is valid).
pub fn check(c: &Config) -> Vec<Problem> {
    let mut p = Problems(Vec::new());
    if c.version != CONFIG_VERSION {
        p.add(
            "version",
            format!("unsupported version {}", c.version),
            format!("this CLI reads version {CONFIG_VERSION}"),
        );
    }
    p.0.extend(name_problem(&c.name));
    p.0.extend(region_problem(&c.region));
    p.0.extend(c.account.as_deref().and_then(super::account::problem));
    let known = crate::assets::blueprint_names();
    if !known.contains(&c.blueprint.as_str()) {
        p.add("blueprint", format!("unknown blueprint `{}`", c.blueprint), format!("one of: {}", known.join(", ")));
    }
    check_serial_pattern(&mut p, &c.devices.claim_serial_pattern);
    p.range("devices.max_payload_bytes", c.devices.max_payload_bytes, 1, 131_072, "bytes");
    p.range("devices.binding_code_ttl_seconds", c.devices.binding_code_ttl_seconds, 60, 86_400, "seconds");
    p.range("telemetry.retention_days", c.telemetry.retention_days, 1, 3650, "days");
    p.range("telemetry.stream_shards", c.telemetry.stream_shards, 1, 500, "Kinesis shards");
    check_batch_window(&mut p, &c.telemetry);
    p.range("api.waf_rate_limit", c.api.waf_rate_limit, 100, 2_000_000_000, "requests per 5 minutes per IP");
    p.range("api.throttle_rate_limit", c.api.throttle_rate_limit, 1, 10_000, "requests per second");
    p.range("api.throttle_burst_limit", c.api.throttle_burst_limit, 1, 5_000, "requests");
    for (i, o) in c.api.allowed_origins.iter().enumerate() {
        if !valid_origin(o) {
            p.add(
                &format!("api.allowed_origins[{i}]"),
                format!("`{o}` is not a valid CORS origin"),
                "use `*`, `https://host[:port]`, or `http://localhost[:port]` (no path, no trailing slash)".into(),
            );
        }
    }
    p.range("lambda.memory_mb", c.lambda.memory_mb, 128, 10_240, "MB");
    p.range("lambda.timeout_seconds", c.lambda.timeout_seconds, 1, 900, "seconds");
    if !LOG_RETENTION_DAYS.contains(&c.lambda.log_retention_days) {
        let nearest =
            LOG_RETENTION_DAYS.iter().min_by_key(|d| d.abs_diff(c.lambda.log_retention_days)).copied().unwrap_or(14);
        p.add(
            "lambda.log_retention_days",
            format!("{} is not a retention CloudWatch Logs accepts", c.lambda.log_retention_days),
            format!("the nearest valid value is {nearest}; valid: {}", join(LOG_RETENTION_DAYS)),
        );
    }
    check_tags(&mut p, c);
    p.0
}

struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: &str, message: String, help: String) {
        self.0.push(Problem { path: path.to_string(), message, help });
    }

    fn range(&mut self, path: &str, v: u32, min: u32, max: u32, unit: &str) {
        if v < min || v > max {
            let side = if v < min { format!("below the minimum {min}") } else { format!("above the maximum {max}") };
            self.add(path, format!("{v} is {side}"), format!("valid: {min} to {max} ({unit})"));
        }
    }
}

fn join(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// The problem with a tenant name, if any.
pub fn name_problem(name: &str) -> Option<Problem> {
    let ok = Regex::new(r"^[a-z][a-z0-9-]{2,30}[a-z0-9]$").is_ok_and(|r| r.is_match(name)) && !name.contains("--");
    (!ok).then(|| Problem {
        path: "name".into(),
        message: format!("`{name}` is not a valid tenant name"),
        help:
            "use 4 to 32 characters of a-z, 0-9 and '-', starting with a letter, not ending with '-' and without '--' \
               (it prefixes stack, table, function and topic-rule names)"
                .into(),
    })
}

/// The problem with a region, if any.
pub fn region_problem(region: &str) -> Option<Problem> {
    if IOT_REGIONS.contains(&region) {
        return None;
    }
    let help = match did_you_mean(region, IOT_REGIONS.iter().copied()) {
        Some(r) => format!("did you mean `{r}`? regions with AWS IoT Core: {}", IOT_REGIONS.join(", ")),
        None => format!("regions with AWS IoT Core: {}", IOT_REGIONS.join(", ")),
    };
    Some(Problem {
        path: "region".into(),
        message: format!("`{region}` is not a region where AWS IoT Core is available"),
        help,
    })
}

fn check_serial_pattern(p: &mut Problems, pattern: &str) {
    let path = "devices.claim_serial_pattern";
    match Regex::new(pattern) {
        Err(e) => {
            let why = e.to_string().lines().last().unwrap_or("invalid").trim().to_string();
            p.add(path, format!("not a valid regular expression: {why}"), "for example `^[A-Z0-9]{8,16}$`".into())
        }
        Ok(_) if !(pattern.starts_with('^') && pattern.ends_with('$')) => p.add(
            path,
            "the pattern is not anchored".into(),
            format!(
                "write it as `^{}$` so a serial must match as a whole",
                pattern.trim_start_matches('^').trim_end_matches('$')
            ),
        ),
        Ok(_) => {}
    }
}

/// Settings that are valid but should not go to production: the blueprints' placeholder origin and `*`.
pub fn warnings(c: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    if c.telemetry.pipeline == super::Pipeline::Direct && c.telemetry.stream_shards != 1 {
        out.push(Problem {
            path: "telemetry.stream_shards".into(),
            message: format!(
                "{} shards are set but `telemetry.pipeline` is `direct`, which has no stream",
                c.telemetry.stream_shards
            ),
            help: "set `telemetry.pipeline: batched` or `packed`, or remove `stream_shards`".into(),
        });
    }
    for (i, o) in c.api.allowed_origins.iter().enumerate() {
        let host = o.split("://").nth(1).unwrap_or("").split(':').next().unwrap_or("");
        let path = format!("api.allowed_origins[{i}]");
        if o == "*" {
            out.push(Problem {
                path,
                message: "`*` lets any web page call the API from a signed-in user's browser".into(),
                help: "list your apps' origins (`https://app.example.org`)".into(),
            });
        } else if host == "example.com" || host.ends_with(".example.com") {
            out.push(Problem {
                path,
                message: format!("`{o}` is the blueprint's placeholder origin"),
                help: "replace it with your app's origin, or remove it when no browser app calls the API".into(),
            });
        }
    }
    out
}

/// `telemetry.batch_window_seconds`: 1 to 300, and only with a pipeline that has a stream.
fn check_batch_window(p: &mut Problems, t: &super::Telemetry) {
    let Some(window) = t.batch_window_seconds else { return };
    if !t.pipeline.streams() {
        let streamed: Vec<String> =
            super::Pipeline::ALL.iter().filter(|p| p.streams()).map(|p| format!("`{}`", p.as_str())).collect();
        p.add(
            "telemetry.batch_window_seconds",
            format!(
                "a batching window is set but `telemetry.pipeline` is `{}`, which has no stream",
                t.pipeline.as_str()
            ),
            format!(
                "the window applies to the pipelines with a stream ({}): set `telemetry.pipeline` to one of them, \
                 or remove `batch_window_seconds`",
                streamed.join(", ")
            ),
        );
        return;
    }
    p.range("telemetry.batch_window_seconds", window, 1, 300, "seconds");
}

fn valid_origin(o: &str) -> bool {
    if o == "*" {
        return true;
    }
    let host_port = if let Some(rest) = o.strip_prefix("https://") {
        rest
    } else if let Some(rest) = o.strip_prefix("http://localhost") {
        return rest.is_empty() || (rest.starts_with(':') && rest[1..].parse::<u16>().is_ok());
    } else {
        return false;
    };
    Regex::new(r"^[a-zA-Z0-9.-]+(:[0-9]{1,5})?$").is_ok_and(|r| r.is_match(host_port))
}

fn check_tags(p: &mut Problems, c: &Config) {
    if c.tags.len() > 45 {
        p.add(
            "tags",
            format!("{} tags; at most 45 fit beside the tool's own", c.tags.len()),
            "remove some tags".into(),
        );
    }
    for (k, v) in &c.tags {
        let path = format!("tags.{k}");
        if k.is_empty() || k.chars().count() > 128 || k.to_lowercase().starts_with("aws:") {
            p.add(
                &path,
                format!("tag key `{k}` is not allowed"),
                "keys are 1 to 128 characters and may not start with `aws:`".into(),
            );
        }
        if v.chars().count() > 256 {
            p.add(&path, "tag value longer than 256 characters".into(), "shorten the value to 256 characters".into());
        }
    }
}
