//! `rainmaker-deploy doctor`: is this machine and account ready for `apply`? Credentials, reach, quotas, linters,
//! Lambdas and config, each ok/warn/fail with a fix; `--output json`; exit 0 only when nothing fails.

use crate::cli::{ArtifactsArg, GlobalArgs};
use crate::doctor::{self, aws, local, Check, Summary};
use crate::template::{self, Names};
use clap::Args;
use miette::{Diagnostic, Result};
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub artifacts: ArtifactsArg,
}

#[derive(Serialize)]
struct Report {
    ok: bool,
    summary: Summary,
    region: Option<String>,
    seconds: f64,
    checks: Vec<Check>,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("doctor: {fail} check{} failed", if *fail == 1 { "" } else { "s" })]
#[diagnostic(code(rainmaker::doctor::failed), help("each failed check above names its fix"))]
struct Failed {
    fail: usize,
}

pub fn run(g: &GlobalArgs, args: &DoctorArgs) -> Result<()> {
    let start = Instant::now();
    let (config_check, cfg) = local::config(g);
    let tenant = cfg.as_ref().map(tenant_of).unwrap_or_default();
    let rt = super::common::runtime()?;
    let (region, mut checks) = rt.block_on(async {
        let Some((region, from)) =
            aws::region(g.region.as_deref(), cfg.as_ref().map(|c| c.region.as_str()), g.profile.as_deref()).await
        else {
            let fail = Check::fail(
                "credentials",
                "no region: no --region, no config, and AWS_REGION and the profile name none",
                "pass --region REGION (or set AWS_REGION, or `region =` in the profile)",
            );
            return (None, vec![fail]);
        };
        let target = aws::Target {
            profile: g.profile.clone(),
            region: region.clone(),
            region_from: from,
            endpoint_url: g.endpoint_url.clone(),
        };
        let sdk = aws::sdk(&target).await;
        (Some(region), aws::checks(&target, &sdk, &tenant).await)
    });
    // found as `validate` finds them
    checks.push(local::tool("cfn-lint", "CFN_LINT", crate::cfn_lint::find(), "validate's cfn-lint pass"));
    checks.push(local::tool("checkov", "CHECKOV", crate::checkov::find(), "validate's checkov scan"));
    checks.push(local::lambdas(args.artifacts.artifacts.as_deref()));
    checks.push(config_check);
    let summary = doctor::summarize(&checks);
    let report = Report { ok: summary.fail == 0, summary, region, seconds: start.elapsed().as_secs_f64(), checks };
    crate::output::emit(g.output, &report, || doctor::to_text(&report.checks))?;
    if summary.fail > 0 {
        return Err(Failed { fail: summary.fail }.into());
    }
    Ok(())
}

/// What the config's tenant adds to the account: its topic rules and policies, and how to recognise its own.
fn tenant_of(cfg: &crate::config::Config) -> aws::Tenant {
    let names = Names::new(&cfg.name);
    let (mut rules, mut policies) = (0u64, 0u64);
    if let Ok(rendered) = template::render(cfg) {
        for s in &rendered.stacks {
            if let Ok(v) = template::parse(&s.body) {
                rules += count_type(&v, "AWS::IoT::TopicRule");
                policies += count_type(&v, "AWS::IoT::Policy");
            }
        }
    }
    aws::Tenant {
        rule_prefix: Some(format!("{}_", names.rule_prefix)),
        policy_prefix: Some(format!("{}-", names.prefix)),
        topic_rules: Some(rules),
        policies: Some(policies),
    }
}

/// How many resources of type `ty` a template declares.
fn count_type(template: &serde_json::Value, ty: &str) -> u64 {
    template
        .get("Resources")
        .and_then(|r| r.as_object())
        .map_or(0, |r| r.values().filter(|v| v.get("Type").and_then(|t| t.as_str()) == Some(ty)).count() as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_smart_home_tenant_adds_three_rules_and_two_policies() {
        let cfg = crate::config::blueprint_config("smart-home", "acme-home", "eu-west-1").expect("the blueprint");
        let t = super::tenant_of(&cfg);
        assert_eq!((t.topic_rules, t.policies), (Some(3), Some(2)));
        assert_eq!(t.rule_prefix.as_deref(), Some("rm_acme_home_"));
    }
}
