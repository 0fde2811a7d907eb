//! `rainmaker-deploy apply`: plan, confirm (or `--yes`), execute, wait, claim certificate, verify, outputs.

use super::common::{
    calls_text, cancel_on_ctrl_c, display, failed_run, failing_resource_text, require_yes_or_terminal, runtime, tenant,
    TerminalPrompter,
};
use crate::aws::artifacts::Uploaded;
use crate::aws::deploy::{ApplyOptions, ApplyReport};
use crate::aws::events::WaitOptions;
use crate::aws::failure::FailureReport;
use crate::cli::{ApplyArgs, GlobalArgs, OutputFormat};
use miette::Result;

pub fn run(g: &GlobalArgs, args: &ApplyArgs) -> Result<()> {
    require_yes_or_terminal(args.yes, "apply")?;
    let rt = runtime()?;
    let cancel = cancel_on_ctrl_c(&rt);
    let display = display(g);
    let report = rt.block_on(async {
        let t = tenant(g, &args.artifacts.locate()?.dir).await?;
        let opts = ApplyOptions {
            allow_replace: args.allow_replace,
            always_verify: args.verify,
            wait: WaitOptions { cancel: Some(cancel), timeout: args.timeout.timeout, ..WaitOptions::default() },
            bake: None,
            caller: None,
            verify_omissions: crate::aws::verify::Omissions::for_cli(t.sdk.endpoint_url()),
        };
        let prompter = TerminalPrompter { yes: args.yes, display: &display, show: g.output == OutputFormat::Text };
        Ok::<_, miette::Report>(crate::aws::failure::apply_reporting(&t, &opts, &prompter, &display).await)
    });
    display.finish();
    let report = match report? {
        Ok(r) => r,
        Err(f) => return Err(failed_run(g, f, failure_text)),
    };
    crate::output::emit(g.output, &report, || text(&report))?;
    let failed = report.failed_checks();
    if !failed.is_empty() {
        let names: Vec<String> = failed.iter().map(|c| format!("{} ({})", c.name, c.detail)).collect();
        return Err(miette::miette!(
            code = "rainmaker::deploy::verification",
            help =
                "the stack says it is complete but the service disagrees (each check says what it expected and found; \
                    an `encryption:` one also what to do); run `rainmaker-deploy apply --verify` again, and \
                    `rainmaker-deploy status` for the stack's events",
            "verification failed: {}",
            names.join("; ")
        ));
    }
    Ok(())
}

/// The human summary of an apply.
pub fn text(r: &ApplyReport) -> String {
    let mut s = String::new();
    for st in &r.stacks {
        s.push_str(&format!("{:<10} {:<32} {:?} ({})\n", st.stack, st.stack_name, st.result, st.status).to_lowercase());
        for rec in &st.recovered {
            s.push_str(&format!("           recovered: {rec}\n"));
        }
    }
    if !r.changed {
        s.push_str("nothing changed: the stacks already match this configuration\n");
    }
    s.push_str(&artifacts_text(&r.artifacts));
    if !r.verification.is_empty() {
        let ok = r.verification.iter().filter(|c| c.ok).count();
        s.push_str(&format!("verified: {ok}/{} resources through their own APIs\n", r.verification.len()));
    }
    s.push_str("\noutputs:\n");
    for key in [
        "IotEndpoint",
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "ProvisioningTemplateName",
        "ClaimCertificateFile",
        "ClaimPrivateKeyFile",
    ] {
        if let Some(v) = r.outputs.get(key) {
            s.push_str(&format!("  {key:<26} {v}\n"));
        }
    }
    s.push_str(&format!("  (all outputs: {})\n", r.outputs_file.display()));
    s.push('\n');
    s.push_str(&calls_text(&r.api_calls, r.elapsed_ms));
    s
}

/// The human summary of a failed apply: each stack's result, the failing resource and why, outputs.json, calls.
pub fn failure_text(r: &FailureReport) -> String {
    let mut s = String::from("apply failed; what it did:\n");
    for st in &r.stacks {
        let status = st.status.as_deref().map(|x| format!(" ({x})")).unwrap_or_default();
        s.push_str(&format!(
            "{:<10} {:<32} {}{}\n",
            st.stack,
            st.stack_name,
            st.result.replace('_', " "),
            status.to_lowercase()
        ));
        for rec in &st.recovered {
            s.push_str(&format!("           recovered: {rec}\n"));
        }
    }
    s.push_str(&artifacts_text(&r.did.artifacts));
    s.push_str(&failing_resource_text(r.failing_resource.as_ref()));
    match (r.did.outputs_file.action.as_str(), &r.did.outputs_file.path) {
        ("removed", Some(p)) => s.push_str(&format!(
            "removed {} (a stack changed; the next successful apply writes it again)\n",
            p.display()
        )),
        ("untouched", Some(p)) => s.push_str(&format!("{} unchanged (no stack changed)\n", p.display())),
        (other, Some(p)) if other != "none" => s.push_str(&format!("{}: {other}\n", p.display())),
        _ => {}
    }
    s.push_str(&calls_text(&r.api_calls, r.elapsed_ms));
    s
}

/// How many artifacts were uploaded and how many were already in the bucket (none: no line).
fn artifacts_text(artifacts: &[Uploaded]) -> String {
    if artifacts.is_empty() {
        return String::new();
    }
    let uploaded = artifacts.iter().filter(|a| a.uploaded).count();
    format!("artifacts: {uploaded} uploaded, {} already in the bucket\n", artifacts.len() - uploaded)
}
