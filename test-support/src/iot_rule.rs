//! What an AWS IoT topic rule hands its Lambda action, for the subset of the SQL the backend's rules use, so a
//! test can publish a crafted payload "through" a rule (moto stores rules but never runs them).
//!
//! Supported select items: `*` (the payload's keys), `name` (that payload key, left out when absent, as IoT
//! leaves out an Undefined result), `name AS alias`, `topic(n) AS alias`, `timestamp() AS alias`,
//! `principal() AS alias`, `clientid() AS alias`; `FROM '<filter>'` with `+` and `#`. Anything else is an error,
//! so a rule the simulator does not understand fails the test instead of passing it. On a name clash the later
//! item wins here; the backend's rules have none, so they do not depend on what IoT does then.

use serde_json::{Map, Value};

/// The connection a message arrives on.
#[derive(Debug, Clone, Copy)]
pub struct Publisher<'a> {
    /// `principal()`: the certificate id of the connection.
    pub principal: &'a str,
    /// `clientid()`.
    pub client_id: &'a str,
}

/// The rule's output for `payload` published to `topic` at `now_ms`, or `Ok(None)` when the topic does not match
/// the rule's `FROM` filter.
pub fn project(sql: &str, topic: &str, payload: &Value, by: Publisher, now_ms: i64) -> Result<Option<Value>, String> {
    let rest = sql.trim().strip_prefix("SELECT ").ok_or("the SQL does not start with SELECT")?;
    let (select, from) = rest.rsplit_once(" FROM ").ok_or("no FROM")?;
    let filter = from.trim().strip_prefix('\'').and_then(|f| f.strip_suffix('\'')).ok_or("FROM is not quoted")?;
    if !matches(filter, topic) {
        return Ok(None);
    }
    let levels: Vec<&str> = topic.split('/').collect();
    let mut out = Map::new();
    for item in select.split(',').map(str::trim) {
        if item == "*" {
            let obj = payload.as_object().ok_or("SELECT * of a payload that is not an object")?;
            out.extend(obj.clone());
            continue;
        }
        let (expr, alias) = match item.split_once(" AS ") {
            Some((e, a)) => (e.trim(), Some(a.trim())),
            None => (item, None),
        };
        let value = match expr {
            "timestamp()" => Some(Value::from(now_ms)),
            "principal()" => Some(Value::from(by.principal)),
            "clientid()" => Some(Value::from(by.client_id)),
            e if e.starts_with("topic(") && e.ends_with(')') => {
                let n: usize = e[6..e.len() - 1].parse().map_err(|_| format!("bad {e}"))?;
                levels.get(n.wrapping_sub(1)).map(|l| Value::from(*l))
            }
            e if e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => payload.get(e).cloned(),
            other => return Err(format!("select item `{other}` is not supported by the simulator")),
        };
        let name = alias.unwrap_or(expr);
        if let Some(v) = value {
            out.insert(name.to_string(), v);
        }
    }
    Ok(Some(Value::Object(out)))
}

fn matches(filter: &str, topic: &str) -> bool {
    let (mut f, mut t) = (filter.split('/'), topic.split('/'));
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BY: Publisher = Publisher { principal: "cert", client_id: "SN-1" };

    #[test]
    fn explicit_fields_drop_everything_else_and_derived_values_win() {
        let sql = "SELECT code, topic(2) AS node_id, timestamp() AS at, principal() AS p FROM 'node/+/binding'";
        let ev = project(sql, "node/SN-1/binding", &json!({"code": "A", "node_id": "VICTIM", "x": 1}), BY, 7);
        assert_eq!(ev.unwrap(), Some(json!({"code": "A", "node_id": "SN-1", "at": 7, "p": "cert"})));
        assert_eq!(project(sql, "node/SN-1/telemetry", &json!({}), BY, 7).unwrap(), None);
        assert_eq!(
            project(sql, "node/SN-1/binding", &json!({}), BY, 7).unwrap(),
            Some(json!({"node_id": "SN-1",
            "at": 7, "p": "cert"})),
            "an absent payload key is left out"
        );
        assert!(project("SELECT upper(a) FROM 'x'", "x", &json!({}), BY, 0).is_err());
        assert_eq!(
            project(
                "SELECT * FROM '$aws/events/presence/+/+'",
                "$aws/events/presence/connected/c",
                &json!({"a": 1}),
                BY,
                0
            )
            .unwrap(),
            Some(json!({"a": 1}))
        );
    }
}
