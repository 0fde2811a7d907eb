//! Decision time of the hook: the pure parse + pattern check, and the whole handler against moto_server.

use criterion::{criterion_group, criterion_main, Criterion};
use provisioning_hook::{parse_request, Hook, SerialPattern};
use rainmaker_model::device_secret::{secret_hmac, TenantKey};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};

fn fixture() -> Value {
    serde_json::from_str(include_str!("../tests/fixtures/pre-provisioning-hook.json")).unwrap()
}

fn bench(c: &mut Criterion) {
    let pattern = SerialPattern::new("SN-[0-9]{6}").unwrap();
    let ev = fixture();
    c.bench_function("provisioning/parse_and_check", |b| b.iter(|| parse_request(std::hint::black_box(&ev), &pattern)));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = MotoServer::shared();
    let (hook, ddb, tables, key) = rt.block_on(async {
        let sdk = moto.sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let tables = create_tables(&ddb, &unique_prefix("bench")).await;
        let key = TenantKey::from_secret_string(&"b".repeat(64)).unwrap();
        (Hook::new(&sdk, tables.clone(), "SN-[0-9]{6}", key.clone()).unwrap(), ddb, tables, key)
    });
    let mut i = 0u64;
    c.bench_function("provisioning/handler_allow_moto", |b| {
        b.iter(|| {
            i += 1;
            let serial = format!("SN-{:06}", i % 1_000_000);
            rt.block_on(async {
                ddb.put_item()
                    .table_name(&tables.serial_allowlist)
                    .item("serial", aws_sdk_dynamodb::types::AttributeValue::S(serial.clone()))
                    .item(
                        "secret_hmac",
                        aws_sdk_dynamodb::types::AttributeValue::S(secret_hmac(
                            &key,
                            &serial,
                            fixture()["parameters"]["DeviceSecret"].as_str().unwrap(),
                        )),
                    )
                    .send()
                    .await
                    .unwrap();
                let mut ev = fixture();
                ev["parameters"]["SerialNumber"] = json!(serial);
                assert!(hook.handle(ev).await.allow_provisioning);
            })
        })
    });
    c.bench_function("provisioning/handler_deny_unlisted_moto", |b| {
        b.iter(|| rt.block_on(async { assert!(!hook.handle(fixture()).await.allow_provisioning) }))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
