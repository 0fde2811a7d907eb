//! Item types of the six tables. Field names are the attribute names; optional fields are absent, never null.

use serde::{Deserialize, Serialize};

/// `users` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub created_at: i64,
}

/// `nodes` item. `owner_id` is absent while the node is unbound (the `by-owner` GSI is sparse).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub node_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    pub serial: String,
    #[serde(default)]
    pub connected: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_at: Option<i64>,
    /// The current ownership period (`ownership`): set with `owner_id` at bind, removed with it at unbind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_epoch: Option<String>,
    /// The device's certificate, recorded by the provisioning hook; presence and binding accept only its events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
}

/// A user's relation to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Shared,
}

impl Role {
    /// The stored value (`owner` / `shared`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Shared => "shared",
        }
    }

    /// Parse the stored value.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "shared" => Some(Role::Shared),
            _ => None,
        }
    }
}

/// `user_nodes` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserNode {
    pub user_id: String,
    pub node_id: String,
    pub role: Role,
    pub granted_by: String,
    pub granted_at: i64,
    /// The node's `owner_epoch` when the grant was made (absent on items from before epochs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

/// `telemetry` item: one reading of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    pub node_id: String,
    /// Reading time, ms since the epoch (sort key).
    pub ts: i64,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub received_at: i64,
    /// TTL, seconds since the epoch.
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<String>,
}

/// `binding_requests` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingRequest {
    pub binding_code: String,
    pub user_id: String,
    pub node_id: String,
    pub created_at: i64,
    /// TTL, seconds since the epoch.
    pub expires_at: i64,
}

/// `serial_allowlist` item. `Debug` leaves out the secret's HMAC.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialAllowlistEntry {
    pub serial: String,
    #[serde(default)]
    pub provisioned: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_at: Option<i64>,
    /// HMAC of the device secret under the tenant key ([`crate::device_secret::secret_hmac`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hmac: Option<String>,
}

impl std::fmt::Debug for SerialAllowlistEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialAllowlistEntry")
            .field("serial", &self.serial)
            .field("provisioned", &self.provisioned)
            .field("certificate_id", &self.certificate_id)
            .field("provisioned_at", &self.provisioned_at)
            .field("secret_hmac", &self.secret_hmac.as_ref().map(|_| "<set>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unbound_node_has_no_owner_attribute() {
        let n = Node {
            node_id: "SN1".into(),
            owner_id: None,
            serial: "SN1".into(),
            connected: false,
            presence_at: None,
            last_seen_at: Some(5),
            provisioned_at: None,
            owner_epoch: None,
            certificate_id: None,
        };
        assert_eq!(
            serde_json::to_value(&n).unwrap(),
            json!({"node_id": "SN1", "serial": "SN1", "connected": false, "last_seen_at": 5})
        );
    }

    #[test]
    fn role_round_trips() {
        for r in [Role::Owner, Role::Shared] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
