//! The pure part of the decision: parse the event and check the serial (no AWS calls).

use rainmaker_model::contract::{CLAIM_CLIENT_PREFIX, PROVISIONING_SERIAL_PARAM};
use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Why a device is not provisioned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("malformed event: {0}")]
    Malformed(String),
    #[error("parameter {PROVISIONING_SERIAL_PARAM} is missing or empty")]
    NoSerial,
    #[error("serial {0:?} does not match SERIAL_PATTERN")]
    PatternMismatch(String),
    #[error("serial {0:?} is in the claim connections' client-id namespace ({CLAIM_CLIENT_PREFIX}*)")]
    ClaimNamespace(String),
    #[error("serial is not on the allow-list")]
    NotAllowed,
    #[error("serial is already provisioned")]
    AlreadyProvisioned,
    #[error("allow-list check failed: {0}")]
    Store(String),
}

/// The longest serial accepted (an IoT thing name is at most 128 characters).
const MAX_SERIAL_LEN: usize = 128;

/// The serial pattern, anchored: the whole serial must match.
#[derive(Debug, Clone)]
pub struct SerialPattern(Option<Regex>);

impl SerialPattern {
    /// Compile `pattern` as `^(?:pattern)$`; an empty pattern accepts every serial.
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        if pattern.trim().is_empty() {
            return Ok(SerialPattern(None));
        }
        let p = pattern.trim_start_matches('^').trim_end_matches('$');
        Ok(SerialPattern(Some(Regex::new(&format!("^(?:{p})$"))?)))
    }

    /// Whether `serial` matches.
    pub fn matches(&self, serial: &str) -> bool {
        self.0.as_ref().is_none_or(|r| r.is_match(serial))
    }
}

/// The documented pre-provisioning hook event; a field outside it refuses the event (`Denial::Malformed`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // certificate_pem: accepted, not used
struct Event {
    #[serde(default)]
    claim_certificate_id: Option<String>,
    certificate_id: String,
    #[serde(default)]
    certificate_pem: Option<String>,
    #[serde(default)]
    template_arn: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// A well-formed request for one serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningRequest {
    pub serial: String,
    pub certificate_id: String,
    pub claim_certificate_id: Option<String>,
    pub template_arn: Option<String>,
    pub client_id: Option<String>,
}

/// Parse the event and check the serial against the pattern.
pub fn parse_request(event: &Value, pattern: &SerialPattern) -> Result<ProvisioningRequest, Denial> {
    let ev = Event::deserialize(event).map_err(|e| Denial::Malformed(e.to_string()))?;
    if ev.certificate_id.is_empty() {
        return Err(Denial::Malformed("certificateId is empty".into()));
    }
    let serial = match ev.parameters.get(PROVISIONING_SERIAL_PARAM) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(Denial::NoSerial),
    };
    if serial.starts_with(CLAIM_CLIENT_PREFIX) {
        return Err(Denial::ClaimNamespace(serial.chars().take(MAX_SERIAL_LEN).collect()));
    }
    if serial.len() > MAX_SERIAL_LEN || !pattern.matches(&serial) {
        return Err(Denial::PatternMismatch(serial.chars().take(MAX_SERIAL_LEN).collect()));
    }
    Ok(ProvisioningRequest {
        serial,
        certificate_id: ev.certificate_id,
        claim_certificate_id: ev.claim_certificate_id,
        template_arn: ev.template_arn,
        client_id: ev.client_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(params: Value) -> Value {
        json!({
            "claimCertificateId": "claim", "certificateId": "cert", "certificatePem": "pem",
            "templateArn": "arn:aws:iot:us-east-1:123456789012:provisioningtemplate/T", "clientId": "c",
            "parameters": params
        })
    }

    #[test]
    fn pattern_is_anchored() {
        let p = SerialPattern::new("[A-Z]{2}[0-9]{4}").unwrap();
        assert!(p.matches("AB1234"));
        assert!(!p.matches("xAB1234"));
        assert!(!p.matches("AB12345"));
        assert!(SerialPattern::new("^AB$").unwrap().matches("AB"));
        assert!(SerialPattern::new("").unwrap().matches("anything"));
        assert!(SerialPattern::new("(").is_err());
    }

    #[test]
    fn parses_the_documented_event() {
        let p = SerialPattern::new("SN-[0-9]+").unwrap();
        let req = parse_request(&event(json!({"SerialNumber": "SN-1"})), &p).unwrap();
        assert_eq!(req.serial, "SN-1");
        assert_eq!(req.certificate_id, "cert");
        assert_eq!(req.client_id.as_deref(), Some("c"));
    }

    #[test]
    fn denies_bad_input() {
        let p = SerialPattern::new("SN-[0-9]+").unwrap();
        assert_eq!(parse_request(&event(json!({})), &p), Err(Denial::NoSerial));
        assert_eq!(parse_request(&event(json!({"SerialNumber": 5})), &p), Err(Denial::NoSerial));
        assert!(matches!(parse_request(&event(json!({"SerialNumber": "XX"})), &p), Err(Denial::PatternMismatch(_))));
        assert!(matches!(parse_request(&json!([1, 2]), &p), Err(Denial::Malformed(_))));
        assert!(matches!(parse_request(&json!({"parameters": {}}), &p), Err(Denial::Malformed(_))));
        let long = "SN-".to_string() + &"1".repeat(200);
        assert!(matches!(parse_request(&event(json!({"SerialNumber": long})), &p), Err(Denial::PatternMismatch(_))));
    }
}
