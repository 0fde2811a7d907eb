//! The one event binding-confirm accepts: what the binding rule (`contract::SQL_BINDING`) hands over.
//!
//! Parsed strictly: a top-level field the rule does not produce (say `httpMethod`, or a second `node_id` source)
//! means the event did not come from that rule, and it is refused.

use serde::Deserialize;
use serde_json::Value;

/// `SELECT binding_code, topic(2) AS node_id, timestamp() AS received_at, principal() AS principal`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingEvent {
    /// From the payload; absent when the device sent none (then the rule leaves it out).
    #[serde(default)]
    pub binding_code: Option<Value>,
    /// The thing name from the topic (the device policy lets a device publish only under its own).
    pub node_id: String,
    /// When IoT received the message, ms.
    pub received_at: i64,
    /// The certificate id the device connected with.
    #[serde(default)]
    pub principal: Option<String>,
}

/// Parse a rule event; the error says why it is refused.
pub fn parse(event: Value) -> Result<BindingEvent, String> {
    if !event.is_object() {
        return Err("event is not an object".into());
    }
    serde_json::from_value(event)
        .map_err(|e| format!("not a binding rule event: {}", rainmaker_model::redact::parse_error(&e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_rules_fields_are_accepted() {
        let ok = parse(json!({"binding_code": "A", "node_id": "SN-1", "received_at": 1, "principal": "c"})).unwrap();
        assert_eq!(ok.node_id, "SN-1");
        assert!(parse(json!({"node_id": "SN-1", "received_at": 1})).unwrap().binding_code.is_none());
        let crafted = json!({"binding_code": "A", "node_id": "SN-1", "received_at": 1, "httpMethod": "POST"});
        let refused = parse(crafted).unwrap_err();
        // refused, and the sender's field name is not echoed into the log line (rainmaker_model::redact)
        assert!(refused.contains("unknown field `…`") && !refused.contains("httpMethod"), "{refused}");
        assert!(parse(json!({"binding_code": "A", "received_at": 1})).is_err(), "node_id is rule-derived");
        assert!(parse(json!([1])).is_err());
    }
}
