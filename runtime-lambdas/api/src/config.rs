//! api settings: `BINDING_CODE_TTL_SECONDS`, `SHARING_ENABLED`, `ALLOWED_ORIGINS`, and the IoT data-plane endpoint.

use rainmaker_model::contract::{ENV_ALLOWED_ORIGINS, ENV_BINDING_CODE_TTL_SECONDS, ENV_SHARING_ENABLED};
use rainmaker_model::ModelError;

/// Behaviour switches of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Lifetime of a binding code, seconds.
    pub binding_code_ttl_seconds: i64,
    /// Whether owners may share nodes.
    pub sharing_enabled: bool,
    /// Origins that get CORS headers (`*` for any).
    pub allowed_origins: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { binding_code_ttl_seconds: 600, sharing_enabled: true, allowed_origins: Vec::new() }
    }
}

impl Settings {
    /// Read the settings through `lookup`; unset variables keep their defaults, invalid ones are errors.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ModelError> {
        let mut s = Settings::default();
        if let Some(raw) = lookup(ENV_BINDING_CODE_TTL_SECONDS).filter(|v| !v.trim().is_empty()) {
            s.binding_code_ttl_seconds =
                raw.trim().parse().ok().filter(|v| (30..=86_400).contains(v)).ok_or_else(|| {
                    ModelError::InvalidEnv {
                        name: ENV_BINDING_CODE_TTL_SECONDS,
                        reason: format!("{raw:?} is not in 30..=86400"),
                    }
                })?;
        }
        if let Some(raw) = lookup(ENV_SHARING_ENABLED).filter(|v| !v.trim().is_empty()) {
            s.sharing_enabled = match raw.trim() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(ModelError::InvalidEnv {
                        name: ENV_SHARING_ENABLED,
                        reason: format!("{raw:?} is not true/false"),
                    })
                }
            };
        }
        if let Some(raw) = lookup(ENV_ALLOWED_ORIGINS) {
            s.allowed_origins = raw.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_string).collect();
        }
        Ok(s)
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if it is allowed.
    pub fn cors_origin(&self, origin: Option<&str>) -> Option<String> {
        let origin = origin?;
        if self.allowed_origins.iter().any(|o| o == "*") {
            return Some("*".into());
        }
        self.allowed_origins.iter().find(|o| o.as_str() == origin).cloned()
    }
}

/// The endpoint URL for the IoT data-plane client: `None` keeps the SDK's own choice. An endpoint from the
/// SDK configuration (`AWS_ENDPOINT_URL`) wins; otherwise `IOT_DATA_ENDPOINT` (a host name) gets `https://`.
pub fn iot_data_endpoint_url(sdk_endpoint: Option<&str>, iot_data_endpoint: Option<&str>) -> Option<String> {
    if sdk_endpoint.is_some_and(|e| !e.is_empty()) {
        return None;
    }
    let host = iot_data_endpoint.map(str::trim).filter(|h| !h.is_empty())?;
    Some(if host.contains("://") { host.to_string() } else { format!("https://{host}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_endpoint_url_wins_over_iot_data_endpoint() {
        assert_eq!(
            iot_data_endpoint_url(Some("http://127.0.0.1:5000"), Some("abc-ats.iot.eu-west-1.amazonaws.com")),
            None
        );
        assert_eq!(
            iot_data_endpoint_url(None, Some("abc-ats.iot.eu-west-1.amazonaws.com")).as_deref(),
            Some("https://abc-ats.iot.eu-west-1.amazonaws.com")
        );
        assert_eq!(iot_data_endpoint_url(None, Some(" ")), None);
        assert_eq!(iot_data_endpoint_url(None, None), None);
    }

    #[test]
    fn settings_parse_strictly() {
        assert_eq!(Settings::from_lookup(|_| None).unwrap(), Settings::default());
        let s = Settings::from_lookup(|k| Some(if k == ENV_SHARING_ENABLED { "false" } else { "120" }.into())).unwrap();
        assert_eq!((s.binding_code_ttl_seconds, s.sharing_enabled), (120, false));
        assert!(Settings::from_lookup(|k| (k == ENV_SHARING_ENABLED).then(|| "yes".into())).is_err());
        assert!(Settings::from_lookup(|k| (k == ENV_BINDING_CODE_TTL_SECONDS).then(|| "5".into())).is_err());
    }

    #[test]
    fn cors_only_for_listed_origins() {
        let s = Settings::from_lookup(|k| {
            (k == ENV_ALLOWED_ORIGINS).then(|| "https://app.example, https://b.example".into())
        })
        .unwrap();
        assert_eq!(s.cors_origin(Some("https://b.example")).as_deref(), Some("https://b.example"));
        assert_eq!(s.cors_origin(Some("https://evil.example")), None);
        assert_eq!(s.cors_origin(None), None);
        assert_eq!(Settings::default().cors_origin(Some("https://app.example")), None);
        let any = Settings::from_lookup(|k| (k == ENV_ALLOWED_ORIGINS).then(|| "*".into())).unwrap();
        assert_eq!(any.cors_origin(Some("https://x.example")).as_deref(), Some("*"));
    }
}
