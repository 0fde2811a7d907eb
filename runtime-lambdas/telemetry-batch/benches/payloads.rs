//! What each blueprint's devices send (the `telemetry` message of docs/backend-contract.md: `{"ts", "msg_id"?,
//! "params"}`), sized like the blueprint's usage profile (`telemetry_bytes` of blueprints/*/usage.yaml) and varied
//! like real devices (values drift per device, device kinds differ), deterministic. The consumer benchmark packs
//! them with `rainmaker_model::telemetry::packed::encode`; `core/src/cost/packed.rs` holds what it measured.

use rainmaker_model::telemetry::packed::{bucket_of, PackedReading};
use serde_json::{json, Map, Value};

/// The blueprints, as their usage profiles name them.
pub const BLUEPRINTS: [&str; 3] = ["smart-home", "water-meter", "industrial-sensor"];

/// Start of the benchmark's batch (ms).
pub const T0: i64 = 1_732_370_000_000;

/// A small deterministic generator (splitmix64).
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A value in `0..n` from (node, reading, field).
fn pick(node: u64, reading: u64, field: u64, n: u64) -> u64 {
    mix(node.wrapping_mul(1_000_003) ^ reading.wrapping_mul(7919) ^ field.wrapping_mul(104_729)) % n.max(1)
}

fn of(choices: &[&'static str], i: u64) -> &'static str {
    choices[i as usize % choices.len()]
}

fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}

const ROOMS: [&str; 6] = ["Living room", "Kitchen", "Bedroom", "Hallway", "Office", "Bathroom"];

/// The thing name of device `i` (each blueprint's `claim_serial_pattern`).
pub fn node_id(blueprint: &str, i: u64) -> String {
    let h = mix(i);
    match blueprint {
        // `^[A-Z0-9]{12}$`: a vendor prefix and the device's MAC-derived suffix
        "smart-home" => format!("A4CF12{:06X}", h % 0x100_0000),
        // `^WM[0-9]{10}$`
        "water-meter" => format!("WM{:010}", h % 10_000_000_000),
        // `^[A-Z]{3}-[0-9]{6,10}$`
        _ => format!("PLT-{:08}", h % 100_000_000),
    }
}

/// `n` distinct nodes of the blueprint that hash to `bucket` (what one packed item holds).
pub fn nodes_of_bucket(blueprint: &str, bucket: u32, n: usize) -> Vec<(u64, String)> {
    let mut out = Vec::with_capacity(n);
    let mut seen = std::collections::HashSet::new();
    let mut i = 0u64;
    while out.len() < n {
        let id = node_id(blueprint, i);
        if bucket_of(&id) == bucket && seen.insert(id.clone()) {
            out.push((i, id));
        }
        i += 1;
    }
    out
}

/// The `params` of reading `r` of device `i`.
pub fn params(blueprint: &str, i: u64, r: u64) -> Map<String, Value> {
    let p = |f: u64, n: u64| pick(i, r, f, n);
    let d = |f: u64, n: u64| pick(i, 0, f, n); // per device, stable across readings
    let v = match blueprint {
        // bulbs, plugs and switches: a state report with energy and link quality
        "smart-home" => match i % 3 {
            0 => json!({"Power": p(1, 4) != 0, "Brightness": p(2, 101), "ColorTemperature": 2700 + 100 * p(3, 38),
                        "Hue": p(4, 360), "Saturation": p(5, 101), "Mode": of(&["white", "color", "scene"], p(6, 3)),
                        "Scene": of(&["Evening", "Reading", "Relax", "Focus"], d(7, 4)),
                        "RSSI": -40 - p(8, 45) as i64, "Uptime": 3600 * d(9, 500) + 900 * r,
                        "FwVersion": format!("2.{}.{}", d(10, 5), d(11, 10)), "Reason": of(&["app", "schedule", "local"], p(12, 3)),
                        "Room": of(&ROOMS, d(14, 6)), "Model": "A19-RGBW-E27", "Seq": 100 * d(15, 1000) + r}),
            1 => json!({"Power": p(1, 3) != 0, "PowerW": round(p(2, 25_000) as f64 / 10.0, 1),
                        "EnergyWh": 100_000 * d(3, 90) + 15 * r + p(4, 15), "Voltage": round(225.0 + p(5, 100) as f64 / 10.0, 1),
                        "Current": round(p(6, 10_000) as f64 / 1000.0, 3), "Overload": false,
                        "RSSI": -40 - p(8, 45) as i64, "Uptime": 3600 * d(9, 500) + 900 * r,
                        "FwVersion": format!("3.{}.{}", d(10, 5), d(11, 10)), "Reason": of(&["app", "schedule", "local"], p(12, 3)),
                        "Room": of(&ROOMS, d(14, 6)), "Model": "PLUG-EU-16A", "Seq": 100 * d(15, 1000) + r}),
            _ => {
                json!({"Power": p(1, 2) != 0, "Channel1": p(2, 2) != 0, "Channel2": p(3, 2) != 0, "Channel3": p(4, 2) != 0,
                        "LastPress": of(&["single", "double", "long"], p(5, 3)), "Presses": 10 * d(6, 1000) + r,
                        "LedMode": of(&["on", "off", "night"], d(7, 3)), "Temperature": round(19.0 + p(13, 80) as f64 / 10.0, 1),
                        "RSSI": -40 - p(8, 45) as i64, "Uptime": 3600 * d(9, 500) + 900 * r,
                        "FwVersion": format!("1.{}.{}", d(10, 5), d(11, 10)), "Reason": of(&["button", "app", "schedule"], p(12, 3)),
                        "Room": of(&ROOMS, d(14, 6)), "Model": "SW3-GANG-EU", "Seq": 100 * d(15, 1000) + r})
            }
        },
        // one cumulative volume reading, the flow, the battery and the leak flag
        "water-meter" => json!({"Volume_l": 1_000 * d(1, 900_000) + 12 * r + p(2, 12), "Flow_lph": p(3, 4) * p(4, 400),
                                 "Battery_mV": 3400 + d(5, 200), "Leak": false}),
        // a machine-condition sensor: temperatures, vibration, electrical, state
        _ => {
            json!({"Temperature_C": round(40.0 + p(1, 4000) as f64 / 100.0, 2), "Ambient_C": round(18.0 + p(2, 150) as f64 / 10.0, 1),
                    "Pressure_kPa": round(380.0 + p(3, 600) as f64 / 10.0, 1), "Humidity_pct": round(30.0 + p(4, 300) as f64 / 10.0, 1),
                    "VibX_mm_s": round(p(5, 5000) as f64 / 1000.0, 3), "VibY_mm_s": round(p(6, 5000) as f64 / 1000.0, 3),
                    "VibZ_mm_s": round(p(7, 5000) as f64 / 1000.0, 3), "Peak_g": round(p(8, 2000) as f64 / 1000.0, 3),
                    "Current_A": round(10.0 + p(9, 500) as f64 / 100.0, 2), "Voltage_V": round(395.0 + p(10, 100) as f64 / 10.0, 1),
                    "Speed_rpm": 1450 + p(11, 60), "Status": of(&["running", "running", "running", "idle"], p(12, 4)),
                    "AlarmBits": if p(13, 50) == 0 { 4 } else { 0 }, "Seq": 360 * d(14, 100_000) + r, "Quality": "good",
                    "Bearing_C": round(45.0 + p(15, 3000) as f64 / 100.0, 2), "Oil_C": round(50.0 + p(16, 2000) as f64 / 100.0, 2),
                    "Load_pct": round(p(17, 1000) as f64 / 10.0, 1), "Runtime_h": 1000 + d(18, 40_000) + r / 360,
                    "Line": of(&["A1", "A2", "B1", "C4"], d(19, 4)), "Station": 1 + d(20, 40)})
        }
    };
    v.as_object().cloned().unwrap_or_default()
}

/// The device's `msg_id` of reading `r` (a device-side counter).
pub fn msg_id(i: u64, r: u64) -> String {
    format!("{:x}", (mix(i) % 0xffff_ffff) + r)
}

/// The device's message of reading `r` as it publishes it (what `telemetry_bytes` measures).
pub fn device_message(blueprint: &str, i: u64, r: u64, ts: i64) -> Value {
    json!({"ts": ts, "msg_id": msg_id(i, r), "params": params(blueprint, i, r)})
}

/// A reading as a packed item holds it: device `i` of a batch that starts at [`T0`] and lasts `span_ms`.
pub fn packed_reading(blueprint: &str, i: u64, node: &str, span_ms: i64) -> PackedReading {
    let received_at = T0 + (mix(i ^ 0xabc) % span_ms.max(1) as u64) as i64;
    PackedReading {
        node_id: node.to_string(),
        ts: received_at - 50 - (mix(i ^ 0xdef) % 400) as i64,
        received_at,
        msg_id: Some(msg_id(i, 0)),
        params: params(blueprint, i, 0),
    }
}

/// Average bytes of the blueprint's device message (compare with its usage profile's `telemetry_bytes`).
pub fn average_message_bytes(blueprint: &str) -> f64 {
    let n = 300u64;
    (0..n).map(|i| device_message(blueprint, i, 0, T0).to_string().len() as f64).sum::<f64>() / n as f64
}
