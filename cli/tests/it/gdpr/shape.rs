//! The seed writes what the functions write: one node provisioned by the real provisioning hook, bound through the
//! real api and binding-confirm and shared through the real api, next to a seeded node, against moto; the items'
//! attribute sets must be the same (the seed may add only what the presence and telemetry-ingest functions record).

use super::resale::api_request;
use rainmaker_core::gdpr::manifest::{Retention, PITR_DAYS};
use rainmaker_deploy::gdpr::seed::{self, SeedOptions};
use rainmaker_deploy::gdpr::{GdprClients, NoReport, Resources};
use rainmaker_model::attr;
use rainmaker_model::ddb::{s, Item};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer, REGION};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The attribute names; an ownership window's (`ownership#<node>#<epoch>`) as its prefix.
fn names(item: &Item) -> BTreeSet<String> {
    let prefix = rainmaker_model::window::PREFIX;
    item.keys().map(|k| if k.starts_with(prefix) { prefix.to_string() } else { k.clone() }).collect()
}

async fn get(c: &GdprClients, table: &str, key: &[(&str, &str)]) -> Item {
    let mut q = c.ddb.get_item().table_name(table).consistent_read(true);
    for (k, v) in key {
        q = q.key(*k, s(*v));
    }
    q.send().await.unwrap().item().cloned().unwrap_or_else(|| panic!("{table} {key:?} missing"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_items_have_the_shape_the_functions_write() {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config().await;
    let c = GdprClients::new(&sdk).await.unwrap();
    let prefix = unique_prefix("shape");
    let tables = create_tables(&c.ddb, &prefix).await;
    let pool = c.cognito.create_user_pool().pool_name(format!("{prefix}pool")).send().await.unwrap();
    let r = Resources {
        tenant: "shape".into(),
        region: REGION.into(),
        stack_name: "none".into(),
        tables: tables.clone(),
        user_pool_id: pool.user_pool().unwrap().id().unwrap().to_string(),
        template_version: None,
        receipt_key_secret: None,
        retention: Retention {
            telemetry_ttl_days: 30,
            log_retention_days: 14,
            binding_code_ttl_seconds: 600,
            pitr_days: PITR_DAYS,
        },
    };
    let o =
        SeedOptions { users: 2, nodes_per_user: 1, telemetry_per_node: 1, shares: 1, tag: seed::random_tag().unwrap() };
    let seeded = seed::seed(&c, &r, &o, &NoReport).await.unwrap();
    let (alice, bob) = (&seeded.users[0], &seeded.users[1]);
    let seeded_node = &alice.owned_nodes[0];

    // the same story through the functions: the maker lists a serial, the hook provisions it, alice binds it
    // (api + binding-confirm) and shares it with bob (api)
    let serial = format!("REAL{}", o.tag);
    let cert = format!("{:0>64}", o.tag.to_lowercase());
    let mut ev: Value = serde_json::from_str(include_str!(
        "../../../../runtime-lambdas/provisioning-hook/tests/fixtures/pre-provisioning-hook.json"
    ))
    .unwrap();
    let key = rainmaker_model::device_secret::TenantKey::from_secret_string(&"s".repeat(64)).unwrap();
    let secret = ev["parameters"]["DeviceSecret"].as_str().unwrap().to_string();
    let listed: Item = [
        (attr::SERIAL.into(), s(&serial)),
        (attr::PROVISIONED.into(), aws_sdk_dynamodb::types::AttributeValue::Bool(false)),
        (attr::SECRET_HMAC.into(), s(rainmaker_model::device_secret::secret_hmac(&key, &serial, &secret))),
    ]
    .into();
    c.ddb.put_item().table_name(&tables.serial_allowlist).set_item(Some(listed)).send().await.unwrap();
    let hook = provisioning_hook::Hook::new(&sdk, tables.clone(), "", key).unwrap();
    ev["parameters"]["SerialNumber"] = json!(serial);
    ev["certificateId"] = json!(cert);
    assert!(hook.handle(ev).await.allow_provisioning, "the hook provisions the listed serial");
    let real_user = "5eed5eed-0000-4000-8000-00000000a11c";
    let api = api::Api::new(&sdk, tables.clone(), api::Settings::default(), None).without_metrics();
    let resp = api
        .handle(api_request("POST", "/nodes/bind", real_user, Some("a@example.com"), Some(json!({"node_id": serial}))))
        .await;
    assert_eq!(resp["statusCode"], 201, "{resp}");
    let code = serde_json::from_str::<Value>(resp["body"].as_str().unwrap()).unwrap()["binding_code"].clone();
    let confirm = binding_confirm::Confirm::new(&sdk, tables.clone(), "shape").without_metrics();
    let bound = confirm
        .handle(json!({"binding_code": code, "node_id": serial, "received_at": 1, "principal": cert}))
        .await
        .unwrap();
    assert!(matches!(bound, binding_confirm::BindingOutcome::Bound { .. }), "{bound:?}");
    let share_path = format!("/nodes/{serial}/shares");
    let resp = api
        .handle(api_request(
            "POST",
            &share_path,
            real_user,
            Some("a@example.com"),
            Some(json!({"user_id": bob.user_id})),
        ))
        .await;
    assert_eq!(resp["statusCode"], 201, "{resp}");

    // the items, side by side
    let real_node = get(&c, &tables.nodes, &[(attr::NODE_ID, &serial)]).await;
    let seed_node = get(&c, &tables.nodes, &[(attr::NODE_ID, seeded_node)]).await;
    let recorded_by_others: BTreeSet<String> = [attr::PRESENCE_AT, attr::LAST_SEEN_AT].map(String::from).into();
    assert!(names(&seed_node).is_superset(&names(&real_node)), "{seed_node:?}\nvs the functions' {real_node:?}");
    let extra: BTreeSet<String> = names(&seed_node).difference(&names(&real_node)).cloned().collect();
    assert!(extra.is_subset(&recorded_by_others), "the seed adds {extra:?}");
    let pairs = [
        (
            "owner grant",
            get(&c, &tables.user_nodes, &[(attr::USER_ID, real_user), (attr::NODE_ID, &serial)]).await,
            get(&c, &tables.user_nodes, &[(attr::USER_ID, &alice.user_id), (attr::NODE_ID, seeded_node)]).await,
        ),
        (
            "share",
            get(&c, &tables.user_nodes, &[(attr::USER_ID, &bob.user_id), (attr::NODE_ID, &serial)]).await,
            get(&c, &tables.user_nodes, &[(attr::USER_ID, &bob.user_id), (attr::NODE_ID, seeded_node)]).await,
        ),
        (
            "allow-list entry",
            get(&c, &tables.serial_allowlist, &[(attr::SERIAL, &serial)]).await,
            get(&c, &tables.serial_allowlist, &[(attr::SERIAL, seeded_node)]).await,
        ),
        (
            "users item",
            get(&c, &tables.users, &[(attr::USER_ID, real_user)]).await,
            get(&c, &tables.users, &[(attr::USER_ID, &alice.user_id)]).await,
        ),
    ];
    for (what, real, seeded) in &pairs {
        assert_eq!(names(seeded), names(real), "{what}: seeded {seeded:?}\nvs the functions' {real:?}");
    }
    // the epochs tie node and grants together in both
    let shape = regex::Regex::new("^[0-9]{13}-[0-9a-f]{8}$").unwrap();
    for (node, grants) in [(&real_node, [&pairs[0].1, &pairs[1].1]), (&seed_node, [&pairs[0].2, &pairs[1].2])] {
        let epoch = node[attr::OWNER_EPOCH].as_s().unwrap();
        assert!(shape.is_match(epoch), "{epoch}");
        for g in grants {
            assert_eq!(g[attr::EPOCH].as_s().unwrap(), epoch);
        }
    }
    // the seeded node's certificate is a real IoT certificate attached to its thing
    let cert = seed_node[attr::CERTIFICATE_ID].as_s().unwrap();
    let d = c.iot.describe_certificate().certificate_id(cert).send().await.unwrap();
    let arn = d.certificate_description().unwrap().certificate_arn().unwrap().to_string();
    let attached = c.iot.list_thing_principals().thing_name(seeded_node).send().await.unwrap();
    assert_eq!(attached.principals(), [arn]);
}
