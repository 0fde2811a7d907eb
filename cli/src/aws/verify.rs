//! The verification pass: check through each service's own API (not the stack status) that what the backend
//! needs is there: tables ACTIVE, functions running the deployed code hash, IoT policies present, and every
//! store encrypted as `security.kms` says (tables, log groups, functions, the queue, the key secrets; see
//! [`encryption`]).

pub mod encryption;
mod encryption_reads;

use super::sdk::Clients;
pub use encryption::Omissions;
use serde::Serialize;
use std::collections::BTreeMap;

/// One check.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub logical_id: String,
    pub resource_type: String,
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// What to check, read from the rendered template: physical names by logical id, and the code parameter of each
/// function.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub tables: Vec<(String, String)>,
    /// (logical id, function name, code-key parameter)
    pub functions: Vec<(String, String, String)>,
    pub policies: Vec<(String, String)>,
    /// (logical id, log group name)
    pub log_groups: Vec<(String, String)>,
    /// (logical id, queue name)
    pub queues: Vec<(String, String)>,
    /// (logical id, secret name)
    pub secrets: Vec<(String, String)>,
    /// The tenant key's alias (`alias/rm-<tenant>`) when the template has one (`security.kms: customer-managed`).
    pub tenant_key_alias: Option<String>,
}

impl Expectations {
    pub fn from_template(t: &serde_json::Value) -> Expectations {
        let mut x = Expectations::default();
        let Some(resources) = t.get("Resources").and_then(|r| r.as_object()) else { return x };
        let prop = |r: &serde_json::Value, k: &str| {
            r.pointer(&format!("/Properties/{k}")).and_then(|v| v.as_str()).map(str::to_string)
        };
        for (id, r) in resources {
            match r.get("Type").and_then(|v| v.as_str()).unwrap_or_default() {
                "AWS::DynamoDB::Table" => x.tables.extend(prop(r, "TableName").map(|n| (id.clone(), n))),
                "AWS::Lambda::Function" => {
                    let param = r
                        .pointer("/Properties/Code/S3Key/Ref")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string();
                    x.functions.extend(prop(r, "FunctionName").map(|n| (id.clone(), n, param)));
                }
                "AWS::IoT::Policy" => x.policies.extend(prop(r, "PolicyName").map(|n| (id.clone(), n))),
                "AWS::Logs::LogGroup" => x.log_groups.extend(prop(r, "LogGroupName").map(|n| (id.clone(), n))),
                "AWS::SQS::Queue" => x.queues.extend(prop(r, "QueueName").map(|n| (id.clone(), n))),
                "AWS::SecretsManager::Secret" => x.secrets.extend(prop(r, "Name").map(|n| (id.clone(), n))),
                "AWS::KMS::Alias" => x.tenant_key_alias = prop(r, "AliasName"),
                _ => {}
            }
        }
        x
    }
}

/// Run every check; `code_sha256` maps a code-key parameter to the hex SHA-256 of the zip deployed with it. The
/// encryption checks come after the others, one per store (`om`: how a field the endpoint left out is judged).
pub async fn run(c: &Clients, x: &Expectations, code_sha256: &BTreeMap<String, String>, om: Omissions) -> Vec<Check> {
    let mut checks = Vec::new();
    let want = encryption_reads::want(c, x).await;
    let judge = |f: &dyn Fn(&encryption::Want) -> encryption::Verdict| match &want {
        Ok(w) => f(w),
        Err(e) => (false, format!("encryption not judged: the tenant key: {e}")),
    };
    let mut sealed = Vec::new();
    for (id, name) in &x.tables {
        let (ok, detail) = match c.ddb.describe_table().table_name(name).send().await {
            Ok(out) => {
                let status =
                    out.table().and_then(|t| t.table_status()).map(|s| s.as_str().to_string()).unwrap_or_default();
                let sse = out.table().and_then(|t| t.sse_description()).map(|d| {
                    let status = d.status().map(|s| s.as_str()).unwrap_or_default();
                    (status, d.sse_type().map(|s| s.as_str()).unwrap_or_default(), d.kms_master_key_arn())
                });
                let verdict = judge(&|w| encryption::table(w, sse, om));
                sealed.push(Check { detail: verdict.1, ok: verdict.0, ..check(id, "AWS::DynamoDB::Table", name) });
                (status == "ACTIVE", format!("status {status}"))
            }
            Err(e) => (false, super::DeployError::sdk("DynamoDB DescribeTable", e).to_string()),
        };
        checks.push(Check {
            logical_id: id.clone(),
            resource_type: "AWS::DynamoDB::Table".into(),
            name: name.clone(),
            ok,
            detail,
        });
    }
    for (id, name, param) in &x.functions {
        let want = code_sha256.get(param).map(|h| base64_of_hex(h));
        let (ok, detail) = match c.lambda.get_function().function_name(name).send().await {
            Ok(out) => {
                let key = out.configuration().and_then(|f| f.kms_key_arn());
                let verdict = judge(&|w| encryption::key_field(w, "KMSKeyArn", key, true, om));
                sealed.push(Check { detail: verdict.1, ok: verdict.0, ..check(id, "AWS::Lambda::Function", name) });
                let have = out.configuration().and_then(|f| f.code_sha256()).unwrap_or_default().to_string();
                match &want {
                    Some(w) if *w == have => (true, format!("code {have}")),
                    Some(w) => (false, format!("code {have}, expected {w}")),
                    None => (true, format!("code {have} (no expected hash)")),
                }
            }
            Err(e) => (false, super::DeployError::sdk("Lambda GetFunction", e).to_string()),
        };
        checks.push(Check {
            logical_id: id.clone(),
            resource_type: "AWS::Lambda::Function".into(),
            name: name.clone(),
            ok,
            detail,
        });
    }
    for (id, name) in &x.policies {
        let (ok, detail) = match c.iot.get_policy().policy_name(name).send().await {
            Ok(out) => (true, format!("version {}", out.default_version_id().unwrap_or("?"))),
            Err(e) => (false, super::DeployError::sdk("IoT GetPolicy", e).to_string()),
        };
        checks.push(Check {
            logical_id: id.clone(),
            resource_type: "AWS::IoT::Policy".into(),
            name: name.clone(),
            ok,
            detail,
        });
    }
    match &want {
        Ok(w) => {
            checks.extend(sealed);
            encryption_reads::log_groups(c, x, w, om, &mut checks).await;
            encryption_reads::queues(c, x, w, &mut checks).await;
            encryption_reads::secrets(c, x, w, om, &mut checks).await;
        }
        Err(e) => checks.push(Check {
            detail: format!(
                "encryption not judged: the tenant key {}: {e}",
                x.tenant_key_alias.as_deref().unwrap_or("?")
            ),
            ..check("TenantKey", "AWS::KMS::Key", x.tenant_key_alias.as_deref().unwrap_or("TenantKey"))
        }),
    }
    checks
}

fn check(id: &str, ty: &str, name: &str) -> Check {
    Check { logical_id: id.into(), resource_type: ty.into(), name: name.into(), ok: false, detail: String::new() }
}

/// Lambda reports `CodeSha256` as base64 of the digest; manifests carry hex.
pub fn base64_of_hex(hex_digest: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = hex::decode(hex_digest).unwrap_or_default();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_lambda_code_sha256() {
        // sha256("") in hex and as Lambda prints it
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(super::base64_of_hex(hex), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(super::base64_of_hex("6162"), "YWI=");
    }
}
