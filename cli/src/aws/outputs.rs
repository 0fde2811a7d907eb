//! Stack outputs, completed from the template when the service leaves some out (moto returns none for stacks
//! created through change sets): literal values, `Ref` to a resource's physical id, and simple `Fn::Sub`.

use super::DeployError;
use std::collections::BTreeMap;

/// Fill in the template's outputs missing from `live`, using the stack's resources' physical ids.
pub fn complete(
    template: &serde_json::Value,
    live: &BTreeMap<String, String>,
    physical: &BTreeMap<String, String>,
    region: &str,
) -> BTreeMap<String, String> {
    complete_in(template, live, physical, region, None)
}

/// [`complete`], also resolving `${AWS::AccountId}` (the stack's account) and `${AWS::Partition}` in `Fn::Sub`
/// (the backend's alarm ARNs).
pub fn complete_in(
    template: &serde_json::Value,
    live: &BTreeMap<String, String>,
    physical: &BTreeMap<String, String>,
    region: &str,
    account: Option<&str>,
) -> BTreeMap<String, String> {
    let mut out = live.clone();
    let Some(outputs) = template.get("Outputs").and_then(|o| o.as_object()) else { return out };
    for (key, o) in outputs {
        if out.contains_key(key) {
            continue;
        }
        let value = o.get("Value");
        let resolved = match value {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(v) if v.get("Ref").is_some() => {
                v["Ref"].as_str().and_then(|id| physical.get(id).cloned().or_else(|| literal_name(template, id)))
            }
            Some(v) if v.get("Fn::Sub").and_then(|s| s.as_str()).is_some() => {
                sub(v["Fn::Sub"].as_str().unwrap_or_default(), physical, region, account)
            }
            _ => None,
        };
        if let Some(v) = resolved {
            out.insert(key.clone(), v);
        }
    }
    out
}

/// Name properties whose literal value is what `Ref` returns for these types (not `QueueName`: `Ref` on a queue
/// is its URL, which only the service knows).
const NAME_PROPERTIES: &[&str] = &["TableName", "FunctionName", "PolicyName", "BucketName", "LogGroupName"];

/// The physical name a resource's template gives it, when literal (`TableName: rm-x-users`).
pub fn literal_name(template: &serde_json::Value, logical_id: &str) -> Option<String> {
    let props = template.pointer(&format!("/Resources/{logical_id}/Properties"))?;
    NAME_PROPERTIES.iter().find_map(|p| props.get(*p).and_then(|v| v.as_str()).map(str::to_string))
}

fn sub(text: &str, physical: &BTreeMap<String, String>, region: &str, account: Option<&str>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        let name = &rest[start + 2..end];
        let v = match name {
            "AWS::Region" => region.to_string(),
            "AWS::URLSuffix" => "amazonaws.com".to_string(),
            "AWS::AccountId" => account?.to_string(),
            "AWS::Partition" => partition(region).to_string(),
            n => physical.get(n)?.clone(),
        };
        out.push_str(&v);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The partition of a region (`aws`, `aws-cn`, `aws-us-gov`).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Does the live stack lack any output the template declares?
pub fn incomplete(template: &serde_json::Value, live: &BTreeMap<String, String>) -> bool {
    template.get("Outputs").and_then(|o| o.as_object()).is_some_and(|o| o.keys().any(|k| !live.contains_key(k)))
}

/// [`physical_ids`], or none together with why, for callers that can go on without them (the template's literal
/// names resolve most outputs). The failure is kept, never dropped: callers name it when something they need is
/// still missing, or report it.
pub async fn physical_ids_or_failure(
    cfn: &aws_sdk_cloudformation::Client,
    stack_name: &str,
) -> (BTreeMap<String, String>, Option<String>) {
    match physical_ids(cfn, stack_name).await {
        Ok(p) => (p, None),
        Err(e) => (BTreeMap::new(), Some(e.to_string())),
    }
}

/// Physical ids of a stack's resources by logical id. Callers treat this as best effort, so it is tried once
/// without the SDK's retries (moto answers 500 for some stacks, and eight retries would cost seconds for nothing);
/// any other failure (503, throttling, a lost or dropped answer) is tried again with them, since the bucket name
/// of a bootstrap stack without outputs may depend on it.
pub async fn physical_ids(
    cfn: &aws_sdk_cloudformation::Client,
    stack_name: &str,
) -> Result<BTreeMap<String, String>, DeployError> {
    let once =
        aws_sdk_cloudformation::config::Builder::default().retry_config(aws_config::retry::RetryConfig::disabled());
    let first = cfn.describe_stack_resources().stack_name(stack_name).customize().config_override(once).send().await;
    let out = match first {
        Ok(out) => out,
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 500) => {
            return Err(DeployError::sdk("CloudFormation DescribeStackResources", e))
        }
        Err(_) => cfn
            .describe_stack_resources()
            .stack_name(stack_name)
            .send()
            .await
            .map_err(|e| DeployError::sdk("CloudFormation DescribeStackResources", e))?,
    };
    Ok(out
        .stack_resources()
        .iter()
        .filter_map(|r| Some((r.logical_resource_id()?.to_string(), r.physical_resource_id()?.to_string())))
        .filter(|(id, p)| !id.is_empty() && !p.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn missing_outputs_come_from_the_template_and_the_resources() {
        let t = serde_json::json!({"Outputs": {
            "Bucket": {"Value": {"Ref": "B"}},
            "Name": {"Value": "rm-x-fleet"},
            "Url": {"Value": {"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1"}},
            "Pool": {"Value": {"Ref": "Missing"}},
            "Kept": {"Value": {"Ref": "B"}}
        }});
        let live = [("Kept".to_string(), "live".to_string())].into_iter().collect();
        let phys =
            [("B".to_string(), "bucket-1".to_string()), ("Api".to_string(), "abc".to_string())].into_iter().collect();
        let o = super::complete(&t, &live, &phys, "eu-west-1");
        let t2 = serde_json::json!({"Resources": {"T": {"Properties": {"TableName": "rm-x-users"}}}, "Outputs": {"N": {"Value": {"Ref": "T"}}}});
        assert_eq!(super::complete(&t2, &Default::default(), &Default::default(), "r")["N"], "rm-x-users");
        assert_eq!(o["Bucket"], "bucket-1");
        assert_eq!(o["Name"], "rm-x-fleet");
        assert_eq!(o["Url"], "https://abc.execute-api.eu-west-1.amazonaws.com/v1");
        assert_eq!(o["Kept"], "live");
        assert!(!o.contains_key("Pool"));
        assert!(super::incomplete(&t, &live));
    }
}
