//! What a change set would do, as data: one row per resource with its action, replacement and description, and
//! the rule that refuses replacing or removing stateful resources. Pure: built from the template and the rows.

use serde::Serialize;
use std::collections::BTreeMap;

/// Resource types that hold data or identities a replacement would lose.
pub const STATEFUL_TYPES: &[&str] = &["AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Cognito::UserPool"];

/// What the template says about one resource.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResourceInfo {
    pub resource_type: String,
    /// `Metadata.Description`.
    pub description: Option<String>,
    /// Holds data (`Metadata.DataClass`, or a stateful type).
    pub stateful: bool,
    /// `Metadata.DataClass` (`user-data` for the tables): these get the stack policy.
    pub data_class: Option<String>,
}

/// The resources of one template by logical id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateInfo {
    pub resources: BTreeMap<String, ResourceInfo>,
}

impl TemplateInfo {
    /// Read a parsed template.
    pub fn from_template(t: &serde_json::Value) -> TemplateInfo {
        let mut resources = BTreeMap::new();
        if let Some(map) = t.get("Resources").and_then(|r| r.as_object()) {
            for (id, r) in map {
                let resource_type = r.get("Type").and_then(|v| v.as_str()).unwrap_or_default().to_string();
                let meta = r.get("Metadata");
                let description = meta.and_then(|m| m.get("Description")).and_then(|v| v.as_str()).map(str::to_string);
                let data_class = meta.and_then(|m| m.get("DataClass")).and_then(|v| v.as_str()).map(str::to_string);
                let stateful = data_class.is_some() || STATEFUL_TYPES.contains(&resource_type.as_str());
                resources.insert(id.clone(), ResourceInfo { resource_type, description, stateful, data_class });
            }
        }
        TemplateInfo { resources }
    }

    /// Logical ids of the data resources (`Metadata.DataClass` set): what the stack policy protects.
    pub fn data_resources(&self) -> Vec<String> {
        self.resources.iter().filter(|(_, r)| r.data_class.is_some()).map(|(id, _)| id.clone()).collect()
    }

    /// The description of a resource, when the template has one.
    pub fn description(&self, logical_id: &str) -> Option<String> {
        self.resources.get(logical_id).and_then(|r| r.description.clone())
    }
}

/// What happens to one stack.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// The stack does not exist: every resource is added.
    Create,
    /// A change set against the live stack.
    Update,
    /// Nothing to do.
    NoChanges,
    /// An IMPORT change set: kept resources taken into the stack (see [`super::adopt`]), nothing else changed.
    Import,
}

/// One resource's change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResourceChange {
    pub logical_id: String,
    pub resource_type: String,
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    /// `True`, `False` or `Conditional` (Modify only).
    pub replacement: Option<String>,
    pub physical_id: Option<String>,
    pub description: Option<String>,
    pub stateful: bool,
    /// What changes: `Properties.TableName (requires recreation: Always)`.
    pub details: Vec<String>,
}

impl ResourceChange {
    /// Would this change lose the resource (removed, or replaced / possibly replaced)?
    pub fn destroys(&self) -> bool {
        self.action == "Remove" || matches!(self.replacement.as_deref(), Some("True" | "Conditional"))
    }
}

/// The plan of one stack.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StackPlan {
    /// `bootstrap` or `backend`.
    pub stack: String,
    pub stack_name: String,
    pub kind: PlanKind,
    pub changes: Vec<ResourceChange>,
    /// The change set behind this plan (deleted again by `plan`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_set: Option<String>,
    /// What `apply` does first because of the stack's state (see [`super::stack::recovery`]), e.g. deleting a
    /// stack left in `ROLLBACK_COMPLETE` by a failed create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery: Option<String>,
}

impl StackPlan {
    /// The changes that would replace or remove a stateful resource.
    pub fn blocked(&self) -> Vec<&ResourceChange> {
        self.changes.iter().filter(|c| c.stateful && c.destroys()).collect()
    }

    /// The plan of a stack that does not exist yet: every resource of the template is added.
    pub fn create(stack: &str, stack_name: &str, info: &TemplateInfo) -> StackPlan {
        let changes = info
            .resources
            .iter()
            .map(|(id, r)| ResourceChange {
                logical_id: id.clone(),
                resource_type: r.resource_type.clone(),
                action: "Add".into(),
                replacement: None,
                physical_id: None,
                description: r.description.clone(),
                stateful: r.stateful,
                details: vec![],
            })
            .collect();
        StackPlan {
            stack: stack.into(),
            stack_name: stack_name.into(),
            kind: PlanKind::Create,
            changes,
            change_set: None,
            recovery: None,
        }
    }

    /// A stack with nothing to change.
    pub fn unchanged(stack: &str, stack_name: &str) -> StackPlan {
        StackPlan {
            stack: stack.into(),
            stack_name: stack_name.into(),
            kind: PlanKind::NoChanges,
            changes: vec![],
            change_set: None,
            recovery: None,
        }
    }

    /// Human text: the recovery apply does first (if any), then one line per resource.
    pub fn to_text(&self) -> String {
        let mut out = match (self.kind, &self.recovery) {
            (PlanKind::NoChanges, None) => return format!("{} ({}): no changes\n", self.stack_name, self.stack),
            (PlanKind::NoChanges, Some(_)) => {
                format!("{} ({}): no changes after recovery\n", self.stack_name, self.stack)
            }
            (PlanKind::Create, _) => {
                let imported = self.changes.iter().filter(|c| c.action == "Import").count();
                let added = self.changes.len() - imported;
                match imported {
                    0 => format!("{} ({}): create, {added} resources\n", self.stack_name, self.stack),
                    n => format!(
                        "{} ({}): create, {added} resources added, {n} kept ones imported\n",
                        self.stack_name, self.stack
                    ),
                }
            }
            (PlanKind::Import, _) => {
                format!("{} ({}): import, {} kept resources\n", self.stack_name, self.stack, self.changes.len())
            }
            (PlanKind::Update, Some(_)) if self.changes.is_empty() => {
                format!(
                    "{} ({}): update; the changes are known once the recovery is done (plan again then)\n",
                    self.stack_name, self.stack
                )
            }
            (PlanKind::Update, _) => {
                format!("{} ({}): update, {} changes\n", self.stack_name, self.stack, self.changes.len())
            }
        };
        if let Some(r) = &self.recovery {
            out.push_str(&format!("  first:  {r}\n"));
        }
        for c in &self.changes {
            let repl = match c.replacement.as_deref() {
                Some("True") => "  REPLACE",
                Some("Conditional") => "  MAY REPLACE",
                _ => "",
            };
            let mark = if c.stateful && c.destroys() { "  !! stateful" } else { "" };
            let desc = c.description.as_deref().unwrap_or(&c.resource_type);
            out.push_str(&format!("  {:<7} {:<28} {desc}{repl}{mark}\n", c.action, c.logical_id));
            for d in &c.details {
                out.push_str(&format!("          {d}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, action: &str, replacement: Option<&str>, stateful: bool) -> ResourceChange {
        ResourceChange {
            logical_id: id.into(),
            resource_type: "AWS::DynamoDB::Table".into(),
            action: action.into(),
            replacement: replacement.map(str::to_string),
            physical_id: None,
            description: None,
            stateful,
            details: vec![],
        }
    }

    #[test]
    fn only_stateful_replacements_and_removals_are_blocked() {
        let plan = StackPlan {
            stack: "backend".into(),
            stack_name: "rm-x".into(),
            kind: PlanKind::Update,
            changes: vec![
                change("A", "Modify", Some("False"), true),
                change("B", "Modify", Some("True"), true),
                change("C", "Modify", Some("Conditional"), true),
                change("D", "Remove", None, true),
                change("E", "Remove", None, false),
                change("F", "Modify", Some("True"), false),
            ],
            change_set: None,
            recovery: None,
        };
        let ids: Vec<&str> = plan.blocked().iter().map(|c| c.logical_id.as_str()).collect();
        assert_eq!(ids, ["B", "C", "D"]);
    }

    #[test]
    fn template_info_reads_descriptions_and_data_classes() {
        let t = serde_json::json!({"Resources": {
            "T": {"Type": "AWS::DynamoDB::Table", "Metadata": {"Description": "users", "DataClass": "user-data"}},
            "Q": {"Type": "AWS::SQS::Queue", "Metadata": {"Description": "dlq"}},
            "P": {"Type": "AWS::Cognito::UserPool"}
        }});
        let info = TemplateInfo::from_template(&t);
        assert_eq!(info.data_resources(), ["T"]);
        assert!(info.resources["P"].stateful && !info.resources["Q"].stateful);
        assert_eq!(info.description("Q").as_deref(), Some("dlq"));
    }
}
