//! The documented IoT lifecycle event (`$aws/events/presence/connected|disconnected/<clientId>`).

use serde::Deserialize;
use serde_json::Value;

/// `connected` or `disconnected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Connected,
    Disconnected,
}

/// A lifecycle event as AWS IoT publishes it and the presence rule (`contract::SQL_PRESENCE`) selects it. Fields
/// the function does not need are kept optional; a field outside the documented set refuses the event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LifecycleEvent {
    /// The MQTT client id; for our devices it is the thing name (= node id).
    pub client_id: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub event_type: EventType,
    #[serde(default)]
    pub session_identifier: Option<String>,
    #[serde(default)]
    pub principal_identifier: Option<String>,
    #[serde(default)]
    pub version_number: Option<i64>,
    #[serde(default)]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub client_initiated_disconnect: Option<bool>,
    #[serde(default)]
    pub disconnect_reason: Option<String>,
}

/// Why an event is ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadEvent {
    #[error("not a lifecycle event: {0}")]
    Malformed(String),
    #[error("clientId is not a valid thing name")]
    BadClientId,
    #[error("timestamp must be positive")]
    BadTimestamp,
}

/// Parse and check an event.
pub fn parse(event: Value) -> Result<LifecycleEvent, BadEvent> {
    let ev: LifecycleEvent = serde_json::from_value(event)
        .map_err(|e| BadEvent::Malformed(rainmaker_model::redact::parse_error(&e.to_string())))?;
    let ok_id = !ev.client_id.is_empty()
        && ev.client_id.len() <= 128
        && ev.client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_:-".contains(&b));
    if !ok_id {
        return Err(BadEvent::BadClientId);
    }
    if ev.timestamp <= 0 {
        return Err(BadEvent::BadTimestamp);
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_both_documented_shapes() {
        let c = parse(json!({"clientId": "SN-1", "timestamp": 1573002230757i64, "eventType": "connected",
            "sessionIdentifier": "s", "principalIdentifier": "p", "ipAddress": "192.0.2.0", "versionNumber": 0}))
        .unwrap();
        assert_eq!(c.event_type, EventType::Connected);
        let d = parse(json!({"clientId": "SN-1", "timestamp": 1573002340451i64, "eventType": "disconnected",
            "clientInitiatedDisconnect": true, "disconnectReason": "CLIENT_INITIATED_DISCONNECT", "versionNumber": 0}))
        .unwrap();
        assert_eq!(d.disconnect_reason.as_deref(), Some("CLIENT_INITIATED_DISCONNECT"));
    }

    #[test]
    fn rejects_bad_events() {
        assert!(matches!(parse(json!({"clientId": "a"})), Err(BadEvent::Malformed(_))));
        let crafted = json!({"clientId": "a", "timestamp": 1, "eventType": "connected", "httpMethod": "POST"});
        // refused, and the sender's field name is not echoed into the log line (rainmaker_model::redact)
        assert!(matches!(parse(crafted), Err(BadEvent::Malformed(m))
            if m.contains("unknown field `…`") && !m.contains("httpMethod")));
        assert!(matches!(
            parse(json!({"clientId": "a", "timestamp": 1, "eventType": "subscribed"})),
            Err(BadEvent::Malformed(_))
        ));
        assert_eq!(
            parse(json!({"clientId": "a/b", "timestamp": 1, "eventType": "connected"})),
            Err(BadEvent::BadClientId)
        );
        assert_eq!(
            parse(json!({"clientId": "a", "timestamp": 0, "eventType": "connected"})),
            Err(BadEvent::BadTimestamp)
        );
    }
}
