//! AWS::ApiGateway::RestApi: REST API requests (tiered), from users × API calls per user per day. Its methods'
//! Lambda integrations get the invocations; resources, methods, stages and deployments are free.

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct RestApi;

const KEYS: &[Key] = &[Key {
    name: "monthly_requests",
    default: 0.0,
    doc: "API calls a month (derived: devices × users per device × calls per user per day × 30.4)",
}];

impl Priced for RestApi {
    fn type_name(&self) -> &'static str {
        "AWS::ApiGateway::RestApi"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, _r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        vec![Line::new("Requests", "apigateway.rest_requests", u.get("monthly_requests"))]
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
        assert_eq!(
            lines_of(&RestApi, &r, &[("monthly_requests", 12.0)]),
            vec![Line::new("Requests", "apigateway.rest_requests", 12.0)]
        );
    }
}
