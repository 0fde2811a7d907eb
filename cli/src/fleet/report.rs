//! The upgrade report as data (`schema_version` 1, JSON Schema in docs/upgrade-report.schema.json) and its writers:
//! the stdout table, JSON, Markdown and CSV; `--report FILE` is rewritten (temp file + rename) after each tenant.

use rainmaker_core::fleet::{summary, TenantStatus, WaveStatus};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// The version of this report's shape.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// One run of `upgrade`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UpgradeReport {
    /// Shape version of this report (1).
    pub schema_version: u32,
    /// Identifies the run; the STS session name is `rainmaker-upgrade-<run_id>` (visible in CloudTrail).
    pub run_id: String,
    pub cli_version: String,
    /// The template version this CLI renders (every tenant's `to_version`).
    pub template_version: String,
    /// Planned only (`--dry-run`): nothing was changed.
    pub dry_run: bool,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC; absent while the run goes on (a partial report).
    pub ended_at: Option<String>,
    /// Why the run stopped starting tenants (`tolerance_exceeded`, `interrupted`), if it did.
    pub stopped: Option<String>,
    pub waves: Vec<WaveReport>,
    /// Every selected tenant, in file order; `status` is absent while it has not ended.
    pub tenants: Vec<TenantReport>,
    /// How many tenants ended in each status.
    pub summary: BTreeMap<String, usize>,
    /// The process exit code this run ends with (absent while it goes on).
    pub exit_code: Option<i32>,
}

/// One wave.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WaveReport {
    pub name: String,
    /// As written (`1`, `5%`).
    pub failure_tolerance: String,
    /// The tolerance as a count of this wave's tenants.
    pub failure_tolerance_count: usize,
    pub max_concurrent: usize,
    pub failures: usize,
    /// `pending`, `running`, `completed`, `tolerance_exceeded`, `halted`, `skipped`, `interrupted`.
    pub status: String,
    /// Minutes its updates were monitored with the backend's alarms as rollback triggers (absent: no bake).
    pub bake_minutes: Option<u32>,
    /// The tenants whose alarms were checked after the wave (baked updates; first creates have no bake).
    pub baked: Vec<String>,
    /// What the check after the wave found: `tenant: alarm (ALARM)`, an alarm gone (`MISSING`), or why the alarms
    /// could not be read. Anything here halts the run.
    pub firing: Vec<String>,
}

/// One tenant.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TenantReport {
    pub name: String,
    pub account: String,
    pub region: String,
    pub wave: String,
    /// The template version of the live backend stack before the run (absent: not deployed or not read).
    pub from_version: Option<String>,
    pub to_version: String,
    /// `upgraded`, `unchanged`, `planned` (dry run: would change), `failed`, `blocked`, `skipped`, `held`,
    /// `halted`, `cancelled` (running at Ctrl-C, its own operation cancelled); absent while running.
    pub status: Option<String>,
    pub changes: Changes,
    pub duration_ms: u64,
    /// AWS API calls made for this tenant (role assumption and identity check included).
    pub api_calls: u32,
    /// Why it failed or was blocked: the failing step or resource and the reason.
    pub error: Option<String>,
    /// What the report says though the tenant went through (`--check-drift`: it had drifted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// `--check-drift` / `--refuse-drifted`: each stack's drift before the change (absent without those flags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Vec<crate::aws::drift::StackDrift>>,
}

/// Resource changes, counted over both stacks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Changes {
    pub add: usize,
    pub modify: usize,
    pub remove: usize,
    /// Modifications that replace the resource (also counted in `modify`).
    pub replace: usize,
}

/// The wave status's report name.
pub fn wave_status(s: WaveStatus) -> &'static str {
    match s {
        WaveStatus::Pending => "pending",
        WaveStatus::Running => "running",
        WaveStatus::Completed => "completed",
        WaveStatus::ToleranceExceeded => "tolerance_exceeded",
        WaveStatus::Halted => "halted",
        WaveStatus::Skipped => "skipped",
        WaveStatus::Interrupted => "interrupted",
    }
}

impl UpgradeReport {
    /// Recount `summary` from the tenants that have a status.
    pub fn recount(&mut self) {
        let statuses: Vec<TenantStatus> = self
            .tenants
            .iter()
            .filter_map(|t| t.status.as_deref())
            .filter_map(|s| TenantStatus::ALL.iter().copied().find(|x| x.as_str() == s))
            .collect();
        self.summary = summary(&statuses).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    }
}

/// `--report-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    Markdown,
    Csv,
}

/// The report in a format, ending with a newline.
pub fn render(r: &UpgradeReport, f: ReportFormat) -> String {
    match f {
        ReportFormat::Json => serde_json::to_string_pretty(r).expect("a report always serializes") + "\n",
        ReportFormat::Markdown => markdown(r),
        ReportFormat::Csv => csv(r),
    }
}

fn status(t: &TenantReport) -> &str {
    t.status.as_deref().unwrap_or("running")
}

fn changes(c: &Changes) -> String {
    format!("+{} ~{} -{} r{}", c.add, c.modify, c.remove, c.replace)
}

/// The stdout table.
pub fn text(r: &UpgradeReport) -> String {
    let w = r.tenants.iter().map(|t| t.name.len()).max().unwrap_or(6).max(6);
    let mut s = format!(
        "upgrade {} to templates {}{}\n\n",
        r.run_id,
        r.template_version,
        if r.dry_run { " (dry run: nothing changed)" } else { "" }
    );
    s.push_str(&format!(
        "{:<w$}  {:<12}  {:<14}  {:<10}  {:<10}  {:<16}  {:>8}  {:>5}  error\n",
        "tenant", "account", "region", "wave", "status", "changes", "seconds", "calls"
    ));
    for t in &r.tenants {
        let line = format!(
            "{:<w$}  {:<12}  {:<14}  {:<10}  {:<10}  {:<16}  {:>8.1}  {:>5}  {}",
            t.name,
            t.account,
            t.region,
            t.wave,
            status(t),
            changes(&t.changes),
            t.duration_ms as f64 / 1000.0,
            t.api_calls,
            t.error.as_deref().unwrap_or("")
        );
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s.push('\n');
    for wv in &r.waves {
        s.push_str(&format!(
            "wave {}: {} ({} failed, tolerance {} = {}{})\n",
            wv.name,
            wv.status,
            wv.failures,
            wv.failure_tolerance,
            wv.failure_tolerance_count,
            bake(wv)
        ));
    }
    let counts: Vec<String> = r.summary.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{n} {k}")).collect();
    s.push_str(&format!("summary: {}\n", counts.join(", ")));
    for t in r.tenants.iter().filter(|t| t.warning.is_some()) {
        s.push_str(&format!("warning: {}: {}\n", t.name, t.warning.as_deref().unwrap_or_default()));
    }
    if let Some(stop) = &r.stopped {
        s.push_str(&format!("stopped: {stop}\n"));
    }
    s
}

fn markdown(r: &UpgradeReport) -> String {
    let mut s = format!("# upgrade {}\n\ntemplates {}", r.run_id, r.template_version);
    s.push_str(&format!(", started {}", r.started_at));
    if let Some(e) = &r.ended_at {
        s.push_str(&format!(", ended {e}"));
    }
    if r.dry_run {
        s.push_str(" (dry run)");
    }
    s.push_str("\n\n| tenant | account | region | wave | from | to | status | changes | seconds | calls | error |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for t in &r.tenants {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} |\n",
            t.name,
            t.account,
            t.region,
            t.wave,
            t.from_version.as_deref().unwrap_or(""),
            t.to_version,
            status(t),
            changes(&t.changes),
            t.duration_ms as f64 / 1000.0,
            t.api_calls,
            t.error.as_deref().unwrap_or("").replace('|', "\\|").replace('\n', " ")
        ));
    }
    let warned: Vec<&TenantReport> = r.tenants.iter().filter(|t| t.warning.is_some()).collect();
    if !warned.is_empty() {
        s.push_str("\nWarnings:\n\n");
        for t in warned {
            s.push_str(&format!("- {}: {}\n", t.name, t.warning.as_deref().unwrap_or_default()));
        }
    }
    s.push_str("\n| wave | status | failures | tolerance | bake |\n|---|---|---|---|---|\n");
    for w in &r.waves {
        s.push_str(&format!(
            "| {} | {} | {} | {} ({}) | {} |\n",
            w.name,
            w.status,
            w.failures,
            w.failure_tolerance,
            w.failure_tolerance_count,
            bake(w).trim_start_matches(", ").replace('|', "\\|")
        ));
    }
    s
}

/// `, bake 15 min: 2 checked, alarms: ...` (empty without a bake).
fn bake(w: &WaveReport) -> String {
    let Some(m) = w.bake_minutes else { return String::new() };
    let mut s = format!(", bake {m} min: {} checked", w.baked.len());
    if !w.firing.is_empty() {
        s.push_str(&format!(", alarms: {}", w.firing.join("; ")));
    }
    s
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn csv(r: &UpgradeReport) -> String {
    let mut s = String::from(
        "run_id,tenant,account,region,wave,from_version,to_version,status,add,modify,remove,replace,duration_ms,api_calls,error,warning\n",
    );
    for t in &r.tenants {
        let row = [
            r.run_id.clone(),
            t.name.clone(),
            t.account.clone(),
            t.region.clone(),
            t.wave.clone(),
            t.from_version.clone().unwrap_or_default(),
            t.to_version.clone(),
            status(t).to_string(),
            t.changes.add.to_string(),
            t.changes.modify.to_string(),
            t.changes.remove.to_string(),
            t.changes.replace.to_string(),
            t.duration_ms.to_string(),
            t.api_calls.to_string(),
            t.error.clone().unwrap_or_default(),
            t.warning.clone().unwrap_or_default(),
        ];
        s.push_str(&row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        s.push('\n');
    }
    s
}

/// The JSON Schema of the report, pretty-printed with a trailing newline (docs/upgrade-report.schema.json).
pub fn json_schema_string() -> String {
    let schema = schemars::schema_for!(UpgradeReport);
    serde_json::to_string_pretty(&schema).expect("a schema always serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_fields_with_commas_and_quotes() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"no\""), "\"say \"\"no\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
