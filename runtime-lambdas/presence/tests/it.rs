//! presence against DynamoDB in moto_server, with lifecycle events shaped like AWS's documented examples.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use presence::{Outcome, Presence};
use rainmaker_model::{attr, TableNames};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};

/// The node's certificate: the fixtures' `principalIdentifier`.
const CERT: &str = "12345678901234567890123456789012";

struct Env {
    ddb: Client,
    tables: TableNames,
    presence: Presence,
}

async fn env(label: &str) -> Env {
    let sdk = MotoServer::shared().sdk_config().await;
    let ddb = Client::new(&sdk);
    let tables = create_tables(&ddb, &unique_prefix(label)).await;
    let presence = Presence::new(&sdk, &tables);
    let e = Env { ddb, tables, presence };
    e.ddb
        .put_item()
        .table_name(&e.tables.nodes)
        .item(attr::NODE_ID, AttributeValue::S("SN-000123".into()))
        .item(attr::SERIAL, AttributeValue::S("SN-000123".into()))
        .item(attr::CONNECTED, AttributeValue::Bool(false))
        .item(attr::CERTIFICATE_ID, AttributeValue::S(CERT.into()))
        .send()
        .await
        .unwrap();
    e
}

fn connected() -> Value {
    serde_json::from_str(include_str!("fixtures/connected.json")).unwrap()
}

fn disconnected() -> Value {
    serde_json::from_str(include_str!("fixtures/disconnected.json")).unwrap()
}

impl Env {
    async fn state(&self, node: &str) -> Option<(bool, Option<i64>)> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.tables.nodes)
            .key(attr::NODE_ID, AttributeValue::S(node.into()))
            .send()
            .await
            .unwrap();
        out.item().map(|i| {
            (
                *i[attr::CONNECTED].as_bool().unwrap(),
                i.get(attr::PRESENCE_AT).map(|v| v.as_n().unwrap().parse().unwrap()),
            )
        })
    }
}

#[tokio::test]
async fn connect_then_disconnect_in_order() {
    let e = env("order").await;
    assert_eq!(e.presence.handle(connected()).await.unwrap(), Outcome::Applied);
    assert_eq!(e.state("SN-000123").await, Some((true, Some(1573002230757))));
    assert_eq!(e.presence.handle(disconnected()).await.unwrap(), Outcome::Applied);
    assert_eq!(e.state("SN-000123").await, Some((false, Some(1573002340451))));
}

#[tokio::test]
async fn an_older_event_never_overwrites_newer_state() {
    let e = env("late").await;
    let mut reconnect = connected();
    reconnect["timestamp"] = json!(1573002400000i64);
    e.presence.handle(reconnect).await.unwrap();
    // the earlier disconnect arrives late
    assert_eq!(e.presence.handle(disconnected()).await.unwrap(), Outcome::Stale);
    assert_eq!(e.state("SN-000123").await, Some((true, Some(1573002400000))));
    // and so does a redelivered older connect
    assert_eq!(e.presence.handle(connected()).await.unwrap(), Outcome::Stale);
}

#[tokio::test]
async fn at_the_same_millisecond_disconnect_wins() {
    let mut tied = disconnected();
    tied["timestamp"] = connected()["timestamp"].clone();

    let e = env("tie-dc-first").await;
    assert_eq!(e.presence.handle(tied.clone()).await.unwrap(), Outcome::Applied);
    assert_eq!(e.presence.handle(connected()).await.unwrap(), Outcome::Stale);
    assert!(!e.state("SN-000123").await.unwrap().0);

    let e = env("tie-c-first").await;
    assert_eq!(e.presence.handle(connected()).await.unwrap(), Outcome::Applied);
    assert_eq!(e.presence.handle(tied).await.unwrap(), Outcome::Applied);
    assert!(!e.state("SN-000123").await.unwrap().0);
}

#[tokio::test]
async fn unknown_clients_and_bad_events_change_nothing() {
    let e = env("unknown").await;
    let mut stranger = connected();
    stranger["clientId"] = json!("claim-session-42");
    assert_eq!(e.presence.handle(stranger).await.unwrap(), Outcome::Stale);
    assert_eq!(e.state("claim-session-42").await, None, "no node item is created");
    let mut subscribed = connected();
    subscribed["eventType"] = json!("subscribed");
    for bad in [
        json!({}),
        json!([connected()]),
        subscribed,
        json!({"clientId": "x/y", "timestamp": 5, "eventType": "connected"}),
    ] {
        assert_eq!(e.presence.handle(bad.clone()).await.unwrap(), Outcome::Ignored, "{bad}");
    }
    assert_eq!(e.state("SN-000123").await, Some((false, None)));
}

/// Issue 8, high 2: a claim-certificate holder (or any other certificate) connects with a device's client id to
/// fake its presence. The lifecycle event names the connection's certificate, which is not the node's, so the
/// node does not change; an event without a principal is refused.
#[tokio::test]
async fn high2_claim_holder_cannot_fake_a_devices_presence() {
    let e = env("fake-presence").await;
    let mut ev = connected();
    ev["timestamp"] = json!(rainmaker_model::time::now_ms());
    ev["principalIdentifier"] = json!("3a5c9e0d6f1b2c4e8a7d9f0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d");
    assert_eq!(e.presence.handle(ev.clone()).await.unwrap(), Outcome::Stale);
    assert_eq!(e.state("SN-000123").await, Some((false, None)), "the node is untouched");
    ev.as_object_mut().unwrap().remove("principalIdentifier");
    assert_eq!(e.presence.handle(ev.clone()).await.unwrap(), Outcome::Ignored);
    ev["principalIdentifier"] = json!(CERT);
    assert_eq!(e.presence.handle(ev).await.unwrap(), Outcome::Applied, "the node's own certificate still counts");
    assert!(e.state("SN-000123").await.unwrap().0);
}
