//! AWS::IoT::TopicRule: rules triggered and actions executed (5 KB metering, at least one action), driven by the
//! traffic the rule reads (`Metadata.Traffic`: telemetry, presence or binding).

use super::{metered, Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct TopicRule;

const KEYS: &[Key] = &[
    Key {
        name: "monthly_messages",
        default: 0.0,
        doc: "messages that trigger the rule a month (derived from its traffic)",
    },
    Key { name: "message_bytes", default: 200.0, doc: "bytes of one triggering message (metered in 5 KB steps)" },
];

impl Priced for TopicRule {
    fn type_name(&self) -> &'static str {
        "AWS::IoT::TopicRule"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, _r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let triggered = u.get("monthly_messages") * metered(u.get("message_bytes"), 5120.0);
        let actions = u.derived("_actions").unwrap_or(1.0).max(1.0);
        vec![
            Line::new("Rules triggered", "iot.rules_triggered", triggered),
            Line::new(format!("Actions executed ({actions} per trigger)"), "iot.actions_executed", triggered * actions),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::Value;

    #[test]
    fn big_messages_count_once_per_5_kb() {
        let r = resource("R", "AWS::IoT::TopicRule", Value::Null);
        let l = lines_of(&TopicRule, &r, &[("monthly_messages", 1000.0), ("message_bytes", 8000.0), ("_actions", 2.0)]);
        assert_eq!(l[0], Line::new("Rules triggered", "iot.rules_triggered", 2000.0));
        assert_eq!(l[1], Line::new("Actions executed (2 per trigger)", "iot.actions_executed", 4000.0));
    }
}
