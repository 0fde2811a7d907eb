//! AWS::SQS::Queue: requests (64 KB chunks), standard or FIFO. The dead-letter queue of the topic rules gets the
//! failed actions' messages.

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;
use serde_json::Value;

pub struct SqsQueue;

const KEYS: &[Key] = &[Key {
    name: "monthly_requests",
    default: 0.0,
    doc: "API requests a month (send, receive, delete; 64 KB chunks), derived from the rules' error actions",
}];

impl Priced for SqsQueue {
    fn type_name(&self) -> &'static str {
        "AWS::SQS::Queue"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let fifo = r.prop(&["FifoQueue"]).is_some_and(|v| v == &Value::Bool(true) || v.as_str() == Some("true"));
        let (name, price) = if fifo { ("Requests (FIFO)", "sqs.fifo_requests") } else { ("Requests", "sqs.requests") };
        vec![Line::new(name, price, u.get("monthly_requests"))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn standard_and_fifo() {
        let q = resource("Q", "AWS::SQS::Queue", json!({}));
        assert_eq!(
            lines_of(&SqsQueue, &q, &[("monthly_requests", 5.0)]),
            vec![Line::new("Requests", "sqs.requests", 5.0)]
        );
        let q = resource("Q", "AWS::SQS::Queue", json!({"FifoQueue": true}));
        assert_eq!(lines_of(&SqsQueue, &q, &[]), vec![Line::new("Requests (FIFO)", "sqs.fifo_requests", 0.0)]);
    }
}
