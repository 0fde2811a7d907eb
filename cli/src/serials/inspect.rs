//! `serials list` (a paginated Scan of the allow-list, streamed out page by page) and `serials show SERIAL` (the
//! allow-list entry, the node, the certificate's status from IoT, the thing). Neither prints a secret, its HMAC
//! or a user id.

use super::error::{sdk, SerialsError};
use super::resources::{SerialsClients, SerialsResources};
use aws_sdk_dynamodb::types::AttributeValue;
use rainmaker_model::attr;
use serde::Serialize;
use std::collections::HashMap;

/// Which entries `list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Provisioned,
    Unprovisioned,
}

/// One allow-list entry as shown (no secret, no HMAC: only whether one is set).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    pub serial: String,
    pub provisioned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioned_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_id: Option<String>,
    /// A device secret's HMAC is on the entry (without one the hook refuses the serial).
    pub secret_set: bool,
}

fn text(item: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &HashMap<String, AttributeValue>, k: &str) -> Option<i64> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

pub(crate) fn entry(item: &HashMap<String, AttributeValue>) -> Option<Entry> {
    Some(Entry {
        serial: text(item, attr::SERIAL)?,
        provisioned: matches!(item.get(attr::PROVISIONED), Some(AttributeValue::Bool(true))),
        provisioned_at: number(item, attr::PROVISIONED_AT),
        certificate_id: text(item, attr::CERTIFICATE_ID),
        secret_set: item.contains_key(attr::SECRET_HMAC),
    })
}

/// Scan the allow-list, calling `each` per entry as the pages arrive; the count.
pub async fn list(
    c: &SerialsClients,
    r: &SerialsResources,
    filter: Filter,
    each: &mut dyn FnMut(&Entry),
) -> Result<usize, SerialsError> {
    let mut scan = c
        .ddb
        .scan()
        .table_name(&r.tables.serial_allowlist)
        .projection_expression("#s, #p, #at, #c, #h")
        .expression_attribute_names("#s", attr::SERIAL)
        .expression_attribute_names("#p", attr::PROVISIONED)
        .expression_attribute_names("#at", attr::PROVISIONED_AT)
        .expression_attribute_names("#c", attr::CERTIFICATE_ID)
        .expression_attribute_names("#h", attr::SECRET_HMAC);
    scan = match filter {
        Filter::All => scan,
        Filter::Provisioned => {
            scan.filter_expression("#p = :t").expression_attribute_values(":t", AttributeValue::Bool(true))
        }
        Filter::Unprovisioned => scan
            .filter_expression("attribute_not_exists(#p) OR #p = :f")
            .expression_attribute_values(":f", AttributeValue::Bool(false)),
    };
    let mut pages = scan.into_paginator().send();
    let mut n = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk("DynamoDB Scan"))?;
        for item in page.items() {
            if let Some(e) = entry(item) {
                each(&e);
                n += 1;
            }
        }
    }
    Ok(n)
}

/// What `show` prints about one serial.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    #[serde(flatten)]
    pub entry: Entry,
    /// The certificate's status in IoT (`ACTIVE`, `REVOKED`, ...; `NOT_FOUND` when IoT has no such certificate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_status: Option<String>,
    /// The thing (= serial) exists in IoT.
    pub thing: bool,
    /// The node item exists.
    pub node: bool,
    /// The node has an owner (who is not shown).
    pub owner: bool,
}

/// Everything about one serial (see [`Shown`]).
pub async fn show(c: &SerialsClients, r: &SerialsResources, serial: &str) -> Result<Shown, SerialsError> {
    let entry = get_consistent(c, &r.tables.serial_allowlist, attr::SERIAL, serial)
        .await?
        .as_ref()
        .and_then(entry)
        .ok_or_else(|| SerialsError::Unknown { serial: serial.into(), tenant: r.tenant.clone() })?;
    let node = get_consistent(c, &r.tables.nodes, attr::NODE_ID, serial).await?;
    let certificate_status = match &entry.certificate_id {
        Some(id) => Some(certificate(c, id).await?.status),
        None => None,
    };
    let thing = match c.iot.describe_thing().thing_name(serial).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => false,
        Err(e) => return Err(sdk("IoT DescribeThing")(e)),
    };
    Ok(Shown {
        certificate_status,
        thing,
        node: node.is_some(),
        owner: node.as_ref().is_some_and(|i| i.contains_key(attr::OWNER_ID)),
        entry,
    })
}

/// One item by its key, strongly consistent (`None` when there is none).
pub(crate) async fn get_consistent(
    c: &SerialsClients,
    table: &str,
    key: &str,
    value: &str,
) -> Result<Option<HashMap<String, AttributeValue>>, SerialsError> {
    let out = c
        .ddb
        .get_item()
        .table_name(table)
        .key(key, AttributeValue::S(value.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(sdk("DynamoDB GetItem"))?;
    Ok(out.item)
}

/// A certificate as IoT describes it.
pub(crate) struct Certificate {
    /// `DescribeCertificate`'s status, `NOT_FOUND` when IoT has no such certificate.
    pub status: String,
    /// Its ARN (`None` when IoT has no such certificate).
    pub arn: Option<String>,
}

/// One `DescribeCertificate`: the status and the ARN.
pub(crate) async fn certificate(c: &SerialsClients, id: &str) -> Result<Certificate, SerialsError> {
    match c.iot.describe_certificate().certificate_id(id).send().await {
        Ok(out) => {
            let d = out.certificate_description();
            Ok(Certificate {
                status: d.and_then(|d| d.status()).map(|s| s.as_str().to_string()).unwrap_or_else(|| "UNKNOWN".into()),
                arn: d.and_then(|d| d.certificate_arn()).map(str::to_string),
            })
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {
            Ok(Certificate { status: "NOT_FOUND".into(), arn: None })
        }
        Err(e) => Err(sdk("IoT DescribeCertificate")(e)),
    }
}

/// ms since the epoch as RFC 3339 UTC to the second.
pub fn rfc3339(ms: i64) -> String {
    aws_smithy_types::DateTime::from_millis(ms)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| ms.to_string())
}
