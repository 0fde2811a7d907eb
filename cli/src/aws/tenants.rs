//! One tenant per account and region (issue 8, High 5). The backend's topic rules match `node/+/...` for the whole
//! account and region, device policies grant `thing/*` shadows and thing names are bare serials, so two tenants in
//! one account and region would receive each other's devices' messages and could provision each other's serials.
//! `apply` (and `plan`) refuse before any change when another rainmaker tenant's stacks are there, found by the
//! `rainmaker:tenant` tag every stack of this tool carries.

use super::DeployError;
use aws_sdk_cloudformation::Client;
use serde::Serialize;
use std::collections::BTreeMap;

/// A live stack, as far as this check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStack {
    pub name: String,
    pub status: String,
    pub tags: BTreeMap<String, String>,
}

/// Another tenant found in the account and region, with its stacks (`name STATUS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherTenant {
    pub tenant: String,
    pub stacks: Vec<String>,
}

/// The rainmaker tenant a stack belongs to: its `rainmaker:tenant` tag (every change set of this tool sets it; a
/// stack without it is not ours, whatever its name).
pub fn tenant_of(s: &LiveStack) -> Option<String> {
    s.tags.get("rainmaker:tenant").filter(|t| !t.is_empty()).cloned()
}

/// The other tenants among `stacks` (deleted stacks do not count), sorted by name.
pub fn others(stacks: &[LiveStack], ours: &str) -> Vec<OtherTenant> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in stacks.iter().filter(|s| s.status != "DELETE_COMPLETE") {
        if let Some(t) = tenant_of(s).filter(|t| t != ours) {
            found.entry(t).or_default().push(format!("{} {}", s.name, s.status));
        }
    }
    found.into_iter().map(|(tenant, stacks)| OtherTenant { tenant, stacks }).collect()
}

/// Every stack of the account and region (DescribeStacks without a name, every page).
pub async fn live_stacks(cfn: &Client) -> Result<Vec<LiveStack>, DeployError> {
    Ok(listed_stacks(cfn).await?.iter().map(live).collect())
}

fn live(s: &aws_sdk_cloudformation::types::Stack) -> LiveStack {
    LiveStack {
        name: s.stack_name().unwrap_or_default().to_string(),
        status: super::stack::status(s),
        tags: super::stack::tags(s),
    }
}

/// Every stack of the account and region, as DescribeStacks (no stack name, paged) returns them: parameters,
/// tags and outputs included.
pub async fn listed_stacks(cfn: &Client) -> Result<Vec<aws_sdk_cloudformation::types::Stack>, DeployError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cfn
            .describe_stacks()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| DeployError::sdk("CloudFormation DescribeStacks", e))?;
        out.extend(page.stacks().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// Refuse when another tenant is deployed in this account and region.
pub async fn refuse_others(
    cfn: &Client,
    ours: &str,
    account: &str,
    region: &str,
) -> Result<BTreeMap<String, aws_sdk_cloudformation::types::Stack>, DeployError> {
    let listed = listed_stacks(cfn).await?;
    let others = others(&listed.iter().map(live).collect::<Vec<_>>(), ours);
    if others.is_empty() {
        // the account's listing doubles as the DescribeStacks of our own stacks (a no-op apply needs no other)
        return Ok(listed
            .into_iter()
            .filter(|s| super::stack::status(s) != "DELETE_COMPLETE")
            .map(|s| (s.stack_name().unwrap_or_default().to_string(), s))
            .collect());
    }
    let list: Vec<String> = others.iter().map(|o| format!("{} ({})", o.tenant, o.stacks.join(", "))).collect();
    Err(DeployError::AnotherTenant {
        tenant: ours.to_string(),
        account: account.to_string(),
        region: region.to_string(),
        others: list.join("; "),
        first: others[0].tenant.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(name: &str, status: &str, tenant: Option<&str>) -> LiveStack {
        let tags =
            tenant.map(|t| BTreeMap::from([("rainmaker:tenant".to_string(), t.to_string())])).unwrap_or_default();
        LiveStack { name: name.into(), status: status.into(), tags }
    }

    #[test]
    fn other_tenants_are_found_by_tag_or_name_and_nothing_else_counts() {
        let stacks = [
            live("rm-acme-bootstrap", "CREATE_COMPLETE", Some("acme")),
            live("rm-acme", "UPDATE_COMPLETE", Some("acme")),
            live("rm-other-bootstrap", "CREATE_COMPLETE", Some("other")),
            live("rm-other", "REVIEW_IN_PROGRESS", Some("other")),
            live("rm-gone", "DELETE_COMPLETE", Some("gone")),
            live("rm-lookalike", "CREATE_COMPLETE", None),
            live("network-stack", "CREATE_COMPLETE", None),
            live("rm-empty-tag", "CREATE_COMPLETE", Some("")),
        ];
        assert_eq!(
            others(&stacks, "acme"),
            [OtherTenant {
                tenant: "other".into(),
                stacks: vec!["rm-other-bootstrap CREATE_COMPLETE".into(), "rm-other REVIEW_IN_PROGRESS".into()]
            }]
        );
        assert!(others(&stacks[..2], "acme").is_empty(), "our own stacks are no conflict");
        assert!(others(&[], "acme").is_empty());
    }
}
