//! AWS::SecretsManager::Secret: one secret stored a month. Its API calls (the provisioning hook reads the serial key
//! once per cold start, `serials import` once per run) are a few thousand a month at most, under $0.05 per 10,000:
//! not priced.

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct Secret;

impl Priced for Secret {
    fn type_name(&self) -> &'static str {
        "AWS::SecretsManager::Secret"
    }
    fn usage_keys(&self) -> &'static [Key] {
        &[]
    }
    fn lines(&self, _r: &Resource, _u: &ResourceUsage) -> Vec<Line> {
        vec![Line::new("Secret stored", "secretsmanager.secrets", 1.0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn one_secret_a_month() {
        let s = resource("S", "AWS::SecretsManager::Secret", json!({"Name": "rm-x-serial-key"}));
        assert_eq!(lines_of(&Secret, &s, &[]), vec![Line::new("Secret stored", "secretsmanager.secrets", 1.0)]);
    }
}
