//! `rainmaker-deploy serials import | list | show | reset`: the serial allow-list (docs/security.md, high 1 and 4).

use super::common::{ask, require_yes_or_terminal, runtime, tenant};
use crate::cli::{GlobalArgs, OutputFormat, SerialsCommand, SerialsImportArgs, SerialsListArgs, SerialsResetArgs};
use crate::serials::csv::SerialRules;
use crate::serials::inspect::{self, Entry, Filter};
use crate::serials::reset::{self, Step};
use crate::serials::{import, resources, SerialsClients};
use miette::Result;
use std::io::Write;
use std::path::Path;

pub fn run(g: &GlobalArgs, cmd: &SerialsCommand) -> Result<()> {
    match cmd {
        SerialsCommand::Import(a) => run_import(g, a),
        SerialsCommand::List(a) => run_list(g, a),
        SerialsCommand::Show(a) => run_show(g, &a.serial),
        SerialsCommand::Reset(a) => run_reset(g, a),
    }
}

fn step_text(s: &Step) -> String {
    match s {
        Step::RevokeCertificate { certificate_id } => {
            format!("revoke certificate {certificate_id} (UpdateCertificate REVOKED)")
        }
        Step::DetachFromThing { certificate_id } => format!("detach certificate {certificate_id} from the thing"),
        Step::DetachPolicy { policy } => format!("detach policy {policy} from the certificate"),
        Step::Unbind { .. } => "remove the owner and every grant of the node".into(),
        Step::DeleteShadow => "delete the thing's shadow (the previous owner's state)".into(),
        Step::ClearNodeCertificate => "remove the certificate from the node".into(),
        Step::ClearProvisioned => "clear the allow-list's provisioned state (the device may provision again)".into(),
    }
}

fn steps_text(steps: &[Step]) -> String {
    steps.iter().enumerate().map(|(i, s)| format!("  {}. {}\n", i + 1, step_text(s))).collect()
}

fn run_reset(g: &GlobalArgs, a: &SerialsResetArgs) -> Result<()> {
    require_yes_or_terminal(a.yes || a.dry_run, "reset")?;
    let rt = runtime()?;
    let report = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        let c = SerialsClients::new(&t.sdk);
        let r = resources::resolve(&t, &c).await?;
        let confirm = |steps: &[Step]| {
            if a.yes {
                return true;
            }
            eprint!("resetting {} does:\n{}", a.serial, steps_text(steps));
            ask(&format!("Reset {}? The old certificate cannot be used again.", a.serial))
        };
        reset::reset(&c, &r, &a.serial, a.keep_owner, a.dry_run, &confirm).await.map_err(miette::Report::from)
    })?;
    crate::output::emit(g.output, &report, || {
        if report.steps.is_empty() {
            return format!(
                "{}: nothing to reset (not provisioned, no certificate{})\n",
                report.serial,
                if a.keep_owner { "" } else { ", no owner" }
            );
        }
        let head = if report.dry_run { "dry run, nothing was changed; resetting" } else { "reset" };
        format!("{head} {}:\n{}", report.serial, steps_text(&report.steps))
    })
}

fn run_import(g: &GlobalArgs, a: &SerialsImportArgs) -> Result<()> {
    let cfg = super::common::load_config(g)?;
    let rules = SerialRules::new(&cfg.devices.claim_serial_pattern)
        .map_err(|e| miette::miette!("devices.claim_serial_pattern is not a valid regular expression: {e}"))?;
    // every problem of the file before any AWS call
    import::check_file(&a.file, &rules)?;
    let rt = runtime()?;
    let report = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        let c = SerialsClients::new(&t.sdk);
        let r = resources::resolve(&t, &c).await?;
        let key = resources::tenant_key(&c, &r).await?;
        let progress = |line: &str| crate::output::progress(g.output, line);
        import::import(&c, &r, &key, &a.file, &rules, a.dry_run, &progress).await.map_err(miette::Report::from)
    })?;
    crate::output::emit(g.output, &report, || {
        let mut s = format!(
            "{}{}: {} serials — {} added, {} unchanged, {} updated, {} refused\n",
            if report.dry_run { "dry run, nothing was written: " } else { "" },
            report.file,
            report.lines,
            report.added,
            report.unchanged,
            report.updated,
            report.refused
        );
        for u in &report.updated_serials {
            s.push_str(&format!("  updated  {u} (another secret; not provisioned yet)\n"));
        }
        for r in &report.refused_serials {
            s.push_str(&format!("  refused  {} (line {}): {}\n", r.serial, r.line, r.reason));
        }
        s
    })
}

fn entry_line(e: &Entry) -> String {
    let state = if e.provisioned { "provisioned" } else { "unprovisioned" };
    let at = e.provisioned_at.map(crate::serials::inspect::rfc3339).unwrap_or_else(|| "-".into());
    let secret = if e.secret_set { "secret set" } else { "NO SECRET" };
    format!("{:<24} {:<13} {:<20} {}", e.serial, state, at, secret)
}

fn run_list(g: &GlobalArgs, a: &SerialsListArgs) -> Result<()> {
    let filter = match (a.provisioned, a.unprovisioned) {
        (true, _) => Filter::Provisioned,
        (_, true) => Filter::Unprovisioned,
        _ => Filter::All,
    };
    let rt = runtime()?;
    let json = g.output == OutputFormat::Json;
    rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        let c = SerialsClients::new(&t.sdk);
        let r = resources::resolve(&t, &c).await?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut first = true;
        if json {
            let _ = write!(out, "[");
        }
        let n = inspect::list(&c, &r, filter, &mut |e| {
            if json {
                let _ =
                    write!(out, "{}\n  {}", if first { "" } else { "," }, serde_json::to_string(e).unwrap_or_default());
            } else {
                let _ = writeln!(out, "{}", entry_line(e));
            }
            first = false;
        })
        .await?;
        if json {
            let _ = writeln!(out, "{}]", if first { "" } else { "\n" });
        }
        crate::output::progress(g.output, format!("{n} serials"));
        Ok::<_, miette::Report>(())
    })
}

fn run_show(g: &GlobalArgs, serial: &str) -> Result<()> {
    let rt = runtime()?;
    let shown = rt.block_on(async {
        let t = tenant(g, Path::new(".")).await?;
        let c = SerialsClients::new(&t.sdk);
        let r = resources::resolve(&t, &c).await?;
        inspect::show(&c, &r, serial).await.map_err(miette::Report::from)
    })?;
    let yes = |b: bool| if b { "yes" } else { "no" };
    crate::output::emit(g.output, &shown, || {
        let e = &shown.entry;
        format!(
            "serial          {}\nprovisioned     {}\nprovisioned at  {}\nsecret set      {}\ncertificate     {}\n\
             certificate is  {}\nthing           {}\nnode            {}\nowner           {}\n",
            e.serial,
            yes(e.provisioned),
            e.provisioned_at.map(crate::serials::inspect::rfc3339).unwrap_or_else(|| "-".into()),
            yes(e.secret_set),
            e.certificate_id.as_deref().unwrap_or("-"),
            shown.certificate_status.as_deref().unwrap_or("-"),
            yes(shown.thing),
            yes(shown.node),
            yes(shown.owner),
        )
    })
}
