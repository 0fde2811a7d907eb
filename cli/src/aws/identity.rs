//! Who is calling, before anything changes: `sts:GetCallerIdentity`, the account the config names, the region the
//! SDK was given, and the tenant's local state directory keyed by account and region.

use super::sdk::{Clients, Tenant};
use super::DeployError;
use serde::Serialize;
use std::path::PathBuf;

/// The identity of the credentials in use.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

/// `sts:GetCallerIdentity` (needs no permission: any valid credentials may call it).
pub async fn caller(c: &Clients) -> Result<Caller, DeployError> {
    const OP: &str = "STS GetCallerIdentity";
    let out = c.sts.get_caller_identity().send().await.map_err(|e| DeployError::sdk(OP, e))?;
    let account = out.account().filter(|a| !a.is_empty()).ok_or(DeployError::missing(OP, "Account"))?;
    Ok(Caller { account: account.to_string(), arn: out.arn().unwrap_or_default().to_string() })
}

/// Refuse credentials of another account than the config's `account:` (none set: any account is accepted), and
/// an SDK configuration whose region is not the tenant's (a library caller's mistake; the CLI builds them equal).
pub fn check(t: &Tenant, caller: &Caller) -> Result<(), DeployError> {
    if let Some(expected) = t.config.account.as_deref().filter(|a| *a != caller.account) {
        return Err(DeployError::WrongAccount {
            expected: expected.to_string(),
            actual: caller.account.clone(),
            arn: caller.arn.clone(),
            credentials: None,
        });
    }
    match t.sdk.region().map(|r| r.as_ref().to_string()) {
        Some(r) if r != t.config.region => Err(DeployError::RegionMismatch { config: t.config.region.clone(), sdk: r }),
        _ => Ok(()),
    }
}

/// The first step of every command that reads or changes the tenant: who is calling (refused when it is the wrong
/// account), and the local state directory for that account and region (an old `.rainmaker/<tenant>/` moved into
/// it on first use).
pub async fn preflight(t: &Tenant, c: &Clients) -> Result<(Caller, PathBuf), DeployError> {
    preflight_as(t, c, None).await
}

/// [`preflight`] with the identity of `t.sdk`'s credentials already known (`upgrade` asked STS right after
/// assuming the tenant's role): no second GetCallerIdentity, the same checks and state directory.
pub async fn preflight_as(t: &Tenant, c: &Clients, known: Option<&Caller>) -> Result<(Caller, PathBuf), DeployError> {
    let caller = match known {
        Some(k) => k.clone(),
        None => caller(c).await?,
    };
    check(t, &caller)?;
    let dir = super::state::local_state(&t.config_dir, &caller.account, &t.config.region, &t.config.name)?;
    Ok((caller, dir))
}

/// The local state directory of a tenant as seen by its credentials (one GetCallerIdentity; migrates the old
/// layout): for commands outside the deploy core that keep files there (`gdpr erase`, `gdpr reapply`).
pub async fn state_dir(t: &Tenant) -> Result<PathBuf, DeployError> {
    let c = Clients::new(&t.sdk);
    Ok(preflight(t, &c).await?.1)
}
