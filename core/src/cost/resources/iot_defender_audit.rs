//! AWS::IoT::AccountAuditConfiguration: Device Defender audit, priced per device a month (the scheduled audits it
//! runs are included).

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct DefenderAudit;

impl Priced for DefenderAudit {
    fn type_name(&self) -> &'static str {
        "AWS::IoT::AccountAuditConfiguration"
    }
    fn usage_keys(&self) -> &'static [Key] {
        &[]
    }
    fn lines(&self, _r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        vec![Line::new("Audited devices", "iot.defender_audit", u.devices)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::resource;
    use crate::cost::usage::Usage;
    use serde_json::json;

    #[test]
    fn priced_per_device() {
        let r = resource("Audit", "AWS::IoT::AccountAuditConfiguration", json!({}));
        let usage = Usage::default();
        let u = ResourceUsage {
            id: "Audit",
            type_name: "AWS::IoT::AccountAuditConfiguration",
            usage: &usage,
            derived: None,
            keys: &[],
            devices: 1000.0,
        };
        assert_eq!(DefenderAudit.lines(&r, &u), vec![Line::new("Audited devices", "iot.defender_audit", 1000.0)]);
    }
}
