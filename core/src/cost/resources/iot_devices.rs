//! The device fleet (logical id `DeviceFleet`): what the devices themselves cost in AWS IoT Core — connection
//! minutes, messages (5 KB metering; Basic Ingest telemetry is not metered) and Device Shadow operations (1 KB
//! metering). It is priced whenever the templates hold AWS IoT resources; the things come from fleet provisioning.

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct DeviceFleet;

/// The type shown for the device fleet.
pub const TYPE: &str = "AWS::IoT::Thing";

const KEYS: &[Key] = &[
    Key {
        name: "monthly_connection_minutes",
        default: 0.0,
        doc: "connection minutes a month (devices × connected minutes a day × 30.4)",
    },
    Key {
        name: "monthly_messages",
        default: 0.0,
        doc: "metered messages a month (telemetry off Basic Ingest, downlink, shadow responses)",
    },
    Key {
        name: "monthly_shadow_operations",
        default: 0.0,
        doc: "metered shadow operations a month (device updates and API reads/updates)",
    },
];

impl Priced for DeviceFleet {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, _r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let mut lines = vec![Line::new("Connectivity", "iot.connectivity", u.get("monthly_connection_minutes"))];
        let split = [
            "_telemetry_messages",
            "_downlink_messages",
            "_shadow_messages",
            "_session_messages",
            "_puback_messages",
            "_lifecycle_messages",
        ]
        .map(|k| u.derived(k));
        match (u.explicit("monthly_messages"), split) {
            (None, [Some(t), Some(d), Some(s), session, puback, lifecycle]) => {
                let telemetry =
                    if t == 0.0 { "Telemetry messages (Basic Ingest: not metered)" } else { "Telemetry messages" };
                lines.push(Line::new(telemetry, "iot.messaging", t));
                lines.push(Line::new("Downlink messages", "iot.messaging", d));
                lines.push(Line::new("Shadow messages (updates, responses, deltas)", "iot.messaging", s));
                for (name, v) in [
                    ("CONNECT + SUBSCRIBE per (re)connect", session),
                    ("PUBACKs from devices (QoS 1)", puback),
                    ("Lifecycle events", lifecycle),
                ] {
                    if let Some(v) = v {
                        lines.push(Line::new(name, "iot.messaging", v));
                    }
                }
            }
            _ => lines.push(Line::new("Messages", "iot.messaging", u.get("monthly_messages"))),
        }
        lines.push(Line::new("Device Shadow operations", "iot.shadow_ops", u.get("monthly_shadow_operations")));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::Value;

    #[test]
    fn splits_messages_by_origin() {
        let r = resource("DeviceFleet", TYPE, Value::Null);
        let l = lines_of(
            &DeviceFleet,
            &r,
            &[
                ("monthly_connection_minutes", 43_800.0),
                ("monthly_messages", 3.0),
                ("_telemetry_messages", 0.0),
                ("_downlink_messages", 1.0),
                ("_shadow_messages", 2.0),
                ("monthly_shadow_operations", 4.0),
            ],
        );
        assert_eq!(l[0], Line::new("Connectivity", "iot.connectivity", 43_800.0));
        assert_eq!(l[1].name, "Telemetry messages (Basic Ingest: not metered)");
        assert_eq!(l[3], Line::new("Shadow messages (updates, responses, deltas)", "iot.messaging", 2.0));
        assert_eq!(l[4], Line::new("Device Shadow operations", "iot.shadow_ops", 4.0));
        let l = lines_of(&DeviceFleet, &r, &[("monthly_messages", 9.0)]);
        assert_eq!(l[1], Line::new("Messages", "iot.messaging", 9.0));
    }
}
