//! Test data for a deployed tenant (moto or real): users in the pool, nodes with things, certificates and shadows,
//! grants, shares, telemetry and binding requests, written the way the backend's functions write them: each node
//! is listed on the serial allow-list and provisioned with its own IoT certificate through
//! `rainmaker_model::write::provision`, bound through `write::bind` (owner, `owner_epoch`, the owner grant with the
//! same `epoch`) and shared through `write::share`; the other items as the model's item types. Used by `cargo
//! xtask seed`, the demo, the benchmark and the tests.

use super::error::sdk;
use super::{GdprClients, GdprError, Report, Resources};
use aws_sdk_cognitoidentityprovider::types::{AttributeType, MessageActionType};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, TransactWriteItem, WriteRequest};
use rainmaker_model::ddb::{n, s, to_item, Item};
use rainmaker_model::{attr, ownership, write, BindingRequest, Telemetry, User};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// How much to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub users: usize,
    pub nodes_per_user: usize,
    pub telemetry_per_node: usize,
    /// Each user shares their first node with this many other users.
    pub shares: usize,
    /// Makes names unique per run (upper-case letters and digits).
    pub tag: String,
}

/// One seeded user.
#[derive(Debug, Clone, Serialize)]
pub struct SeededUser {
    pub user_id: String,
    pub email: String,
    pub owned_nodes: Vec<String>,
    pub shared_with_me: Vec<String>,
    /// The user's pending binding request is for this unbound node.
    pub binding_request_node: String,
}

/// `{"users": [...]}`.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    pub users: Vec<SeededUser>,
    pub telemetry_per_node: usize,
}

/// A random tag of 6 upper-case hex digits.
pub fn random_tag() -> Result<String, GdprError> {
    let mut b = [0u8; 3];
    getrandom::fill(&mut b).map_err(|e| GdprError::io("random tag", e))?;
    Ok(hex::encode_upper(b))
}

fn ddb_err(op: &'static str, e: rainmaker_model::ModelError) -> GdprError {
    GdprError::Model { operation: op, message: e.to_string(), help: "a model item did not convert".into() }
}

async fn put(c: &GdprClients, table: &str, item: Item) -> Result<(), GdprError> {
    c.ddb.put_item().table_name(table).set_item(Some(item)).send().await.map_err(sdk("DynamoDB PutItem"))?;
    Ok(())
}

/// Write `items` to `table` 25 at a time, retrying unprocessed items with a backoff.
pub async fn batch_put(c: &GdprClients, table: &str, items: Vec<Item>) -> Result<(), GdprError> {
    for chunk in items.chunks(25) {
        let pending: Vec<WriteRequest> = chunk
            .iter()
            .map(|i| {
                let put =
                    PutRequest::builder().set_item(Some(i.clone())).build().map_err(|e| GdprError::io("put", e))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, GdprError>>()?;
        super::batch::write_all(c, table, pending, |_, _| {
            GdprError::io("seeding", "BatchWriteItem kept returning unprocessed items")
        })
        .await?;
    }
    Ok(())
}

async fn create_user(c: &GdprClients, r: &Resources, username: &str, email: &str) -> Result<String, GdprError> {
    let attr =
        |k: &str, v: &str| AttributeType::builder().name(k).value(v).build().map_err(|e| GdprError::io("attr", e));
    let out = c
        .cognito
        .admin_create_user()
        .user_pool_id(&r.user_pool_id)
        .username(username)
        .user_attributes(attr("email", email)?)
        .user_attributes(attr("email_verified", "true")?)
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .map_err(sdk("Cognito AdminCreateUser"))?;
    let sub = out.user().and_then(|u| u.attributes().iter().find(|a| a.name() == "sub")).and_then(|a| a.value());
    sub.map(str::to_string).ok_or_else(|| GdprError::Model {
        operation: "Cognito AdminCreateUser",
        message: format!("user {username} came back without a sub"),
        help: "check --user-pool-id".into(),
    })
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> GdprError {
    GdprError::io("building a DynamoDB request", e)
}

async fn transact(c: &GdprClients, items: Vec<TransactWriteItem>) -> Result<(), GdprError> {
    c.ddb
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
        .map_err(sdk("DynamoDB TransactWriteItems"))?;
    Ok(())
}

/// A device as fleet provisioning leaves it: a thing with attributes and its own active certificate attached, the
/// serial on the allow-list (as the maker lists it) and claimed by that certificate through the hook's write path
/// (allow-list entry provisioned, node item with `certificate_id`). Returns the certificate id.
async fn provision_node(c: &GdprClients, r: &Resources, node: &str, model: &str, at: i64) -> Result<String, GdprError> {
    let attrs =
        aws_sdk_iot::types::AttributePayload::builder().attributes("serial", node).attributes("model", model).build();
    c.iot.create_thing().thing_name(node).attribute_payload(attrs).send().await.map_err(sdk("IoT CreateThing"))?;
    let cert = c
        .iot
        .create_keys_and_certificate()
        .set_as_active(true)
        .send()
        .await
        .map_err(sdk("IoT CreateKeysAndCertificate"))?;
    let missing = |what: &str| GdprError::Model {
        operation: "IoT CreateKeysAndCertificate",
        message: format!("the response has no {what}"),
        help: "the IoT endpoint did not answer like AWS IoT; check --endpoint-url".into(),
    };
    let id = cert.certificate_id().ok_or_else(|| missing("certificateId"))?.to_string();
    let arn = cert.certificate_arn().ok_or_else(|| missing("certificateArn"))?;
    c.iot
        .attach_thing_principal()
        .thing_name(node)
        .principal(arn)
        .send()
        .await
        .map_err(sdk("IoT AttachThingPrincipal"))?;
    // a seeded device has no factory secret: its entry carries a random value that no secret's HMAC matches
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| GdprError::io("random secret HMAC", e))?;
    let hmac = hex::encode(random);
    let listed: Item = [
        (attr::SERIAL.to_string(), s(node)),
        (attr::PROVISIONED.to_string(), AttributeValue::Bool(false)),
        (attr::SECRET_HMAC.to_string(), s(&hmac)),
    ]
    .into();
    put(c, &r.tables.serial_allowlist, listed).await?;
    transact(c, write::provision(&r.tables, node, &id, &hmac, at).map_err(build_err)?.into()).await?;
    Ok(id)
}

fn random_u32() -> Result<u32, GdprError> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(|e| GdprError::io("random epoch", e))?;
    Ok(u32::from_be_bytes(b))
}

async fn shadow(c: &GdprClients, node: &str, name: Option<&str>, doc: serde_json::Value) -> Result<(), GdprError> {
    c.iotdata
        .update_thing_shadow()
        .thing_name(node)
        .set_shadow_name(name.map(str::to_string))
        .payload(aws_smithy_types::Blob::new(doc.to_string()))
        .send()
        .await
        .map_err(sdk("IoT UpdateThingShadow"))?;
    Ok(())
}

/// Seed the tenant; telemetry of the nodes is written concurrently (one task per node).
pub async fn seed(
    c: &GdprClients,
    r: &Resources,
    o: &SeedOptions,
    progress: &dyn Report,
) -> Result<SeedReport, GdprError> {
    let now = super::now_ms();
    let ttl = i64::from(r.retention.telemetry_ttl_days) * 86_400;
    // readings 1 s apart, all in the past, all after the ownership began
    let granted_at = now - (o.telemetry_per_node as i64 + 60) * 1000;
    let mut users = Vec::new();
    let mut epochs: HashMap<String, String> = HashMap::new();
    for i in 0..o.users {
        let username = format!("seed-{}-{i}", o.tag.to_lowercase());
        let email = format!("{username}@example.com");
        let sub = create_user(c, r, &username, &email).await?;
        let user = User { user_id: sub.clone(), email: Some(email.clone()), created_at: granted_at - 1000 };
        put(c, &r.tables.users, to_item(&user).map_err(|e| ddb_err("users", e))?).await?;
        let mut owned = Vec::new();
        for j in 0..o.nodes_per_user {
            let node_id = format!("SEED{}U{i}N{j}", o.tag);
            let cert = provision_node(c, r, &node_id, "seed-bulb", granted_at - 10_000).await?;
            let epoch = ownership::epoch(granted_at, random_u32()?);
            transact(c, write::bind(&r.tables, &node_id, &sub, &cert, &epoch, granted_at).map_err(build_err)?.into())
                .await?;
            // what the presence and telemetry-ingest functions record
            c.ddb
                .update_item()
                .table_name(&r.tables.nodes)
                .key(attr::NODE_ID, s(&node_id))
                .update_expression("SET #c = :c, #p = :p, #l = :l")
                .expression_attribute_names("#c", attr::CONNECTED)
                .expression_attribute_names("#p", attr::PRESENCE_AT)
                .expression_attribute_names("#l", attr::LAST_SEEN_AT)
                .expression_attribute_values(":c", AttributeValue::Bool(j % 2 == 0))
                .expression_attribute_values(":p", n(granted_at))
                .expression_attribute_values(":l", n(now - 5_000))
                .send()
                .await
                .map_err(sdk("DynamoDB UpdateItem"))?;
            epochs.insert(node_id.clone(), epoch);
            shadow(
                c,
                &node_id,
                None,
                json!({"state": {"reported": {"power": true, "brightness": j}, "desired": {"power": true}}}),
            )
            .await?;
            shadow(c, &node_id, Some("schedule"), json!({"state": {"reported": {"on": "07:00", "off": "23:00"}}}))
                .await?;
            owned.push(node_id);
        }
        // one pending binding request, for an unbound node
        let free = format!("SEED{}U{i}FREE", o.tag);
        provision_node(c, r, &free, "seed-plug", granted_at).await?;
        let req = BindingRequest {
            binding_code: format!("B{}{i:04}", o.tag),
            user_id: sub.clone(),
            node_id: free.clone(),
            created_at: now,
            expires_at: now / 1000 + i64::from(r.retention.binding_code_ttl_seconds),
        };
        put(c, &r.tables.binding_requests, to_item(&req).map_err(|e| ddb_err("binding_requests", e))?).await?;
        progress.source("seed users", i as u64 + 1, false);
        users.push(SeededUser {
            user_id: sub,
            email,
            owned_nodes: owned,
            shared_with_me: vec![],
            binding_request_node: free,
        });
    }
    progress.source("seed users", users.len() as u64, true);

    // shares: user i shares their first node with the next `shares` users
    let count = users.len();
    let mut shared: HashMap<usize, Vec<String>> = HashMap::new();
    for i in 0..count {
        let Some(node) = users[i].owned_nodes.first().cloned() else { continue };
        for k in 1..=o.shares.min(count.saturating_sub(1)) {
            let t = (i + k) % count;
            let (owner, target) = (&users[i].user_id, &users[t].user_id);
            let epoch = epochs.get(&node).map(String::as_str);
            transact(
                c,
                write::share(&r.tables, &node, owner, target, epoch, granted_at + 500).map_err(build_err)?.into(),
            )
            .await?;
            shared.entry(t).or_default().push(node.clone());
        }
    }
    for (t, nodes) in shared {
        users[t].shared_with_me = nodes;
        users[t].shared_with_me.sort();
    }

    // telemetry, concurrently per node
    let mut tasks = tokio::task::JoinSet::new();
    for node in users.iter().flat_map(|u| u.owned_nodes.clone()) {
        let c = c.clone();
        let table = r.tables.telemetry.clone();
        let k = o.telemetry_per_node;
        tasks.spawn(async move {
            let mut batch = Vec::with_capacity(500);
            for x in 0..k {
                let ts = granted_at + 1000 * (x as i64 + 1);
                let t = Telemetry {
                    node_id: node.clone(),
                    ts,
                    params: json!({"temp": 20.0 + (x % 10) as f64 / 2.0, "seq": x})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    received_at: ts + 40,
                    expires_at: ts / 1000 + ttl,
                    msg_id: Some(format!("m{x}")),
                };
                batch.push(to_item(&t).map_err(|e| ddb_err("telemetry", e))?);
                if batch.len() == 500 {
                    batch_put(&c, &table, std::mem::take(&mut batch)).await?;
                }
            }
            batch_put(&c, &table, batch).await?;
            Ok::<u64, GdprError>(k as u64)
        });
    }
    let mut written = 0u64;
    while let Some(done) = tasks.join_next().await {
        written += done.map_err(|e| GdprError::io("seeding telemetry", e))??;
        progress.source("seed telemetry", written, false);
    }
    progress.source("seed telemetry", written, true);
    Ok(SeedReport { users, telemetry_per_node: o.telemetry_per_node })
}
