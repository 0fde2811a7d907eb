//! Looking up what a tenant kept, by the names its template declares: DynamoDB DescribeTable, Secrets Manager
//! DescribeSecret, Cognito ListUserPools (names are not unique: every page) + DescribeUserPool. "Not found" is
//! an answer; any other failure is reported as itself.

use super::{Declared, Found, FoundPool, Keys, Wanted};
use crate::aws::sdk::Clients;
use crate::aws::DeployError;
use std::collections::BTreeMap;

/// What exists under each wanted resource's name (absent: nothing there).
pub async fn find(c: &Clients, wanted: &[Wanted]) -> Result<BTreeMap<String, Found>, DeployError> {
    let mut found = BTreeMap::new();
    let mut pools: Option<Vec<(String, String)>> = None;
    for w in wanted {
        let f = match &w.declared {
            Declared::Table { name, .. } => table(c, name).await?,
            Declared::Secret { name } => secret(c, name).await?,
            Declared::UserPool { name, .. } => {
                if pools.is_none() {
                    pools = Some(list_pools(c).await?);
                }
                let mut matching = Vec::new();
                for (id, _) in pools.iter().flatten().filter(|(_, n)| n == name) {
                    matching.push(pool(c, id).await?);
                }
                Some(Found::UserPools(matching)).filter(|f| !matches!(f, Found::UserPools(v) if v.is_empty()))
            }
        };
        if let Some(f) = f {
            found.insert(w.logical_id.clone(), f);
        }
    }
    Ok(found)
}

fn keys(schema: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> Keys {
    let mut k: Keys =
        schema.iter().map(|e| (e.attribute_name().to_string(), e.key_type().as_str().to_string())).collect();
    k.sort_by_key(|(_, t)| t != "HASH");
    k
}

async fn table(c: &Clients, name: &str) -> Result<Option<Found>, DeployError> {
    let out = match c.ddb.describe_table().table_name(name).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => return Ok(None),
        Err(e) => return Err(DeployError::sdk("DynamoDB DescribeTable", e)),
    };
    let Some(t) = out.table() else { return Err(DeployError::missing("DynamoDB DescribeTable", "Table")) };
    let attribute_types = t
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name().to_string(), a.attribute_type().as_str().to_string()))
        .collect();
    let indexes = t
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| Some((g.index_name()?.to_string(), keys(g.key_schema()))))
        .collect();
    Ok(Some(Found::Table {
        keys: keys(t.key_schema()),
        attribute_types,
        indexes,
        status: t.table_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
    }))
}

async fn secret(c: &Clients, name: &str) -> Result<Option<Found>, DeployError> {
    match c.secrets.describe_secret().secret_id(name).send().await {
        Ok(out) => {
            let arn = out.arn().ok_or(DeployError::missing("Secrets Manager DescribeSecret", "ARN"))?.to_string();
            Ok(Some(Found::Secret { arn, deleted: out.deleted_date().map(|d| d.to_string()) }))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(None),
        Err(e) => Err(DeployError::sdk("Secrets Manager DescribeSecret", e)),
    }
}

/// Every user pool of the account and region: (id, name) (ListUserPools, every page).
pub(crate) async fn list_pools(c: &Clients) -> Result<Vec<(String, String)>, DeployError> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .cognito
            .list_user_pools()
            .max_results(60)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| DeployError::sdk("Cognito ListUserPools", e))?;
        for p in out.user_pools() {
            if let (Some(id), Some(name)) = (p.id(), p.name()) {
                all.push((id.to_string(), name.to_string()));
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(all),
        }
    }
}

async fn pool(c: &Clients, id: &str) -> Result<FoundPool, DeployError> {
    let out = c
        .cognito
        .describe_user_pool()
        .user_pool_id(id)
        .send()
        .await
        .map_err(|e| DeployError::sdk("Cognito DescribeUserPool", e))?;
    let p = out.user_pool().ok_or(DeployError::missing("Cognito DescribeUserPool", "UserPool"))?;
    let mut username_attributes: Vec<String> = p.username_attributes().iter().map(|a| a.as_str().to_string()).collect();
    username_attributes.sort();
    Ok(FoundPool { id: id.to_string(), username_attributes })
}
