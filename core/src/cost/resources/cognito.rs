//! AWS::Cognito::UserPool: monthly active users at the pool's feature tier (`UserPoolTier`: LITE, ESSENTIALS —
//! the default for new pools — or PLUS), from devices × users per device × the share active in a month.

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;
use serde_json::Value;

pub struct UserPool;

const KEYS: &[Key] = &[Key {
    name: "monthly_active_users",
    default: 0.0,
    doc: "users who sign in during a month (derived: devices × users per device × monthly active %)",
}];

/// The pool's tier and its price id.
pub fn tier(r: &Resource) -> (&'static str, &'static str) {
    match r.prop(&["UserPoolTier"]).and_then(Value::as_str) {
        Some("LITE") => ("Lite", "cognito.mau_lite"),
        Some("PLUS") => ("Plus", "cognito.mau_plus"),
        _ => ("Essentials", "cognito.mau_essentials"),
    }
}

impl Priced for UserPool {
    fn type_name(&self) -> &'static str {
        "AWS::Cognito::UserPool"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let (name, price) = tier(r);
        vec![Line::new(format!("Monthly active users ({name} tier)"), price, u.get("monthly_active_users"))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn tier_from_the_template() {
        let r = resource("Pool", "AWS::Cognito::UserPool", json!({"UserPoolTier": "LITE"}));
        assert_eq!(lines_of(&UserPool, &r, &[("monthly_active_users", 5.0)])[0].price_id, "cognito.mau_lite");
        let r = resource("Pool", "AWS::Cognito::UserPool", json!({}));
        assert_eq!(lines_of(&UserPool, &r, &[])[0].name, "Monthly active users (Essentials tier)");
    }
}
