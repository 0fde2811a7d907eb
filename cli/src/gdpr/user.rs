//! Who the request is about: `--user SUB` or `--email ADDR`, resolved through the user pool.

use super::error::sdk;
use super::{GdprClients, GdprError, Resources};
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput;
use aws_smithy_types::date_time::Format;
use serde_json::{json, Map, Value};

/// How the user was named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// The Cognito `sub` (= the user id in every table).
    Sub(String),
    Email(String),
}

impl UserRef {
    /// Check the value; a quote or control character would break the ListUsers filter.
    pub fn parse(user: Option<&str>, email: Option<&str>) -> Result<UserRef, GdprError> {
        let bad = |s: &str| s.is_empty() || s.chars().any(|c| c == '"' || c == '\\' || c.is_control());
        match (user, email) {
            (Some(u), None) if !bad(u) => Ok(UserRef::Sub(u.to_string())),
            (None, Some(e)) if !bad(e) && e.contains('@') => Ok(UserRef::Email(e.to_string())),
            (Some(_), None) => Err(GdprError::usage("--user", "not a user id", "pass the user's Cognito sub (a UUID)")),
            (None, Some(_)) => {
                Err(GdprError::usage("--email", "not an email address", "pass the address, e.g. a@b.com"))
            }
            _ => Err(GdprError::usage("--user", "name the user once", "pass either --user SUB or --email ADDR")),
        }
    }

    pub fn shown(&self) -> &str {
        match self {
            UserRef::Sub(s) | UserRef::Email(s) => s,
        }
    }
}

/// The user as the pool knows it.
#[derive(Debug, Clone)]
pub struct PoolUser {
    pub username: String,
    pub sub: String,
    /// `cognito.json`.
    pub profile: Value,
}

/// Find the user in the pool (ListUsers with a filter on `sub` or `email`, then AdminGetUser). `None` when the
/// pool has no such user; an email matching several users is an error.
pub async fn find(c: &GdprClients, r: &Resources, who: &UserRef) -> Result<Option<PoolUser>, GdprError> {
    let filter = match who {
        UserRef::Sub(s) => format!("sub = \"{s}\""),
        UserRef::Email(e) => format!("email = \"{e}\""),
    };
    let out = c
        .cognito
        .list_users()
        .user_pool_id(&r.user_pool_id)
        .filter(filter)
        .limit(2)
        .send()
        .await
        .map_err(sdk("Cognito ListUsers"))?;
    let users = out.users();
    if users.len() > 1 {
        return Err(GdprError::usage(
            "--email",
            format!("{} matches more than one user of the pool", who.shown()),
            "pass --user with the user's sub instead",
        ));
    }
    let Some(username) = users.first().and_then(|u| u.username()) else { return Ok(None) };
    let got = c
        .cognito
        .admin_get_user()
        .user_pool_id(&r.user_pool_id)
        .username(username)
        .send()
        .await
        .map_err(sdk("Cognito AdminGetUser"))?;
    let profile = profile(&got);
    let sub = profile["attributes"]["sub"].as_str().map(str::to_string);
    let Some(sub) = sub else {
        return Err(GdprError::Model {
            operation: "Cognito AdminGetUser",
            message: format!("user {username} has no sub attribute"),
            help: "the pool is not a RainMaker user pool; check --user-pool-id".into(),
        });
    };
    Ok(Some(PoolUser { username: username.to_string(), sub, profile }))
}

fn date(d: Option<&aws_smithy_types::DateTime>) -> Value {
    d.and_then(|d| d.fmt(Format::DateTime).ok()).map(Value::String).unwrap_or(Value::Null)
}

/// `cognito.json` from AdminGetUser: attributes as an object with sorted keys.
fn profile(u: &AdminGetUserOutput) -> Value {
    let mut attrs: Vec<(&str, &str)> =
        u.user_attributes().iter().map(|a| (a.name(), a.value().unwrap_or(""))).collect();
    attrs.sort();
    let attributes: Map<String, Value> = attrs.into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({
        "username": u.username(),
        "attributes": attributes,
        "status": u.user_status().map(|s| s.as_str()),
        "enabled": u.enabled(),
        "created_at": date(u.user_create_date()),
        "last_modified_at": date(u.user_last_modified_date()),
        "preferred_mfa": u.preferred_mfa_setting(),
        "mfa_methods": u.user_mfa_setting_list(),
    })
}
