//! AWS::WAFv2::WebACL: the web ACL and its rules per month (a managed rule group counts as one rule) and the
//! requests it inspects (those of the resources associated with it).

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;
use serde_json::Value;

pub struct WebAcl;

const KEYS: &[Key] = &[Key {
    name: "monthly_requests",
    default: 0.0,
    doc: "requests inspected a month (derived from the associated REST API)",
}];

/// Rules of the web ACL (`Rules`).
pub fn rule_count(r: &Resource) -> f64 {
    r.prop(&["Rules"]).and_then(Value::as_array).map_or(0.0, |a| a.len() as f64)
}

impl Priced for WebAcl {
    fn type_name(&self) -> &'static str {
        "AWS::WAFv2::WebACL"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let rules = rule_count(r);
        vec![
            Line::new("Web ACL", "waf.web_acls", 1.0),
            Line::new(format!("Rules ({rules})"), "waf.rules", rules),
            Line::new("Requests inspected", "waf.requests", u.get("monthly_requests")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn fixed_monthly_parts_and_requests() {
        let r = resource("Acl", "AWS::WAFv2::WebACL", json!({"Rules": [{"Name": "rate"}, {"Name": "common"}]}));
        let l = lines_of(&WebAcl, &r, &[("monthly_requests", 3e6)]);
        assert_eq!(l[0], Line::new("Web ACL", "waf.web_acls", 1.0));
        assert_eq!(l[1], Line::new("Rules (2)", "waf.rules", 2.0));
        assert_eq!(l[2], Line::new("Requests inspected", "waf.requests", 3e6));
    }
}
