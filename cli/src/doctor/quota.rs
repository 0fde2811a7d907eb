//! The service quotas a tenant depends on and what a value means for one more tenant (pure, table-tested).
//!
//! Values come from the Service Quotas API where it has them (the applied value, else the AWS default); otherwise
//! the documented default below is used and said so. The documented figures are those of the AWS General
//! Reference's quota pages for Lambda and AWS IoT Core (docs/install.md lists them with the checks).

use super::{Check, Status};
use serde::Serialize;

/// One quota the blueprint depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// The check is named `quota.<key>`.
    pub key: &'static str,
    pub title: &'static str,
    /// Service Quotas' service code (`lambda`, `iotcore`).
    pub service_code: &'static str,
    /// Service Quotas' quota code, when it is known; else the quota is found by [`Quota::name_hints`].
    pub quota_code: Option<&'static str>,
    /// Lower-case fragments one of which a quota's name contains when it is this one (used without a code).
    pub name_hints: &'static [&'static str],
    /// The documented default; `None` when no per-account limit is documented.
    pub documented: Option<f64>,
    /// Below this value the account works but is under-provisioned (new accounts often are): warn.
    pub recommended: Option<f64>,
}

/// Lambda concurrent executions: the five functions share the account's unreserved pool (Lambda keeps 10
/// unreserved); new accounts can start far below the documented 1,000.
pub const LAMBDA_CONCURRENCY: Quota = Quota {
    key: "lambda-concurrency",
    title: "Lambda concurrent executions",
    service_code: "lambda",
    quota_code: Some("L-B99A9384"),
    name_hints: &["concurrent executions"],
    documented: Some(1000.0),
    recommended: Some(1000.0),
};

/// IoT topic rules per account and region (each tenant creates three).
pub const IOT_TOPIC_RULES: Quota = Quota {
    key: "iot-topic-rules",
    title: "IoT topic rules",
    service_code: "iotcore",
    quota_code: None,
    name_hints: &["rules per account", "number of rules"],
    documented: Some(1000.0),
    recommended: None,
};

/// IoT policies: no per-account limit is documented (a certificate can have 10 attached; the blueprint attaches
/// one to each device certificate and one to the claim certificate).
pub const IOT_POLICIES: Quota = Quota {
    key: "iot-policies",
    title: "IoT policies",
    service_code: "iotcore",
    quota_code: None,
    name_hints: &["policies per account", "number of policies"],
    documented: None,
    recommended: None,
};

/// IoT things: no per-account limit is documented (fleet provisioning creates one per device).
pub const IOT_THINGS: Quota = Quota {
    key: "iot-things",
    title: "IoT things",
    service_code: "iotcore",
    quota_code: None,
    name_hints: &["things per account", "number of things"],
    documented: None,
    recommended: None,
};

/// Every quota `doctor` checks, in report order.
pub const ALL: [Quota; 4] = [IOT_THINGS, IOT_POLICIES, IOT_TOPIC_RULES, LAMBDA_CONCURRENCY];

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Service Quotas' applied value for this account.
    Applied,
    /// Service Quotas' AWS default (no applied value for this account).
    AwsDefault,
    /// Not available from Service Quotas: the documented default, with why.
    Documented { why: String },
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Applied => "applied value, Service Quotas".into(),
            Source::AwsDefault => "AWS default, Service Quotas".into(),
            Source::Documented { why } => format!("documented default; {why}"),
        }
    }
}

/// What was observed for one quota.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// `None`: no per-account limit.
    pub value: Option<f64>,
    pub source: Source,
    /// How many the account has now (other tenants included; this tenant's own excluded), when counted.
    pub used: Option<u64>,
    /// How many one more tenant (or this one's first apply) adds, when known.
    pub need: Option<u64>,
}

/// Does a Service Quotas name denote `q`?
pub fn matches_name(q: &Quota, name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    q.name_hints.iter().any(|h| n.contains(h))
}

/// The check for one quota: fail when what is used plus what the tenant adds exceeds the value, warn above 80 %
/// of it or below the recommended value, ok otherwise.
pub fn verdict(q: &Quota, o: &Observed) -> Check {
    let name = format!("quota.{}", q.key);
    let increase = format!(
        "request an increase of \"{}\" ({}{}) in the Service Quotas console, or `aws service-quotas \
         request-service-quota-increase`",
        q.title,
        q.service_code,
        q.quota_code.map(|c| format!(" {c}")).unwrap_or_default()
    );
    let counts = match (o.used, o.need) {
        (Some(u), Some(n)) => format!("; {u} in use, this tenant adds {n}"),
        (Some(u), None) => format!("; {u} in use"),
        (None, Some(n)) => format!("; this tenant adds {n}"),
        (None, None) => String::new(),
    };
    let Some(value) = o.value else {
        return Check::ok(&name, format!("{}: no per-account limit ({}){counts}", q.title, o.source.describe()));
    };
    let detail = format!("{}: {} ({}){counts}", q.title, fmt(value), o.source.describe());
    let total = o.used.unwrap_or(0) + o.need.unwrap_or(0);
    let status = if total as f64 > value {
        Status::Fail
    } else if total as f64 > 0.8 * value || q.recommended.is_some_and(|r| value < r) {
        Status::Warn
    } else {
        Status::Ok
    };
    match status {
        Status::Ok => Check::ok(&name, detail),
        Status::Warn if q.recommended.is_some_and(|r| value < r) => Check::warn(
            &name,
            format!(
                "{detail}; below the usual {}: invocations beyond it are throttled",
                fmt(q.recommended.unwrap_or(0.0))
            ),
            increase,
        ),
        Status::Warn => Check::warn(&name, format!("{detail}; over 80 % used after this tenant"), increase),
        Status::Fail => Check::fail(&name, format!("{detail}; {total} would exceed it"), increase),
    }
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(value: Option<f64>, source: Source, used: Option<u64>, need: Option<u64>) -> Observed {
        Observed { value, source, used, need }
    }

    #[test]
    fn verdicts() {
        let doc = || Source::Documented { why: "Service Quotas has none: NoSuchResourceException".into() };
        let cases: &[(Quota, Observed, Status, &str)] = &[
            (IOT_TOPIC_RULES, obs(Some(1000.0), doc(), Some(0), Some(3)), Status::Ok, "1000 (documented default"),
            (IOT_TOPIC_RULES, obs(Some(1000.0), Source::Applied, Some(800), Some(3)), Status::Warn, "over 80 %"),
            (IOT_TOPIC_RULES, obs(Some(1000.0), Source::AwsDefault, Some(998), Some(3)), Status::Fail, "1001 would"),
            (IOT_TOPIC_RULES, obs(Some(5.0), Source::Applied, None, Some(3)), Status::Ok, "this tenant adds 3"),
            (LAMBDA_CONCURRENCY, obs(Some(1000.0), Source::Applied, None, None), Status::Ok, "1000 (applied"),
            (LAMBDA_CONCURRENCY, obs(Some(10.0), Source::Applied, None, None), Status::Warn, "below the usual 1000"),
            (LAMBDA_CONCURRENCY, obs(Some(5000.0), Source::AwsDefault, None, None), Status::Ok, "AWS default"),
            (IOT_THINGS, obs(None, doc(), None, None), Status::Ok, "no per-account limit"),
            (IOT_POLICIES, obs(None, doc(), Some(40), Some(2)), Status::Ok, "40 in use, this tenant adds 2"),
        ];
        for (q, o, want, fragment) in cases {
            let c = verdict(q, o);
            assert_eq!(c.status, *want, "{c:?}");
            assert!(c.detail.contains(fragment), "{fragment:?} not in {c:?}");
            assert_eq!(c.fix.is_some(), *want != Status::Ok, "{c:?}");
            if let (Some(fix), Some(code)) = (&c.fix, q.quota_code) {
                assert!(fix.contains(code), "{fix}");
            }
        }
    }

    #[test]
    fn names_are_matched_loosely() {
        assert!(matches_name(&LAMBDA_CONCURRENCY, "Concurrent executions"));
        assert!(matches_name(&IOT_TOPIC_RULES, "Maximum number of rules"));
        assert!(matches_name(&IOT_TOPIC_RULES, "Rules per account"));
        assert!(!matches_name(&IOT_TOPIC_RULES, "Rule actions per rule"));
        assert!(!matches_name(&IOT_POLICIES, "Maximum number of policy versions"));
    }
}
