//! `serials import`: check the whole file first (streamed, every problem reported at once, nothing written), then
//! stream it again and write the allow-list in batches: BatchGetItem (strong) per 100 serials, the decision per
//! serial ([`super::plan::decide`]), new serials in BatchWriteItem batches of 25 (unprocessed items retried), a
//! changed secret by one conditional UpdateItem (the entry must still be unprovisioned with the HMAC read).
//!
//! Memory: the serials seen (for duplicates) and one batch; the file itself is never held. Re-running the same
//! file changes nothing (`unchanged`).

use super::csv::{Reader, Record, SerialRules};
use super::error::{sdk, SerialsError};
use super::plan::{decide, Current, Outcome};
use super::resources::{SerialsClients, SerialsResources};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use rainmaker_model::attr;
use rainmaker_model::device_secret::{secret_hmac, TenantKey};
use serde::Serialize;
use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;
use std::time::Duration;

/// Keys per BatchGetItem (DynamoDB's limit).
const READ_BATCH: usize = 100;
/// Items per BatchWriteItem (DynamoDB's limit).
const WRITE_BATCH: usize = 25;
/// Attempts of a batch before its unprocessed part is an error.
const ATTEMPTS: u32 = 8;

/// A serial the import did not change, with why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refusal {
    pub serial: String,
    pub line: usize,
    pub reason: String,
}

/// What an import did (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportReport {
    pub file: String,
    pub tenant: String,
    pub dry_run: bool,
    pub lines: usize,
    pub added: usize,
    pub unchanged: usize,
    pub updated: usize,
    pub refused: usize,
    /// Serials whose secret was replaced.
    pub updated_serials: Vec<String>,
    pub refused_serials: Vec<Refusal>,
}

fn open(file: &Path) -> Result<BufReader<std::fs::File>, SerialsError> {
    let f = std::fs::File::open(file).map_err(|e| SerialsError::io(format!("reading {}", file.display()), e))?;
    Ok(BufReader::with_capacity(64 * 1024, f))
}

/// Pass 1: read the whole file and report every problem (no AWS call).
pub fn check_file(file: &Path, rules: &SerialRules) -> Result<usize, SerialsError> {
    let mut r = Reader::new(open(file)?, rules.clone());
    while r.next_record().map_err(|e| SerialsError::io(format!("reading {}", file.display()), e))?.is_some() {}
    if !r.problems.is_empty() {
        return Err(SerialsError::InvalidFile { file: file.display().to_string(), problems: r.problems });
    }
    Ok(r.lines)
}

/// Check, then import `file` (see the module documentation). `progress` gets a line every 10,000 serials.
pub async fn import(
    c: &SerialsClients,
    r: &SerialsResources,
    key: &TenantKey,
    file: &Path,
    rules: &SerialRules,
    dry_run: bool,
    progress: &dyn Fn(&str),
) -> Result<ImportReport, SerialsError> {
    let lines = check_file(file, rules)?;
    let mut report = ImportReport {
        file: file.display().to_string(),
        tenant: r.tenant.clone(),
        dry_run,
        lines,
        ..ImportReport::default()
    };
    let mut reader = Reader::new(open(file)?, rules.clone());
    let mut batch: Vec<Record> = Vec::with_capacity(READ_BATCH);
    let mut done = 0usize;
    loop {
        let next = reader.next_record().map_err(|e| SerialsError::io(format!("reading {}", file.display()), e))?;
        let end = next.is_none();
        if let Some(rec) = next {
            batch.push(rec);
        }
        if batch.len() == READ_BATCH || (end && !batch.is_empty()) {
            apply_batch(c, r, key, std::mem::take(&mut batch), dry_run, &mut report).await?;
            let before = done;
            done = report.added + report.unchanged + report.updated + report.refused;
            if done / 10_000 != before / 10_000 {
                progress(&format!("{done} of {lines} serials"));
            }
        }
        if end {
            break;
        }
    }
    if !reader.problems.is_empty() {
        // the file changed between the two passes
        return Err(SerialsError::InvalidFile { file: report.file.clone(), problems: reader.problems });
    }
    Ok(report)
}

async fn apply_batch(
    c: &SerialsClients,
    r: &SerialsResources,
    key: &TenantKey,
    batch: Vec<Record>,
    dry_run: bool,
    report: &mut ImportReport,
) -> Result<(), SerialsError> {
    let current = read_entries(c, &r.tables.serial_allowlist, batch.iter().map(|b| b.serial.as_str())).await?;
    let mut puts = Vec::new();
    for rec in batch {
        let hmac = secret_hmac(key, &rec.serial, rec.secret.expose());
        let now = current.get(&rec.serial);
        match decide(now, &hmac) {
            Outcome::Added => {
                report.added += 1;
                puts.push(new_entry(&rec.serial, &hmac)?);
            }
            Outcome::Unchanged => report.unchanged += 1,
            Outcome::Refused => refuse(report, &rec, "provisioned with another secret; never changed (reset it first)"),
            Outcome::Updated if dry_run => {
                report.updated += 1;
                report.updated_serials.push(rec.serial.clone());
            }
            Outcome::Updated => {
                if update_secret(c, &r.tables.serial_allowlist, &rec.serial, now, &hmac).await? {
                    report.updated += 1;
                    report.updated_serials.push(rec.serial.clone());
                } else {
                    refuse(report, &rec, "provisioned (or changed) while the import ran; never changed");
                }
            }
        }
    }
    if !dry_run {
        for chunk in puts.chunks(WRITE_BATCH) {
            write_batch(c, &r.tables.serial_allowlist, chunk.to_vec()).await?;
        }
    }
    Ok(())
}

fn refuse(report: &mut ImportReport, rec: &Record, reason: &str) {
    report.refused += 1;
    report.refused_serials.push(Refusal { serial: rec.serial.clone(), line: rec.line, reason: reason.into() });
}

fn new_entry(serial: &str, hmac: &str) -> Result<WriteRequest, SerialsError> {
    let item = HashMap::from([
        (attr::SERIAL.to_string(), AttributeValue::S(serial.into())),
        (attr::PROVISIONED.to_string(), AttributeValue::Bool(false)),
        (attr::SECRET_HMAC.to_string(), AttributeValue::S(hmac.into())),
    ]);
    let put =
        PutRequest::builder().set_item(Some(item)).build().map_err(|e| SerialsError::io("building a PutRequest", e))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(50u64 << attempt.min(6))
}

/// The entries of `serials` (strongly consistent), unprocessed keys retried.
pub(crate) async fn read_entries<'a>(
    c: &SerialsClients,
    table: &str,
    serials: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, Current>, SerialsError> {
    let keys: Vec<HashMap<String, AttributeValue>> =
        serials.map(|s| HashMap::from([(attr::SERIAL.to_string(), AttributeValue::S(s.into()))])).collect();
    let mut out = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let mut pending = Some(
        KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .projection_expression("#s, #p, #h")
            .expression_attribute_names("#s", attr::SERIAL)
            .expression_attribute_names("#p", attr::PROVISIONED)
            .expression_attribute_names("#h", attr::SECRET_HMAC)
            .build()
            .map_err(|e| SerialsError::io("building BatchGetItem", e))?,
    );
    for attempt in 0..ATTEMPTS {
        let Some(req) = pending.take() else { break };
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        let resp =
            c.ddb.batch_get_item().request_items(table, req).send().await.map_err(sdk("DynamoDB BatchGetItem"))?;
        for item in resp.responses().and_then(|m| m.get(table)).into_iter().flatten() {
            let Some(AttributeValue::S(serial)) = item.get(attr::SERIAL) else { continue };
            let provisioned = matches!(item.get(attr::PROVISIONED), Some(AttributeValue::Bool(true)));
            let secret_hmac = match item.get(attr::SECRET_HMAC) {
                Some(AttributeValue::S(h)) => Some(h.clone()),
                _ => None,
            };
            out.insert(serial.clone(), Current { provisioned, secret_hmac });
        }
        pending = resp.unprocessed_keys().and_then(|m| m.get(table)).filter(|k| !k.keys().is_empty()).cloned();
    }
    if let Some(left) = pending {
        return Err(SerialsError::Incomplete {
            operation: "DynamoDB BatchGetItem",
            message: format!("{} keys still unprocessed after {ATTEMPTS} attempts", left.keys().len()),
            help: "the table is throttled; run the same import again (it is idempotent)".into(),
        });
    }
    Ok(out)
}

async fn write_batch(c: &SerialsClients, table: &str, items: Vec<WriteRequest>) -> Result<(), SerialsError> {
    let mut pending = items;
    for attempt in 0..ATTEMPTS {
        if pending.is_empty() {
            return Ok(());
        }
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        let resp = c
            .ddb
            .batch_write_item()
            .request_items(table, pending)
            .send()
            .await
            .map_err(sdk("DynamoDB BatchWriteItem"))?;
        pending = resp.unprocessed_items().and_then(|m| m.get(table)).cloned().unwrap_or_default();
    }
    if pending.is_empty() {
        return Ok(());
    }
    Err(SerialsError::Incomplete {
        operation: "DynamoDB BatchWriteItem",
        message: format!("{} items still unprocessed after {ATTEMPTS} attempts", pending.len()),
        help: "the table is throttled; run the same import again (it is idempotent: written serials are unchanged)"
            .into(),
    })
}

/// Replace the HMAC of an unprovisioned entry, conditioned on the entry read; `false` when it changed meanwhile.
async fn update_secret(
    c: &SerialsClients,
    table: &str,
    serial: &str,
    read: Option<&Current>,
    hmac: &str,
) -> Result<bool, SerialsError> {
    let mut u = c
        .ddb
        .update_item()
        .table_name(table)
        .key(attr::SERIAL, AttributeValue::S(serial.into()))
        .update_expression("SET #h = :h")
        .expression_attribute_names("#h", attr::SECRET_HMAC)
        .expression_attribute_names("#p", attr::PROVISIONED)
        .expression_attribute_values(":h", AttributeValue::S(hmac.into()))
        .expression_attribute_values(":false", AttributeValue::Bool(false));
    u = match read.and_then(|r| r.secret_hmac.as_deref()) {
        Some(old) => u
            .condition_expression("(attribute_not_exists(#p) OR #p = :false) AND #h = :old")
            .expression_attribute_values(":old", AttributeValue::S(old.into())),
        None => u
            .condition_expression(
                "attribute_exists(#s) AND (attribute_not_exists(#p) OR #p = :false) AND attribute_not_exists(#h)",
            )
            .expression_attribute_names("#s", attr::SERIAL),
    };
    match u.send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(sdk("DynamoDB UpdateItem")(e)),
    }
}
