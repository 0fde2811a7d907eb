//! Create the six backend tables exactly as `docs/backend-contract.md` (and [`rainmaker_model::Table`]) define them.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use rainmaker_model::tables::{KeySchema, KeyType as ModelKeyType};
use rainmaker_model::{Table, TableNames};
use std::sync::atomic::{AtomicU32, Ordering};

/// A table-name prefix no other test in this process uses: `t<pid>-<n>-<label>-`.
pub fn unique_prefix(label: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let label: String =
        label.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(40).collect::<String>().to_lowercase();
    format!("t{}-{}-{label}-", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Create the six tables named `<prefix><suffix>` (keys, GSIs, on-demand billing, TTL) and return their names.
/// Panics on failure: this is test setup.
pub async fn create_tables(client: &Client, prefix: &str) -> TableNames {
    let names = TableNames::with_prefix(prefix);
    let futures = Table::ALL.map(|t| create_table(client, t, names.get(t).to_string()));
    futures_util::future::join_all(futures).await;
    names
}

async fn create_table(client: &Client, table: Table, name: String) {
    let mut defs: Vec<(&str, ModelKeyType)> = Vec::new();
    let mut add = |k: &KeySchema| {
        for (a, t) in std::iter::once(k.partition).chain(k.sort) {
            if !defs.iter().any(|(n, _)| *n == a) {
                defs.push((a, t));
            }
        }
    };
    add(&table.key());
    table.gsis().iter().for_each(|g| add(&g.key));
    let mut req = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&table.key())));
    for (a, t) in defs {
        let t = match t {
            ModelKeyType::String => ScalarAttributeType::S,
            ModelKeyType::Number => ScalarAttributeType::N,
        };
        req = req
            .attribute_definitions(AttributeDefinition::builder().attribute_name(a).attribute_type(t).build().unwrap());
    }
    for g in table.gsis() {
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(g.name)
            .set_key_schema(Some(key_schema(&g.key)))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .unwrap();
        req = req.global_secondary_indexes(gsi);
    }
    req.send().await.unwrap_or_else(|e| panic!("creating table {name}: {:?}", e.into_service_error()));
    if let Some(ttl) = table.ttl_attr() {
        let spec = TimeToLiveSpecification::builder().enabled(true).attribute_name(ttl).build().unwrap();
        client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(spec)
            .send()
            .await
            .unwrap_or_else(|e| panic!("enabling TTL on {name}: {:?}", e.into_service_error()));
    }
}

fn key_schema(k: &KeySchema) -> Vec<KeySchemaElement> {
    let el = |name: &str, kt: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kt).build().unwrap();
    let mut v = vec![el(k.partition.0, KeyType::Hash)];
    if let Some((s, _)) = k.sort {
        v.push(el(s, KeyType::Range));
    }
    v
}
