//! The templates and the runtime Lambdas' data model agree: table names, keys, indexes, TTL and environment.

use rainmaker_deploy::{config, template};
use rainmaker_model::contract;
use rainmaker_model::tables::{KeySchema, KeyType, Table, TableNames};
use serde_json::{json, Value};

fn backend() -> Value {
    let cfg = config::blueprint_config("smart-home", "acme-home", "eu-west-1").expect("config");
    let r = template::render(&cfg).expect("renders");
    template::parse(&r.stack("backend").expect("backend").body).expect("parses")
}

fn key_schema(k: &KeySchema) -> Value {
    let mut v = vec![json!({ "AttributeName": k.partition.0, "KeyType": "HASH" })];
    if let Some((name, _)) = k.sort {
        v.push(json!({ "AttributeName": name, "KeyType": "RANGE" }));
    }
    Value::Array(v)
}

fn kind(t: KeyType) -> &'static str {
    match t {
        KeyType::String => "S",
        KeyType::Number => "N",
    }
}

#[test]
fn tables_match_the_model() {
    let t = backend();
    let names = TableNames::for_tenant("acme-home");
    for table in Table::ALL {
        let p = &t["Resources"][table.logical_id()]["Properties"];
        assert_eq!(p["TableName"], names.get(table), "{table:?}");
        assert_eq!(p["KeySchema"], key_schema(&table.key()), "{table:?}");
        let defs = p["AttributeDefinitions"].as_array().expect("defs");
        let gsis = p["GlobalSecondaryIndexes"].as_array().cloned().unwrap_or_default();
        assert_eq!(gsis.len(), table.gsis().len(), "{table:?}");
        for (g, model) in gsis.iter().zip(table.gsis()) {
            assert_eq!(g["IndexName"], model.name);
            assert_eq!(g["KeySchema"], key_schema(&model.key));
        }
        let keys = std::iter::once(table.key()).chain(table.gsis().iter().map(|g| g.key));
        for k in keys {
            for (name, ty) in std::iter::once(k.partition).chain(k.sort) {
                assert!(
                    defs.contains(&json!({ "AttributeName": name, "AttributeType": kind(ty) })),
                    "{table:?}.{name}"
                );
            }
        }
        let ttl = p["TimeToLiveSpecification"]["AttributeName"].as_str();
        assert_eq!(ttl, table.ttl_attr(), "{table:?}");
    }
}

#[test]
fn functions_get_the_environment_the_model_reads() {
    let t = backend();
    let wanted: &[(&str, &[&str])] = &[
        ("ProvisioningHookFunction", &[contract::ENV_SERIAL_PATTERN]),
        ("TelemetryIngestFunction", &[contract::ENV_TELEMETRY_TTL_DAYS, contract::ENV_MAX_PAYLOAD_BYTES]),
        ("PresenceFunction", &[]),
        ("BindingConfirmFunction", &[]),
        (
            "ApiFunction",
            &[contract::ENV_IOT_DATA_ENDPOINT, contract::ENV_BINDING_CODE_TTL_SECONDS, contract::ENV_SHARING_ENABLED],
        ),
    ];
    assert_eq!(wanted.len(), contract::FUNCTIONS.len());
    for (id, extra) in wanted {
        let env = &t["Resources"][id]["Properties"]["Environment"]["Variables"];
        for table in Table::ALL {
            assert_eq!(env[table.env_var()]["Ref"], table.logical_id(), "{id}: {}", table.env_var());
        }
        for var in [contract::ENV_TENANT, contract::ENV_RUST_LOG].iter().chain(extra.iter()) {
            assert!(env.get(var).is_some(), "{id} lacks {var}");
        }
    }
    for f in contract::FUNCTIONS {
        let code_key = f.split('-').map(|w| w[..1].to_uppercase() + &w[1..]).collect::<String>() + "CodeKey";
        assert!(t["Parameters"].get(&code_key).is_some(), "{f}: parameter {code_key}");
    }
}

#[test]
fn rules_use_the_model_names() {
    let t = backend();
    for (id, suffix) in [
        ("TelemetryRule", contract::RULE_TELEMETRY),
        ("PresenceRule", contract::RULE_PRESENCE),
        ("BindingRule", contract::RULE_BINDING),
    ] {
        assert_eq!(t["Resources"][id]["Properties"]["RuleName"], format!("rm_acme_home_{suffix}"));
    }
    let body: Value = serde_json::from_str(
        t["Resources"]["ProvisioningTemplate"]["Properties"]["TemplateBody"].as_str().expect("body"),
    )
    .expect("JSON");
    assert!(body["Parameters"].get(contract::PROVISIONING_SERIAL_PARAM).is_some());
}
