//! Priced resources: one small file per AWS service, each with its usage keys (and defaults) and the cost
//! components (lines) it produces from the template and the resolved usage.

pub mod apigateway;
pub mod cloudwatch_alarm;
pub mod cognito;
pub mod data_transfer;
pub mod dynamodb;
pub mod emf_metrics;
pub mod iot_defender_audit;
pub mod iot_devices;
pub mod iot_provisioning;
pub mod iot_topic_rule;
pub mod kinesis;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod logs_metric_filter;
pub mod s3;
pub mod secretsmanager;
pub mod sqs;
pub mod waf;

use crate::cost::template::Resource;
use crate::cost::usage::{Key, Usage, Values};

/// One cost component before pricing: a quantity (in the price's base unit) of a price id.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub price_id: &'static str,
    pub quantity: f64,
}

impl Line {
    pub fn new(name: impl Into<String>, price_id: &'static str, quantity: f64) -> Line {
        Line { name: name.into(), price_id, quantity: quantity.max(0.0) }
    }
}

/// A resource type the engine prices.
pub trait Priced: Sync {
    /// The CloudFormation type (`AWS::Lambda::Function`).
    fn type_name(&self) -> &'static str;
    /// Usage keys a usage file may set for this type, with defaults. Keys starting with `monthly_` also accept a
    /// `<key>_per_device` form, multiplied by the device count.
    fn usage_keys(&self) -> &'static [Key];
    /// The cost components of one resource.
    fn lines(&self, r: &Resource, u: &ResourceUsage) -> Vec<Line>;
}

/// The usage of one resource, resolved in this order: `resource_usage.<id>` (absolute or `_per_device`), the
/// value the architecture derives (the flow), `resource_type_default_usage.<type>`, the key's built-in default.
pub struct ResourceUsage<'a> {
    pub id: &'a str,
    pub type_name: &'a str,
    pub usage: &'a Usage,
    pub derived: Option<&'a Values>,
    pub keys: &'static [Key],
    pub devices: f64,
}

impl ResourceUsage<'_> {
    /// The resolved value of a declared key (or of a derived-only `_internal` key).
    pub fn get(&self, key: &str) -> f64 {
        if let Some(v) = self.explicit(key) {
            return v;
        }
        if let Some(v) = self.derived.and_then(|d| d.get(key)) {
            return *v;
        }
        if let Some(v) = self.layer(self.usage.type_defaults.get(self.type_name), key) {
            return v;
        }
        self.keys.iter().find(|k| k.name == key).map_or(0.0, |k| k.default)
    }

    /// The value `resource_usage.<id>` sets, if any.
    pub fn explicit(&self, key: &str) -> Option<f64> {
        self.layer(self.usage.resources.get(self.id), key)
    }

    /// A value the flow derived, if any.
    pub fn derived(&self, key: &str) -> Option<f64> {
        self.derived.and_then(|d| d.get(key)).copied()
    }

    fn layer(&self, values: Option<&Values>, key: &str) -> Option<f64> {
        let values = values.filter(|v| !v.is_empty())?;
        values.get(key).copied().or_else(|| values.get(&format!("{key}_per_device")).map(|v| v * self.devices))
    }
}

/// Whole units of `step` bytes a payload of `bytes` is metered as (at least one).
pub fn metered(bytes: f64, step: f64) -> f64 {
    (bytes / step).ceil().max(1.0)
}

/// `name (detail)` when there is a detail.
pub fn named(name: &str, detail: &str) -> String {
    if detail.is_empty() {
        name.to_string()
    } else {
        format!("{name} ({detail})")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::Value;

    pub fn resource(id: &str, type_name: &str, properties: Value) -> Resource {
        Resource {
            logical_id: id.into(),
            type_name: type_name.into(),
            stack: "test".into(),
            properties,
            metadata: Value::Null,
        }
    }

    /// The lines of one resource given its (derived) usage values; other keys take their defaults.
    pub fn lines_of(p: &dyn Priced, r: &Resource, values: &[(&str, f64)]) -> Vec<Line> {
        let usage = Usage::default();
        let derived: Values = values.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let u = ResourceUsage {
            id: &r.logical_id,
            type_name: &r.type_name,
            usage: &usage,
            derived: Some(&derived),
            keys: p.usage_keys(),
            devices: 1.0,
        };
        p.lines(r, &u)
    }

    #[test]
    fn explicit_beats_derived_beats_type_default_beats_builtin() {
        let mut usage = Usage::default();
        let keys: &'static [Key] =
            &[Key { name: "monthly_requests", default: 7.0, doc: "" }, Key { name: "x", default: 1.0, doc: "" }];
        let derived: Values = [("monthly_requests".to_string(), 100.0)].into_iter().collect();
        let mk = |usage: &Usage| {
            let u = ResourceUsage { id: "F", type_name: "T", usage, derived: Some(&derived), keys, devices: 10.0 };
            (u.get("monthly_requests"), u.get("x"))
        };
        assert_eq!(mk(&usage), (100.0, 1.0));
        usage
            .type_defaults
            .insert("T".into(), [("monthly_requests".to_string(), 50.0), ("x".to_string(), 2.0)].into_iter().collect());
        assert_eq!(mk(&usage), (100.0, 2.0), "derived wins over the type default");
        usage.resources.insert("F".into(), [("monthly_requests_per_device".to_string(), 3.0)].into_iter().collect());
        assert_eq!(mk(&usage), (30.0, 2.0), "per-device override × 10 devices");
        usage.resources.insert("F".into(), [("monthly_requests".to_string(), 5.0)].into_iter().collect());
        assert_eq!(mk(&usage), (5.0, 2.0));
    }

    #[test]
    fn metering_rounds_up_to_whole_steps() {
        assert_eq!(metered(0.0, 5120.0), 1.0);
        assert_eq!(metered(5120.0, 5120.0), 1.0);
        assert_eq!(metered(8192.0, 5120.0), 2.0);
        assert_eq!(metered(1025.0, 1024.0), 2.0);
    }
}
