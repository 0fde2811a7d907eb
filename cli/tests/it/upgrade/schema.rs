//! A small JSON Schema check (no validator crate in the lock file): `type` (one or a list), `required`,
//! `properties`, `items`, `additionalProperties` and local `$ref`s, which is all docs/upgrade-report.schema.json uses.

use serde_json::Value;

/// Every violation of `schema` by `v`, as `path: problem`.
pub fn violations(v: &Value, schema: &Value, root: &Value, path: &str) -> Vec<String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = r.strip_prefix("#").and_then(|p| root.pointer(p)).unwrap_or_else(|| panic!("bad $ref {r}"));
        return violations(v, target, root, path);
    }
    let mut out = Vec::new();
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let is = |ty: &str| match ty {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        };
        if !types.iter().any(|ty| is(ty)) {
            out.push(format!("{path}: {v} is not {types:?}"));
            return out;
        }
    }
    if let (Some(obj), Some(req)) = (v.as_object(), schema.get("required").and_then(Value::as_array)) {
        for r in req.iter().filter_map(Value::as_str) {
            if !obj.contains_key(r) {
                out.push(format!("{path}: missing required `{r}`"));
            }
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => out.extend(violations(val, s, root, &format!("{path}.{k}"))),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => out.push(format!("{path}: unexpected `{k}`")),
                    Some(s @ Value::Object(_)) => out.extend(violations(val, s, root, &format!("{path}.{k}"))),
                    _ if props.is_some() => out.push(format!("{path}: `{k}` is not in the schema")),
                    _ => {}
                },
            }
        }
    }
    if let (Some(a), Some(items)) = (v.as_array(), schema.get("items")) {
        for (i, x) in a.iter().enumerate() {
            out.extend(violations(x, items, root, &format!("{path}[{i}]")));
        }
    }
    out
}

/// Check a report against docs/upgrade-report.schema.json.
pub fn check_report(v: &Value) {
    let text = std::fs::read_to_string(crate::support::root().join("docs/upgrade-report.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let bad = violations(v, &schema, &schema, "$");
    assert!(bad.is_empty(), "the report does not match its schema:\n{}\n{v:#}", bad.join("\n"));
}

#[test]
fn the_check_catches_a_missing_field_a_wrong_type_and_an_unknown_key() {
    let schema = serde_json::json!({
        "type": "object", "required": ["a"],
        "properties": { "a": { "type": "integer" }, "b": { "$ref": "#/$defs/B" } },
        "$defs": { "B": { "type": ["string", "null"] } }
    });
    let ok = serde_json::json!({ "a": 1, "b": null });
    assert!(violations(&ok, &schema, &schema, "$").is_empty());
    assert_eq!(violations(&serde_json::json!({}), &schema, &schema, "$"), ["$: missing required `a`"]);
    assert_eq!(violations(&serde_json::json!({ "a": "1" }), &schema, &schema, "$").len(), 1);
    assert_eq!(violations(&serde_json::json!({ "a": 1, "b": 2 }), &schema, &schema, "$").len(), 1);
    assert_eq!(violations(&serde_json::json!({ "a": 1, "c": 2 }), &schema, &schema, "$").len(), 1);
}
