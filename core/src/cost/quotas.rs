//! Default quotas the usage may exceed, each turned into a warning that says what to ask AWS for: concurrent IoT
//! connections, inbound publishes and rule evaluations per second, concurrent Lambda executions (rate ×
//! duration), the REST API account throttle and on-demand table throughput.

use crate::cost::flow::DEVICE_FLEET;
use crate::cost::report::fmt_int;
use crate::cost::usage::{Usage, Values, MONTH_HOURS};

/// Default concurrent client connections per account (AWS IoT Core).
pub const IOT_CONNECTIONS: f64 = 500_000.0;
/// Default inbound publish requests per second per account (AWS IoT Core, large regions).
pub const IOT_PUBLISH_PER_S: f64 = 20_000.0;
/// Default rule evaluations per second per account (AWS IoT Core, large regions).
pub const IOT_RULES_PER_S: f64 = 20_000.0;
/// Default concurrent executions per account and region (AWS Lambda).
pub const LAMBDA_CONCURRENCY: f64 = 1_000.0;
/// Default account-level throttle (Amazon API Gateway), requests per second.
pub const API_RPS: f64 = 10_000.0;
/// Default on-demand throughput per table (Amazon DynamoDB), units per second.
pub const TABLE_UNITS_PER_S: f64 = 40_000.0;

const SECONDS: f64 = MONTH_HOURS * 3600.0;

/// One resource's resolved usage, for the checks.
pub struct Resolved<'a> {
    pub id: &'a str,
    pub type_name: &'a str,
    pub values: &'a Values,
}

fn v(r: &Resolved, key: &str) -> f64 {
    r.values.get(key).copied().unwrap_or(0.0)
}

/// Warnings for every default quota the usage exceeds at peak.
pub fn check(resources: &[Resolved], usage: &Usage) -> Vec<String> {
    let peak = usage.fleet("peak_to_average").max(1.0);
    let mut out = Vec::new();
    let of = |t: &'static str| resources.iter().filter(move |r| r.type_name == t);
    if let Some(fleet) = resources.iter().find(|r| r.id == DEVICE_FLEET) {
        let connected = v(fleet, "_peak_connections");
        if connected > IOT_CONNECTIONS {
            let accounts = (connected / IOT_CONNECTIONS).ceil();
            out.push(format!(
                "AWS IoT Core: {} devices connected at peak exceed the default quota of 500,000 concurrent connections per account; ask AWS (Service Quotas, AWS IoT Core, concurrent client connections) for at least {} before rollout, or spread the fleet over {} accounts",
                fmt_int(connected), fmt_int(connected * 1.2), fmt_int(accounts)
            ));
        }
    }
    let rule_rate: f64 = of("AWS::IoT::TopicRule").map(|r| v(r, "monthly_messages")).sum::<f64>() / SECONDS * peak;
    let publish_rate: f64 =
        of("AWS::IoT::TopicRule").filter(|r| v(r, "_presence") == 0.0).map(|r| v(r, "monthly_messages")).sum::<f64>()
            / SECONDS
            * peak;
    if publish_rate > IOT_PUBLISH_PER_S {
        out.push(format!(
            "AWS IoT Core: about {} publishes a second at peak exceed the default 20,000 inbound publish requests per second per account; ask for at least {}",
            fmt_int(publish_rate), fmt_int(publish_rate * 1.2)
        ));
    }
    if rule_rate > IOT_RULES_PER_S {
        out.push(format!(
            "AWS IoT Core: about {} rule evaluations a second at peak exceed the default 20,000 per account; ask for at least {}",
            fmt_int(rule_rate), fmt_int(rule_rate * 1.2)
        ));
    }
    let concurrency: f64 = of("AWS::Lambda::Function")
        .map(|r| {
            let ms = v(r, "monthly_requests") * v(r, "request_duration_ms") + v(r, crate::cost::read_flow::SCAN_MS_KEY);
            ms / SECONDS / 1000.0 * peak
        })
        .sum();
    if concurrency > LAMBDA_CONCURRENCY {
        out.push(format!(
            "AWS Lambda: about {} concurrent executions at peak (invocations a second × duration × peak factor {peak}) exceed the default 1,000 per account and region; ask for a concurrent executions quota of at least {}",
            fmt_int(concurrency), fmt_int(concurrency * 1.2)
        ));
    }
    let api_rate: f64 = of("AWS::ApiGateway::RestApi").map(|r| v(r, "monthly_requests")).sum::<f64>() / SECONDS * peak;
    if api_rate > API_RPS {
        out.push(format!(
            "Amazon API Gateway: about {} requests a second at peak exceed the default account throttle of 10,000; ask for at least {}",
            fmt_int(api_rate), fmt_int(api_rate * 1.2)
        ));
    }
    for t in of("AWS::DynamoDB::Table") {
        let units = v(t, "monthly_write_units").max(v(t, "monthly_read_units")) / SECONDS * peak;
        if units > TABLE_UNITS_PER_S {
            out.push(format!(
                "Amazon DynamoDB: table {} needs about {} request units a second at peak, above the default on-demand maximum of 40,000 per table; ask for a higher table throughput quota",
                t.id, fmt_int(units)
            ));
        }
    }
    out
}
