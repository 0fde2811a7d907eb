//! The stack policy: every update allowed except replacing or deleting the data tables.

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

#[cfg(test)]
mod tests {
    use super::*;

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
