//! The pure part of the decision: parse the event, check the serial, and judge the allow-list entry against the
//! presented device secret (no AWS calls).

use rainmaker_model::contract::{CLAIM_CLIENT_PREFIX, PROVISIONING_SECRET_PARAM, PROVISIONING_SERIAL_PARAM};
use rainmaker_model::device_secret::{self, DeviceSecret, TenantKey};
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
    #[error("parameter {PROVISIONING_SECRET_PARAM} is missing or empty")]
    NoSecret,
    #[error("serial is not on the allow-list")]
    NotAllowed,
    #[error("the allow-list has no secret for this serial (import it with `rainmaker-deploy serials import`)")]
    NoSecretListed,
    #[error("{PROVISIONING_SECRET_PARAM} does not match the allow-list's")]
    WrongSecret,
    #[error("serial is already provisioned")]
    AlreadyProvisioned,
    #[error("the allow-list entry changed while this request was checked (another device, or an import)")]
    Changed,
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

/// A well-formed request for one serial (`Debug` redacts the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningRequest {
    pub serial: String,
    pub secret: DeviceSecret,
    pub certificate_id: String,
    pub claim_certificate_id: Option<String>,
    pub template_arn: Option<String>,
    pub client_id: Option<String>,
}

/// Parse the event and check the serial against the pattern.
pub fn parse_request(event: &Value, pattern: &SerialPattern) -> Result<ProvisioningRequest, Denial> {
    let ev = Event::deserialize(event)
        .map_err(|e| Denial::Malformed(rainmaker_model::redact::parse_error(&e.to_string())))?;
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
    let secret = match ev.parameters.get(PROVISIONING_SECRET_PARAM) {
        Some(Value::String(s)) if !s.is_empty() => DeviceSecret::new(s.clone()),
        _ => return Err(Denial::NoSecret),
    };
    Ok(ProvisioningRequest {
        serial,
        secret,
        certificate_id: ev.certificate_id,
        claim_certificate_id: ev.claim_certificate_id,
        template_arn: ev.template_arn,
        client_id: ev.client_id,
    })
}

/// What the hook reads of a serial's allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListedSerial {
    pub secret_hmac: Option<String>,
    pub provisioned: bool,
    pub certificate_id: Option<String>,
}

/// Judge a request against the serial's allow-list entry (`None`: not listed). The secret is checked first and
/// always in full ([`device_secret::verify`]); a provisioned serial passes again only for the certificate that
/// provisioned it (a retry after a lost answer).
pub fn judge(key: &TenantKey, req: &ProvisioningRequest, entry: Option<&ListedSerial>) -> Result<(), Denial> {
    let stored = entry.and_then(|e| e.secret_hmac.as_deref());
    let secret_ok = device_secret::verify(key, &req.serial, &req.secret, stored);
    let Some(entry) = entry else { return Err(Denial::NotAllowed) };
    if entry.secret_hmac.is_none() {
        return Err(Denial::NoSecretListed);
    }
    if !secret_ok {
        return Err(Denial::WrongSecret);
    }
    if entry.provisioned && entry.certificate_id.as_deref() != Some(req.certificate_id.as_str()) {
        return Err(Denial::AlreadyProvisioned);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "k7Qw2mZ9xR4tY8uB3nV6pL1sD5fG0hJa";

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
        let req = parse_request(&event(json!({"SerialNumber": "SN-1", "DeviceSecret": SECRET})), &p).unwrap();
        assert_eq!(req.serial, "SN-1");
        assert_eq!(req.secret.expose(), SECRET);
        assert!(!format!("{req:?}").contains(SECRET), "Debug of a request shows no secret");
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
        for missing in [
            json!({"SerialNumber": "SN-1"}),
            json!({"SerialNumber": "SN-1", "DeviceSecret": ""}),
            json!({"SerialNumber": "SN-1", "DeviceSecret": 12345}),
        ] {
            assert_eq!(parse_request(&event(missing), &p), Err(Denial::NoSecret));
        }
    }

    #[test]
    fn judge_table() {
        let key = TenantKey::from_secret_string(&"q".repeat(64)).unwrap();
        let p = SerialPattern::new("").unwrap();
        let req = |secret: &str, cert: &str| {
            let mut ev = event(json!({"SerialNumber": "SN-1", "DeviceSecret": secret}));
            ev["certificateId"] = json!(cert);
            parse_request(&ev, &p).unwrap()
        };
        let listed = |secret: Option<&str>, provisioned: bool, cert: Option<&str>| ListedSerial {
            secret_hmac: secret.map(|s| device_secret::secret_hmac(&key, "SN-1", s)),
            provisioned,
            certificate_id: cert.map(String::from),
        };
        let other = "another-secret-0123456789";
        type Case = (&'static str, ProvisioningRequest, Option<ListedSerial>, Result<(), Denial>);
        let cases: Vec<Case> = vec![
            ("listed, right secret", req(SECRET, "c1"), Some(listed(Some(SECRET), false, None)), Ok(())),
            ("not listed", req(SECRET, "c1"), None, Err(Denial::NotAllowed)),
            ("listed without secret", req(SECRET, "c1"), Some(listed(None, false, None)), Err(Denial::NoSecretListed)),
            ("wrong secret", req(other, "c1"), Some(listed(Some(SECRET), false, None)), Err(Denial::WrongSecret)),
            ("same cert again", req(SECRET, "c1"), Some(listed(Some(SECRET), true, Some("c1"))), Ok(())),
            (
                "other cert, provisioned",
                req(SECRET, "c2"),
                Some(listed(Some(SECRET), true, Some("c1"))),
                Err(Denial::AlreadyProvisioned),
            ),
            (
                "wrong secret on a provisioned serial, same cert",
                req(other, "c1"),
                Some(listed(Some(SECRET), true, Some("c1"))),
                Err(Denial::WrongSecret),
            ),
        ];
        for (what, r, entry, want) in cases {
            assert_eq!(judge(&key, &r, entry.as_ref()), want, "{what}");
        }
    }
}
