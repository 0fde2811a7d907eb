//! Table tests of the adopt decision: what is looked for, what is imported, what is refused and how it reads.

use super::*;
use serde_json::json;

fn template() -> serde_json::Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "backend",
        "Parameters": {"ApiCodeKey": {"Type": "String"}},
        "Resources": {
            "UsersTable": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                "Properties": {"TableName": "rm-acme-users",
                    "AttributeDefinitions": [{"AttributeName": "user_id", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}]}},
            "TelemetryTable": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
                "Properties": {"TableName": "rm-acme-telemetry",
                    "AttributeDefinitions": [{"AttributeName": "node_id", "AttributeType": "S"}, {"AttributeName": "ts", "AttributeType": "N"},
                        {"AttributeName": "owner", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "ts", "KeyType": "RANGE"}, {"AttributeName": "node_id", "KeyType": "HASH"}],
                    "GlobalSecondaryIndexes": [{"IndexName": "by-owner", "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "ALL"}}]}},
            "ScratchTable": {"Type": "AWS::DynamoDB::Table",
                "Properties": {"TableName": "rm-acme-scratch", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}]}},
            "SerialKeySecret": {"Type": "AWS::SecretsManager::Secret", "DeletionPolicy": "Retain",
                "Properties": {"Name": "rm-acme-serial-key"}},
            "UserPool": {"Type": "AWS::Cognito::UserPool", "DeletionPolicy": "Retain",
                "Properties": {"UserPoolName": "rm-acme-users", "UsernameAttributes": ["email"]}},
            "LoggingRole": {"Type": "AWS::IAM::Role", "DeletionPolicy": "Retain", "Properties": {}},
            "NamedByRef": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
                "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-x"}}},
            "DeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {}}
        },
        "Outputs": {"UsersTableName": {"Value": {"Ref": "UsersTable"}}}
    })
}

fn keys(k: &[(&str, &str)]) -> Keys {
    k.iter().map(|(a, t)| (a.to_string(), t.to_string())).collect()
}

fn types(t: &[(&str, &str)]) -> BTreeMap<String, String> {
    t.iter().map(|(a, t)| (a.to_string(), t.to_string())).collect()
}

fn users_found() -> Found {
    Found::Table {
        keys: keys(&[("user_id", "HASH")]),
        attribute_types: types(&[("user_id", "S")]),
        indexes: BTreeMap::new(),
        status: "ACTIVE".into(),
    }
}

fn telemetry_found() -> Found {
    Found::Table {
        keys: keys(&[("node_id", "HASH"), ("ts", "RANGE")]),
        attribute_types: types(&[("node_id", "S"), ("ts", "N"), ("owner", "S")]),
        indexes: [("by-owner".to_string(), keys(&[("owner", "HASH")]))].into(),
        status: "ACTIVE".into(),
    }
}

fn telemetry_with(indexes: BTreeMap<String, Keys>) -> Found {
    match telemetry_found() {
        Found::Table { keys, attribute_types, status, .. } => Found::Table { keys, attribute_types, indexes, status },
        other => other,
    }
}

fn pool(id: &str, attrs: &[&str]) -> FoundPool {
    FoundPool { id: id.into(), username_attributes: attrs.iter().map(|a| a.to_string()).collect() }
}

fn everything_found() -> BTreeMap<String, Found> {
    [
        ("UsersTable", users_found()),
        ("TelemetryTable", telemetry_found()),
        (
            "SerialKeySecret",
            Found::Secret {
                arn: "arn:aws:secretsmanager:eu-west-1:1:secret:rm-acme-serial-key-AbCdEf".into(),
                deleted: None,
            },
        ),
        ("UserPool", Found::UserPools(vec![pool("eu-west-1_abc", &["email"])])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[test]
fn only_retained_resources_with_a_literal_name_are_looked_for() {
    let w = wanted(&template());
    let ids: Vec<&str> = w.iter().map(|w| w.logical_id.as_str()).collect();
    // not: ScratchTable (deleted with the stack), LoggingRole (no name), NamedByRef (not literal), the queue
    assert_eq!(ids, ["UsersTable", "TelemetryTable", "SerialKeySecret", "UserPool"], "in template order");
    let telemetry = w.iter().find(|w| w.logical_id == "TelemetryTable").unwrap();
    assert_eq!(
        telemetry.declared,
        Declared::Table {
            name: "rm-acme-telemetry".into(),
            keys: keys(&[("node_id", "HASH"), ("ts", "RANGE")]),
            attribute_types: types(&[("node_id", "S"), ("ts", "N"), ("owner", "S")]),
            indexes: [("by-owner".to_string(), keys(&[("owner", "HASH")]))].into(),
        },
        "keys in HASH, RANGE order whatever the template's order"
    );
}

#[test]
fn what_was_found_and_matches_is_imported_by_the_identifier_of_its_type() {
    let imports = decide(&wanted(&template()), &everything_found()).unwrap();
    let rows: Vec<(&str, &str, &str, &str)> = imports
        .iter()
        .map(|i| {
            (i.logical_id.as_str(), i.resource_type.as_str(), i.identifier_key.as_str(), i.identifier_value.as_str())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("UsersTable", "AWS::DynamoDB::Table", "TableName", "rm-acme-users"),
            ("TelemetryTable", "AWS::DynamoDB::Table", "TableName", "rm-acme-telemetry"),
            (
                "SerialKeySecret",
                "AWS::SecretsManager::Secret",
                "Id",
                "arn:aws:secretsmanager:eu-west-1:1:secret:rm-acme-serial-key-AbCdEf"
            ),
            ("UserPool", "AWS::Cognito::UserPool", "UserPoolId", "eu-west-1_abc"),
        ]
    );
    assert_eq!(summary(&imports), "import 2 retained tables, 1 secret, 1 user pool");
}

#[test]
fn nothing_found_is_nothing_to_import_and_a_partial_find_imports_what_is_there() {
    let w = wanted(&template());
    assert_eq!(decide(&w, &BTreeMap::new()), Ok(vec![]));
    let only_users: BTreeMap<String, Found> = [("UsersTable".to_string(), users_found())].into();
    let imports = decide(&w, &only_users).unwrap();
    assert_eq!(imports.len(), 1);
    assert_eq!(summary(&imports), "import 1 retained table");
    // no pool of that name is no pool
    let no_pool: BTreeMap<String, Found> = [("UserPool".to_string(), Found::UserPools(vec![]))].into();
    assert_eq!(decide(&w, &no_pool), Ok(vec![]));
    assert_eq!(summary(&[]), "");
}

#[test]
fn every_difference_is_refused_naming_the_resource_and_what_differs() {
    let w = wanted(&template());
    let cases: Vec<(&str, Found, &str)> = vec![
        (
            "UsersTable",
            Found::Table { keys: keys(&[("id", "HASH")]), attribute_types: types(&[("id", "S")]), indexes: BTreeMap::new(), status: "ACTIVE".into() },
            "UsersTable (table rm-acme-users): its key schema is id HASH, the template declares user_id HASH",
        ),
        (
            "UsersTable",
            Found::Table { keys: keys(&[("user_id", "HASH")]), attribute_types: types(&[("user_id", "N")]), indexes: BTreeMap::new(), status: "ACTIVE".into() },
            "UsersTable (table rm-acme-users): its key attribute types are user_id: N, the template declares user_id: S",
        ),
        (
            "UsersTable",
            users_found().with_status("DELETING"),
            "UsersTable (table rm-acme-users): the table is DELETING, not ACTIVE",
        ),
        (
            "TelemetryTable",
            telemetry_with(BTreeMap::new()),
            "TelemetryTable (table rm-acme-telemetry): it has no index by-owner, the template declares one",
        ),
        (
            "TelemetryTable",
            telemetry_with([("by-owner".to_string(), keys(&[("node_id", "HASH")]))].into()),
            "TelemetryTable (table rm-acme-telemetry): index by-owner has keys node_id HASH, the template declares owner HASH",
        ),
        (
            "TelemetryTable",
            telemetry_with([("by-owner".to_string(), keys(&[("owner", "HASH")])), ("old".to_string(), keys(&[("x", "HASH")]))].into()),
            "TelemetryTable (table rm-acme-telemetry): it has an index old the template does not declare",
        ),
        (
            "SerialKeySecret",
            Found::Secret { arn: "arn:s".into(), deleted: Some("2026-12-10T00:00:00Z".into()) },
            "SerialKeySecret (secret rm-acme-serial-key): the secret is scheduled for deletion (2026-12-10T00:00:00Z; \
             `destroy --delete-data` does that); restore it first to keep its key (`aws secretsmanager restore-secret \
             --secret-id rm-acme-serial-key`), or, to start with a new key, delete it for good now (`aws \
             secretsmanager delete-secret --secret-id rm-acme-serial-key --force-delete-without-recovery`) or wait",
        ),
        (
            "UserPool",
            Found::UserPools(vec![pool("eu-west-1_a", &["email"]), pool("eu-west-1_b", &["email"])]),
            "UserPool (user pool rm-acme-users): 2 user pools have this name (eu-west-1_a, eu-west-1_b)",
        ),
        (
            "UserPool",
            Found::UserPools(vec![pool("eu-west-1_a", &["phone_number"])]),
            "UserPool (user pool rm-acme-users): pool eu-west-1_a signs users in by [phone_number], the template declares [email]",
        ),
    ];
    for (id, f, expected) in cases {
        let mut found = everything_found();
        found.insert(id.to_string(), f);
        let problems = decide(&w, &found).expect_err(expected);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with(expected), "{expected}\n  got: {}", problems[0]);
    }
}

#[test]
fn the_import_template_holds_only_the_imported_resources_as_declared() {
    let t = template();
    let imports = decide(&wanted(&t), &everything_found()).unwrap();
    let body: serde_json::Value = serde_json::from_str(&import_template(&t, &imports)).unwrap();
    let ids: Vec<&String> = body["Resources"].as_object().unwrap().keys().collect();
    assert_eq!(ids, ["UsersTable", "TelemetryTable", "SerialKeySecret", "UserPool"]);
    for id in ids {
        assert_eq!(body["Resources"][id], t["Resources"][id], "{id} as the full template declares it");
        assert_eq!(body["Resources"][id]["DeletionPolicy"], "Retain");
    }
    // an IMPORT may not add outputs, nor anything but the imported resources
    assert!(body.get("Outputs").is_none() && body.get("Parameters").is_none(), "{body}");
    assert_eq!(body["Description"], "backend");
}

impl Found {
    fn with_status(self, s: &str) -> Found {
        match self {
            Found::Table { keys, attribute_types, indexes, .. } => {
                Found::Table { keys, attribute_types, indexes, status: s.into() }
            }
            other => other,
        }
    }
}

#[test]
fn every_blueprint_looks_for_its_six_tables_two_secrets_and_user_pool_and_every_named_retained_resource() {
    for blueprint in ["smart-home", "water-meter", "industrial-sensor"] {
        let cfg = crate::config::blueprint_config(blueprint, "acme", "eu-west-1").unwrap();
        let rendered = crate::template::render(&cfg).unwrap();
        for stack in ["bootstrap", "backend"] {
            let t = crate::template::parse(&rendered.stack(stack).unwrap().body).unwrap();
            let w = wanted(&t);
            for (id, r) in t["Resources"].as_object().unwrap() {
                if r["DeletionPolicy"] != "Retain" {
                    continue;
                }
                // a retained resource with a literal name outlives its stack under that name: it must be adopted
                let named = r["Properties"]
                    .as_object()
                    .is_some_and(|p| p.iter().any(|(k, v)| k.ends_with("Name") && v.is_string()));
                assert_eq!(named, w.iter().any(|x| &x.logical_id == id), "{blueprint} {stack} {id}");
            }
            let count = |ty: &str| w.iter().filter(|x| x.resource_type == ty).count();
            let counts =
                (count("AWS::DynamoDB::Table"), count("AWS::SecretsManager::Secret"), count("AWS::Cognito::UserPool"));
            // the bootstrap's bucket has a generated name: a new stack makes a new bucket, nothing collides
            let expected = if stack == "backend" { (6, 2, 1) } else { (0, 0, 0) };
            assert_eq!(counts, expected, "{blueprint} {stack}");
        }
    }
}
