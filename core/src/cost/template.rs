//! CloudFormation templates as the engine sees them: resources with type, properties and metadata, read from JSON
//! or YAML (long-form intrinsics; inline short-form tags such as `!Ref X` are rewritten to long form first), and
//! the references between resources (`Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub`).

use crate::cost::error::CostError;
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// One resource of a template.
#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub type_name: String,
    /// The template (stack) the resource comes from.
    pub stack: String,
    pub properties: Value,
    pub metadata: Value,
}

impl Resource {
    /// `Metadata.Description`, when the template gives one.
    pub fn description(&self) -> Option<&str> {
        self.metadata.get("Description").and_then(Value::as_str)
    }

    /// A property by path (`["LoggingConfig", "LogGroup"]`).
    pub fn prop(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(&self.properties, |v, k| v.get(k))
    }
}

/// The resources of one or more templates, in template order.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    pub list: Vec<Resource>,
    /// The blueprint the templates were rendered from (`Metadata.RainmakerDeploy.Blueprint`, the stamp every
    /// rendered stack carries; `None` for foreign templates): whose measured payloads price the packed layout.
    pub blueprint: Option<String>,
}

impl Resources {
    /// Parse one template and append its resources (a logical id seen before is prefixed with the stack name).
    pub fn add(&mut self, stack: &str, file: &str, text: &str) -> Result<(), CostError> {
        let doc = document(file, text)?;
        if let Some(b) = doc.pointer("/Metadata/RainmakerDeploy/Blueprint").and_then(Value::as_str) {
            self.blueprint.get_or_insert_with(|| b.to_string());
        }
        for mut r in resources(stack, file, &doc)? {
            if self.get(&r.logical_id).is_some() {
                r.logical_id = format!("{stack}.{}", r.logical_id);
            }
            self.list.push(r);
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Resource> {
        self.list.iter().find(|r| r.logical_id == id)
    }

    pub fn of_type<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.list.iter().filter(move |r| r.type_name == type_name)
    }
}

/// Parse a template's text (JSON when it starts with `{`, YAML otherwise) into its resources.
pub fn parse(stack: &str, file: &str, text: &str) -> Result<Vec<Resource>, CostError> {
    resources(stack, file, &document(file, text)?)
}

/// A template's text as JSON (JSON when it starts with `{`, YAML otherwise).
fn document(file: &str, text: &str) -> Result<Value, CostError> {
    let bad = |message: String| CostError::Template { file: file.to_string(), message };
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| bad(e.to_string()))
    } else {
        let long = long_form(file, text)?;
        serde_saphyr::from_str(&long).map_err(|e| bad(e.to_string()))
    }
}

fn resources(stack: &str, file: &str, doc: &Value) -> Result<Vec<Resource>, CostError> {
    let bad = |message: String| CostError::Template { file: file.to_string(), message };
    let resources =
        doc.get("Resources").and_then(Value::as_object).ok_or_else(|| bad("it has no `Resources` mapping".into()))?;
    let mut out = Vec::with_capacity(resources.len());
    for (id, r) in resources {
        let type_name =
            r.get("Type").and_then(Value::as_str).ok_or_else(|| bad(format!("resource `{id}` has no `Type`")))?;
        out.push(Resource {
            logical_id: id.clone(),
            type_name: type_name.to_string(),
            stack: stack.to_string(),
            properties: r.get("Properties").cloned().unwrap_or(Value::Null),
            metadata: r.get("Metadata").cloned().unwrap_or(Value::Null),
        });
    }
    Ok(out)
}

const TAGS: &str = "Ref|GetAtt|Sub|Join|Select|Split|If|Equals|Not|And|Or|FindInMap|ImportValue|Base64|GetAZs|Condition|Cidr|ToJsonString|Length";

fn tag_regexes() -> &'static (Regex, Regex, Regex) {
    static RE: OnceLock<(Regex, Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        (
            Regex::new(r"!Ref\s+([A-Za-z0-9:._-]+)").expect("static regex"),
            Regex::new(r"!GetAtt\s+([A-Za-z0-9]+)\.([A-Za-z0-9.]+)").expect("static regex"),
            Regex::new(&format!(r"!({TAGS})\b[ \t]*(.*)$")).expect("static regex"),
        )
    })
}

/// Rewrite inline short-form intrinsics (`!Ref X`, `!GetAtt X.Arn`, `key: !Sub '...'`, `- !Join [...]`) to long
/// form. A short-form tag followed by a block (`!If` on its own line) is an error that says how to convert.
pub fn long_form(file: &str, text: &str) -> Result<String, CostError> {
    if !text.contains('!') {
        return Ok(text.to_string());
    }
    let (re_ref, re_getatt, re_tag) = tag_regexes();
    let mut out = String::with_capacity(text.len() + 64);
    for (i, line) in text.lines().enumerate() {
        let l = re_ref.replace_all(line, r#"{"Ref": "$1"}"#);
        let l = re_getatt.replace_all(&l, r#"{"Fn::GetAtt": ["$1", "$2"]}"#);
        let l = match re_tag.captures(&l) {
            Some(c) => {
                let tag = &c[1];
                let rest = c[2].trim_end();
                if rest.is_empty() || rest.starts_with('#') || rest == "|" || rest == ">" {
                    return Err(CostError::ShortTag { file: file.to_string(), line: i + 1, tag: format!("!{tag}") });
                }
                let key = if tag == "Ref" || tag == "Condition" { tag.to_string() } else { format!("Fn::{tag}") };
                let whole = c.get(0).map_or(0..0, |m| m.range());
                format!("{}{{\"{key}\": {rest}}}", &l[..whole.start])
            }
            None => l.into_owned(),
        };
        out.push_str(&l);
        out.push('\n');
    }
    Ok(out)
}

/// The logical id a value points at: `{Ref: X}`, `{Fn::GetAtt: [X, Attr]}`, `{Fn::GetAtt: "X.Attr"}`, or the
/// single `${X}` / `${X.Attr}` of an `Fn::Sub` string.
pub fn target(v: &Value) -> Option<String> {
    let all = targets(v);
    if all.len() == 1 {
        all.into_iter().next()
    } else {
        None
    }
}

/// Every logical id a value refers to, in order, without duplicates (pseudo parameters `AWS::*` left out).
pub fn targets(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(v, &mut out);
    out
}

fn push(out: &mut Vec<String>, id: &str) {
    let id = id.trim();
    if !id.is_empty() && !id.starts_with("AWS::") && !out.iter().any(|x| x == id) {
        out.push(id.to_string());
    }
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(id)) = m.get("Ref") {
                push(out, id);
            }
            match m.get("Fn::GetAtt") {
                Some(Value::Array(a)) => {
                    if let Some(Value::String(id)) = a.first() {
                        push(out, id);
                    }
                }
                Some(Value::String(s)) => push(out, s.split('.').next().unwrap_or(s)),
                _ => {}
            }
            let sub_text = match m.get("Fn::Sub") {
                Some(Value::String(s)) => Some(s.as_str()),
                Some(Value::Array(a)) => a.first().and_then(Value::as_str),
                _ => None,
            };
            if let Some(s) = sub_text {
                for part in s.split("${").skip(1) {
                    let name = part.split('}').next().unwrap_or("");
                    if !name.starts_with('!') {
                        push(out, name.split('.').next().unwrap_or(name));
                    }
                }
            }
            for (k, inner) in m {
                if k != "Ref" && k != "Fn::GetAtt" {
                    collect(inner, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_targets_of_every_intrinsic_form() {
        assert_eq!(target(&json!({"Ref": "Table"})), Some("Table".into()));
        assert_eq!(target(&json!({"Fn::GetAtt": ["Fn", "Arn"]})), Some("Fn".into()));
        assert_eq!(target(&json!({"Fn::GetAtt": "Fn.Arn"})), Some("Fn".into()));
        assert_eq!(target(&json!({"Fn::Sub": "arn:${AWS::Partition}:x:${Api}/${Stage.Name}"})), None);
        assert_eq!(targets(&json!({"Fn::Sub": "arn:${AWS::Partition}:x:${Api}/${Stage.Name}"})), vec!["Api", "Stage"]);
        assert_eq!(targets(&json!({"Fn::Join": ["", ["a", {"Ref": "A"}, {"Ref": "AWS::Region"}]]})), vec!["A"]);
        assert_eq!(target(&json!("plain")), None);
    }

    #[test]
    fn reads_json_and_long_form_yaml() {
        let j = r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}"#;
        assert_eq!(parse("s", "t.json", j).unwrap()[0].type_name, "AWS::SQS::Queue");
        let y = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Metadata: {Description: dead letters}\n";
        let r = &parse("s", "t.yaml", y).unwrap()[0];
        assert_eq!((r.logical_id.as_str(), r.description()), ("Q", Some("dead letters")));
    }

    #[test]
    fn rewrites_inline_short_tags() {
        let y = "Resources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Role: !GetAtt Role.Arn\n      Environment: {Variables: {T: !Ref Table}}\n      Description: !Sub '${AWS::StackName} fn'\n      Layers:\n        - !Join ['', [a, !Ref L]]\n";
        let r = &parse("s", "t.yaml", y).unwrap()[0];
        assert_eq!(r.prop(&["Role"]), Some(&json!({"Fn::GetAtt": ["Role", "Arn"]})));
        assert_eq!(r.prop(&["Environment", "Variables", "T"]), Some(&json!({"Ref": "Table"})));
        assert_eq!(r.prop(&["Description"]), Some(&json!({"Fn::Sub": "${AWS::StackName} fn"})));
        assert_eq!(r.prop(&["Layers"]), Some(&json!([{"Fn::Join": ["", ["a", {"Ref": "L"}]]}])));
    }

    #[test]
    fn block_short_tags_are_errors_that_say_how_to_convert() {
        let y = "Resources:\n  F:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !If\n        - C\n        - a\n        - b\n";
        let e = parse("s", "t.yaml", y).unwrap_err();
        assert_eq!(e.to_string(), "t.yaml:5: the short-form tag `!If` followed by a block is not supported");
    }

    #[test]
    fn not_a_template() {
        let e = parse("s", "t.yaml", "Foo: 1\n").unwrap_err().to_string();
        assert_eq!(e, "t.yaml: not a CloudFormation template: it has no `Resources` mapping");
        assert!(parse("s", "t.json", "{ nope").is_err());
    }
}
