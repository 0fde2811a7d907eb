//! AWS::IoT::ProvisioningTemplate: fleet provisioning by claim, once per new device — the MQTT messages of
//! CreateKeysAndCertificate and RegisterThing (request and response each) and the registry operations that create
//! the thing and attach its certificate and policy. The pre-provisioning hook's invocations flow to its function.

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct ProvisioningTemplate;

/// Messages per provisioning: two requests and two responses.
pub const MESSAGES_PER_PROVISIONING: f64 = 4.0;
/// Registry operations per provisioning: create thing, attach principal, attach policy.
pub const REGISTRY_OPS_PER_PROVISIONING: f64 = 3.0;

const KEYS: &[Key] = &[Key {
    name: "monthly_provisionings",
    default: 0.0,
    doc: "devices provisioned a month (derived: fleet.new_devices_percent_per_month of the fleet)",
}];

impl Priced for ProvisioningTemplate {
    fn type_name(&self) -> &'static str {
        "AWS::IoT::ProvisioningTemplate"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, _r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let n = u.get("monthly_provisionings");
        vec![
            Line::new("Provisioning messages (4 per device)", "iot.messaging", n * MESSAGES_PER_PROVISIONING),
            Line::new("Registry operations (3 per device)", "iot.registry_ops", n * REGISTRY_OPS_PER_PROVISIONING),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::Value;

    #[test]
    fn per_new_device() {
        let r = resource("P", "AWS::IoT::ProvisioningTemplate", Value::Null);
        let l = lines_of(&ProvisioningTemplate, &r, &[("monthly_provisionings", 100.0)]);
        assert_eq!(l[0].quantity, 400.0);
        assert_eq!(l[1], Line::new("Registry operations (3 per device)", "iot.registry_ops", 300.0));
    }
}
