//! The stack policy: every update allowed except replacing or deleting the data tables; and what a live policy
//! leaves unprotected (`status` warns).

use serde_json::json;

/// The policy protecting `data_resources` (logical ids) from `Update:Replace` and `Update:Delete`.
pub fn protecting(data_resources: &[String]) -> String {
    let resources: Vec<String> = data_resources.iter().map(|id| format!("LogicalResourceId/{id}")).collect();
    let mut statements = vec![json!({ "Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*" })];
    if !resources.is_empty() {
        statements.push(json!({
            "Effect": "Deny",
            "Action": ["Update:Replace", "Update:Delete"],
            "Principal": "*",
            "Resource": resources,
        }));
    }
    json!({ "Statement": statements }).to_string()
}

/// The policy used for one `--allow-replace` update, restored to [`protecting`] afterwards.
pub fn allow_all() -> String {
    protecting(&[])
}

/// Does a live policy (as returned by GetStackPolicy) equal the wanted one (compared as JSON)?
pub fn same(live: Option<&str>, wanted: &str) -> bool {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    matches!((live.and_then(parse), parse(wanted)), (Some(a), Some(b)) if a == b)
}

/// The data resources (logical ids) a live policy leaves open to `Update:Replace` or `Update:Delete`: each must be
/// named (or matched by `*`) by a Deny statement covering both actions (or `Update:*`). No policy, or one that
/// does not parse, protects nothing. Pure.
pub fn unprotected(live: Option<&str>, data_resources: &[String]) -> Vec<String> {
    let policy = live.and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => vec![],
        }
    };
    let denies: Vec<(Vec<String>, Vec<String>)> = policy
        .as_ref()
        .and_then(|p| p.get("Statement"))
        .map(list_statements)
        .unwrap_or_default()
        .into_iter()
        .filter(|st| st.get("Effect").and_then(|e| e.as_str()) == Some("Deny"))
        .map(|st| (st.get("Action").map(list).unwrap_or_default(), st.get("Resource").map(list).unwrap_or_default()))
        .collect();
    let covers = |actions: &[String], action: &str| actions.iter().any(|a| a == action || a == "Update:*");
    let names = |resources: &[String], id: &str| {
        resources.iter().any(|r| r == "*" || r == "LogicalResourceId/*" || *r == format!("LogicalResourceId/{id}"))
    };
    data_resources
        .iter()
        .filter(|id| {
            let denied = |action: &str| denies.iter().any(|(a, r)| covers(a, action) && names(r, id));
            !(denied("Update:Replace") && denied("Update:Delete"))
        })
        .cloned()
        .collect()
}

fn list_statements(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    match v {
        serde_json::Value::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unprotected_data_is_what_no_deny_of_replace_and_delete_names() {
        let data = vec!["UsersTable".to_string(), "SerialKeySecret".to_string()];
        let ids = |v: Vec<String>| v.join(",");
        assert_eq!(ids(unprotected(Some(&protecting(&data)), &data)), "");
        assert_eq!(ids(unprotected(Some(&allow_all()), &data)), "UsersTable,SerialKeySecret", "lifted");
        assert_eq!(ids(unprotected(None, &data)), "UsersTable,SerialKeySecret", "no policy");
        assert_eq!(ids(unprotected(Some("not json"), &data)), "UsersTable,SerialKeySecret");
        assert_eq!(ids(unprotected(Some(&protecting(&data[..1])), &data)), "SerialKeySecret", "an older policy");
        let star = r#"{"Statement": {"Effect": "Deny", "Action": "Update:*", "Principal": "*", "Resource": "*"}}"#;
        assert_eq!(ids(unprotected(Some(star), &data)), "");
        let replace_only = r#"{"Statement": [{"Effect": "Deny", "Action": ["Update:Replace"], "Principal": "*",
            "Resource": ["LogicalResourceId/UsersTable"]}]}"#;
        assert_eq!(ids(unprotected(Some(replace_only), &data[..1])), "UsersTable", "delete still allowed");
        let allow = r#"{"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}"#;
        assert_eq!(ids(unprotected(Some(allow), &data[..1])), "UsersTable");
    }

    #[test]
    fn denies_replace_and_delete_of_the_tables_only() {
        let p: serde_json::Value = serde_json::from_str(&protecting(&["UsersTable".into()])).unwrap();
        assert_eq!(p["Statement"][1]["Effect"], "Deny");
        assert_eq!(p["Statement"][1]["Resource"][0], "LogicalResourceId/UsersTable");
        assert_eq!(p["Statement"][1]["Action"], serde_json::json!(["Update:Replace", "Update:Delete"]));
        assert!(same(Some(&protecting(&["UsersTable".into()])), &protecting(&["UsersTable".into()])));
        assert!(!same(None, &allow_all()));
    }
}
