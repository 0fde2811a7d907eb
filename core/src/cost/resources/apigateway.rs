//! AWS::ApiGateway::RestApi: REST API requests (tiered), from users × API calls per user per day, and the data
//! transfer out of their responses (`data_transfer.rs`). Its methods' Lambda integrations get the invocations;
//! resources, methods, stages and deployments are free.

use super::{data_transfer, Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct RestApi;

const KEYS: &[Key] = &[
    Key {
        name: "monthly_requests",
        default: 0.0,
        doc: "API calls a month (derived: devices × users per device × calls per user per day × 30.4)",
    },
    Key {
        name: data_transfer::RESPONSE_BYTES,
        default: data_transfer::DEFAULT_RESPONSE_BYTES,
        doc: "bytes of one response as sent (JSON body + HTTP headers), billed as data transfer out",
    },
];

impl Priced for RestApi {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::RestApi"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, _r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let requests = u.get("monthly_requests");
        vec![
            Line::new("Requests", "apigateway.rest_requests", requests),
            data_transfer::api_responses(requests, u.get(data_transfer::RESPONSE_BYTES)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn requests() {
        let r = resource("Api", "AWS::ApiGateway::RestApi", json!({}));
        let l = lines_of(&RestApi, &r, &[("monthly_requests", 12.0), ("response_bytes", 2048.0)]);
        assert_eq!(l[0], Line::new("Requests", "apigateway.rest_requests", 12.0));
        assert_eq!(
            l[1],
            Line::new(
                "Data transfer out (responses, 2048 B each)",
                "data_transfer.out_internet",
                12.0 * 2048.0 / (1u64 << 30) as f64
            )
        );
    }
}
