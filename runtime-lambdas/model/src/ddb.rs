//! Conversions between JSON / the item types and DynamoDB attribute maps (feature `dynamodb`).
//!
//! Numbers become `N` and come back as integers when they fit an `i64`, else as floats; sets come back as arrays.

use crate::error::ModelError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// JSON value → attribute value.
pub fn to_av(v: &Value) -> AttributeValue {
    match v {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_av).collect()),
        Value::Object(o) => AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
    }
}

/// Attribute value → JSON value.
pub fn from_av(av: &AttributeValue) -> Value {
    match av {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::L(l) => Value::Array(l.iter().map(from_av).collect()),
        AttributeValue::M(m) => Value::Object(map_to_json(m)),
        AttributeValue::Ss(ss) => Value::Array(ss.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(ns) => Value::Array(ns.iter().map(|n| number(n)).collect()),
        AttributeValue::B(b) => Value::Array(b.as_ref().iter().map(|x| Value::from(*x)).collect()),
        _ => Value::Null,
    }
}

fn number(n: &str) -> Value {
    if let Ok(i) = n.parse::<i64>() {
        return Value::from(i);
    }
    n.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number).unwrap_or_else(|| Value::String(n.into()))
}

/// Attribute map → JSON object (keys sorted, so exports are stable).
pub fn map_to_json(m: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    keys.into_iter().map(|k| (k.clone(), from_av(&m[k]))).collect()
}

/// A serializable item type → attribute map. Fails only if `T` does not serialize to a JSON object.
pub fn to_item<T: Serialize>(value: &T) -> Result<Item, ModelError> {
    match serde_json::to_value(value) {
        Ok(Value::Object(o)) => Ok(o.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
        _ => Err(ModelError::BadAttribute("<item>")),
    }
}

/// Attribute map → item type.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, ModelError> {
    serde_json::from_value(Value::Object(map_to_json(item))).map_err(|_| ModelError::BadAttribute("<item>"))
}

/// `S` attribute value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// `N` attribute value.
pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Read a string attribute.
pub fn get_s<'a>(item: &'a Item, name: &'static str) -> Result<&'a str, ModelError> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).ok_or(ModelError::BadAttribute(name))
}

/// Read an integer attribute.
pub fn get_n(item: &Item, name: &'static str) -> Result<i64, ModelError> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).ok_or(ModelError::BadAttribute(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::{Node, Telemetry};
    use serde_json::json;

    #[test]
    fn json_round_trips_through_attribute_values() {
        let v = json!({"a": 1, "b": -2.5, "c": "x", "d": [true, null], "e": {"f": 9007199254740993i64}});
        assert_eq!(from_av(&to_av(&v)), v);
    }

    #[test]
    fn items_round_trip_and_omit_absent_options() {
        let t = Telemetry {
            node_id: "n".into(),
            ts: 1700000000123,
            params: json!({"temp": 21.5}).as_object().unwrap().clone(),
            received_at: 1700000000200,
            expires_at: 1702592000,
            msg_id: None,
        };
        let item = to_item(&t).unwrap();
        assert_eq!(item["ts"], AttributeValue::N("1700000000123".into()));
        assert!(!item.contains_key("msg_id"));
        assert_eq!(from_item::<Telemetry>(&item).unwrap(), t);
    }

    #[test]
    fn from_item_rejects_missing_keys() {
        let item: Item = [("node_id".to_string(), s("n"))].into();
        assert!(from_item::<Node>(&item).is_err());
        assert_eq!(get_s(&item, "node_id").unwrap(), "n");
        assert_eq!(get_n(&item, "ts"), Err(ModelError::BadAttribute("ts")));
    }
}
