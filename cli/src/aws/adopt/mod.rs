//! Re-adopting what a tenant kept: the retained, named resources of a template (tables, secrets, user pool) that
//! outlived their stack (`destroy`, a failed first create) are imported into the new stack instead of created
//! again. Pure: what to look for ([`wanted`]), what to import given what was found ([`decide`]), the IMPORT
//! template ([`import_template`]); the lookups are in [`find`], the change set in [`run`].

pub mod find;
pub mod run;

use serde::Serialize;
use std::collections::BTreeMap;

/// A key of a table or index: `(attribute, HASH|RANGE)`, in key order.
pub type Keys = Vec<(String, String)>;

/// What the template declares about a retained resource, as far as adopting it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declared {
    /// A table: its keys, the types of its key attributes, its global secondary indexes' keys.
    Table { name: String, keys: Keys, attribute_types: BTreeMap<String, String>, indexes: BTreeMap<String, Keys> },
    /// A secret by name.
    Secret { name: String },
    /// A user pool by name (Cognito does not make names unique) and its sign-in attributes.
    UserPool { name: String, username_attributes: Vec<String> },
}

impl Declared {
    /// The name the resource is found by.
    pub fn name(&self) -> &str {
        match self {
            Declared::Table { name, .. } | Declared::Secret { name } | Declared::UserPool { name, .. } => name,
        }
    }
}

/// A retained resource of the template that could have outlived its stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub logical_id: String,
    pub resource_type: String,
    pub declared: Declared,
}

/// What exists in the account under a wanted resource's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// DescribeTable: keys, key attribute types, index keys, status.
    Table { keys: Keys, attribute_types: BTreeMap<String, String>, indexes: BTreeMap<String, Keys>, status: String },
    /// DescribeSecret: its ARN, and the deletion date when it is scheduled for deletion.
    Secret { arn: String, deleted: Option<String> },
    /// ListUserPools + DescribeUserPool: every pool with that name.
    UserPools(Vec<FoundPool>),
}

/// One user pool with the wanted name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPool {
    pub id: String,
    pub username_attributes: Vec<String>,
}

/// One resource to import: a `ResourcesToImport` entry (type, logical id, identifier) and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Import {
    pub logical_id: String,
    pub resource_type: String,
    /// The identifier property of the type's schema: `TableName`, `Id` (the secret's ARN), `UserPoolId`.
    pub identifier_key: String,
    pub identifier_value: String,
    /// The name it was found by.
    pub name: String,
}

/// What a stack adopts, as data (`plan` and `apply` reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adoption {
    pub stack_name: String,
    /// "import 6 retained tables, 2 secrets, 1 user pool".
    pub summary: String,
    pub resources: Vec<Import>,
}

fn str_at<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|x| x.as_str())
}

fn keys_of(schema: Option<&serde_json::Value>) -> Keys {
    let mut keys: Keys = schema
        .and_then(|k| k.as_array())
        .into_iter()
        .flatten()
        .filter_map(|k| Some((str_at(k, "AttributeName")?.to_string(), str_at(k, "KeyType")?.to_string())))
        .collect();
    // HASH before RANGE, whatever order the template or the service lists them in
    keys.sort_by_key(|(_, t)| t != "HASH");
    keys
}

/// The retained resources of a parsed template that are found by a literal name: tables (`TableName`), secrets
/// (`Name`), user pools (`UserPoolName`). A resource without a literal name (generated, or a `Ref`) cannot outlive
/// its stack under a name we could know, so it is not looked for.
pub fn wanted(template: &serde_json::Value) -> Vec<Wanted> {
    let Some(resources) = template.get("Resources").and_then(|r| r.as_object()) else { return vec![] };
    let mut out = Vec::new();
    for (id, r) in resources {
        if str_at(r, "DeletionPolicy") != Some("Retain") {
            continue;
        }
        let Some(p) = r.get("Properties") else { continue };
        let resource_type = str_at(r, "Type").unwrap_or_default().to_string();
        let declared = match resource_type.as_str() {
            "AWS::DynamoDB::Table" => {
                let Some(name) = str_at(p, "TableName") else { continue };
                let attribute_types = p
                    .get("AttributeDefinitions")
                    .and_then(|a| a.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|a| Some((str_at(a, "AttributeName")?.into(), str_at(a, "AttributeType")?.into())))
                    .collect();
                let indexes = p
                    .get("GlobalSecondaryIndexes")
                    .and_then(|g| g.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|g| Some((str_at(g, "IndexName")?.to_string(), keys_of(g.get("KeySchema")))))
                    .collect();
                Declared::Table { name: name.into(), keys: keys_of(p.get("KeySchema")), attribute_types, indexes }
            }
            "AWS::SecretsManager::Secret" => match str_at(p, "Name") {
                Some(name) => Declared::Secret { name: name.into() },
                None => continue,
            },
            "AWS::Cognito::UserPool" => {
                let Some(name) = str_at(p, "UserPoolName") else { continue };
                let mut username_attributes: Vec<String> = p
                    .get("UsernameAttributes")
                    .and_then(|a| a.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect();
                username_attributes.sort();
                Declared::UserPool { name: name.into(), username_attributes }
            }
            _ => continue,
        };
        out.push(Wanted { logical_id: id.clone(), resource_type, declared });
    }
    out
}

fn show_keys(keys: &Keys) -> String {
    if keys.is_empty() {
        return "none".into();
    }
    keys.iter().map(|(a, t)| format!("{a} {t}")).collect::<Vec<_>>().join(", ")
}

/// The key attributes' types (`S`, `N`, `B`) of a key, from a table's attribute definitions.
fn key_types(keys: &Keys, types: &BTreeMap<String, String>) -> Vec<(String, Option<String>)> {
    keys.iter().map(|(a, _)| (a.clone(), types.get(a).cloned())).collect()
}

/// What to import, given what was found (by logical id; absent = nothing there under that name), or every way a
/// found resource differs from what the template declares (then nothing may be changed: importing it would put a
/// resource under the stack that its template describes wrongly, and the next update would try to replace it).
pub fn decide(wanted: &[Wanted], found: &BTreeMap<String, Found>) -> Result<Vec<Import>, Vec<String>> {
    let mut imports = Vec::new();
    let mut problems = Vec::new();
    for w in wanted {
        let Some(f) = found.get(&w.logical_id) else { continue };
        let what = |kind: &str| format!("{} ({kind} {})", w.logical_id, w.declared.name());
        let import = |key: &str, value: &str| Import {
            logical_id: w.logical_id.clone(),
            resource_type: w.resource_type.clone(),
            identifier_key: key.into(),
            identifier_value: value.into(),
            name: w.declared.name().into(),
        };
        match (&w.declared, f) {
            (
                Declared::Table { name, keys, attribute_types, indexes },
                Found::Table { keys: k, attribute_types: t, indexes: i, status },
            ) => {
                let before = problems.len();
                if status != "ACTIVE" {
                    problems.push(format!("{}: the table is {status}, not ACTIVE", what("table")));
                }
                if keys != k {
                    problems.push(format!(
                        "{}: its key schema is {}, the template declares {}",
                        what("table"),
                        show_keys(k),
                        show_keys(keys)
                    ));
                } else if key_types(keys, attribute_types) != key_types(k, t) {
                    let show = |v: Vec<(String, Option<String>)>| {
                        v.into_iter()
                            .map(|(a, t)| format!("{a}: {}", t.unwrap_or("?".into())))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    problems.push(format!(
                        "{}: its key attribute types are {}, the template declares {}",
                        what("table"),
                        show(key_types(k, t)),
                        show(key_types(keys, attribute_types))
                    ));
                }
                for (index, declared) in indexes {
                    match i.get(index) {
                        None => problems
                            .push(format!("{}: it has no index {index}, the template declares one", what("table"))),
                        Some(actual) if actual != declared => problems.push(format!(
                            "{}: index {index} has keys {}, the template declares {}",
                            what("table"),
                            show_keys(actual),
                            show_keys(declared)
                        )),
                        Some(_) => {}
                    }
                }
                for index in i.keys().filter(|x| !indexes.contains_key(*x)) {
                    problems.push(format!("{}: it has an index {index} the template does not declare", what("table")));
                }
                if problems.len() == before {
                    imports.push(import("TableName", name));
                }
            }
            (Declared::Secret { .. }, Found::Secret { arn, deleted }) => match deleted {
                Some(date) => problems.push(format!(
                    "{}: the secret is scheduled for deletion ({date}; `destroy --delete-data` does that); restore it \
                     first to keep its key (`aws secretsmanager restore-secret --secret-id {name}`), or, to start \
                     with a new key, delete it for good now (`aws secretsmanager delete-secret --secret-id {name} \
                     --force-delete-without-recovery`) or wait until it is gone",
                    what("secret"),
                    name = w.declared.name()
                )),
                None => imports.push(import("Id", arn)),
            },
            (Declared::UserPool { username_attributes, .. }, Found::UserPools(pools)) => match pools.as_slice() {
                [] => {}
                [pool] if &pool.username_attributes != username_attributes => problems.push(format!(
                    "{}: pool {} signs users in by [{}], the template declares [{}] (Cognito cannot change this)",
                    what("user pool"),
                    pool.id,
                    pool.username_attributes.join(", "),
                    username_attributes.join(", ")
                )),
                [pool] => imports.push(import("UserPoolId", &pool.id)),
                many => problems.push(format!(
                    "{}: {} user pools have this name ({}); keep the one holding the tenant's users and rename or \
                     delete the others",
                    what("user pool"),
                    many.len(),
                    many.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
                )),
            },
            (d, f) => problems.push(format!("{}: found {f:?} for {d:?}", w.logical_id)),
        }
    }
    if problems.is_empty() {
        Ok(imports)
    } else {
        Err(problems)
    }
}

/// The template of the IMPORT change set: the imported resources only, exactly as the full template declares
/// them (with their `DeletionPolicy: Retain`, which an import requires). An IMPORT may not create, update or
/// delete anything else, nor add outputs; the full template follows in a normal UPDATE.
pub fn import_template(template: &serde_json::Value, imports: &[Import]) -> String {
    let all = template.get("Resources").and_then(|r| r.as_object());
    let resources: serde_json::Map<String, serde_json::Value> =
        imports.iter().filter_map(|i| Some((i.logical_id.clone(), all?.get(&i.logical_id)?.clone()))).collect();
    let mut t = serde_json::Map::new();
    t.insert("AWSTemplateFormatVersion".into(), "2010-09-09".into());
    if let Some(d) = template.get("Description") {
        t.insert("Description".into(), d.clone());
    }
    t.insert("Resources".into(), resources.into());
    serde_json::to_string_pretty(&serde_json::Value::Object(t)).unwrap_or_default()
}

/// "import 6 retained tables, 2 secrets, 1 user pool" (types in the template's terms, in a fixed order).
pub fn summary(imports: &[Import]) -> String {
    let kinds = [
        ("AWS::DynamoDB::Table", "table", "tables"),
        ("AWS::S3::Bucket", "bucket", "buckets"),
        ("AWS::SecretsManager::Secret", "secret", "secrets"),
        ("AWS::Cognito::UserPool", "user pool", "user pools"),
    ];
    let mut parts = Vec::new();
    for (ty, one, many) in kinds {
        match imports.iter().filter(|i| i.resource_type == ty).count() {
            0 => {}
            1 => parts.push(format!("1 {one}")),
            n => parts.push(format!("{n} {many}")),
        }
    }
    let others = imports.iter().filter(|i| !kinds.iter().any(|(t, _, _)| *t == i.resource_type)).count();
    if others > 0 {
        parts.push(format!("{others} other"));
    }
    match parts.split_first() {
        None => String::new(),
        Some((first, rest)) => {
            let mut s = format!("import {}", first.replacen(' ', " retained ", 1));
            for p in rest {
                s.push_str(", ");
                s.push_str(p);
            }
            s
        }
    }
}

#[cfg(test)]
mod tests;
