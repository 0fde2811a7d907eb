//! `cargo xtask codegen [--check]`: write the generated files that are committed: the JSON Schemas in docs/
//! (rainmaker.yaml, tenants.yaml) from their types, and the man pages in docs/man/ (one per command and
//! subcommand, clap_mangen) from the CLI's clap definition. `--check` fails when one is stale, missing or extra.

use anyhow::{bail, Context, Result};
use clap::CommandFactory;
use std::path::Path;

/// Where the man pages live, relative to the workspace root.
pub const MAN_DIR: &str = "docs/man";

pub fn run(args: &[String]) -> Result<()> {
    let check = args.iter().any(|a| a == "--check");
    if let Some(other) = args.iter().find(|a| *a != "--check") {
        bail!("unknown argument `{other}` (usage: cargo xtask codegen [--check])");
    }
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("docs/rainmaker.schema.json".into(), rainmaker_deploy::config::json_schema_string().into_bytes()),
        ("docs/tenants.schema.json".into(), rainmaker_deploy::config::tenants::json_schema_string().into_bytes()),
        ("docs/upgrade-report.schema.json".into(), rainmaker_deploy::fleet::report::json_schema_string().into_bytes()),
    ];
    for (name, page) in man_pages()? {
        files.push((format!("{MAN_DIR}/{name}"), page));
    }
    let root = crate::util::root();
    let mut stale = Vec::new();
    for (rel, fresh) in &files {
        let path = root.join(rel);
        let current = std::fs::read(&path).unwrap_or_default();
        if &current == fresh {
            continue;
        } else if check {
            stale.push(rel.clone());
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&path, fresh).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("codegen: wrote {rel}");
        }
    }
    // a man page of a command that no longer exists
    for extra in extra_pages(&root.join(MAN_DIR), &files)? {
        if check {
            stale.push(format!("{MAN_DIR}/{extra} (no such command any more)"));
        } else {
            std::fs::remove_file(root.join(MAN_DIR).join(&extra))?;
            eprintln!("codegen: removed {MAN_DIR}/{extra}");
        }
    }
    if !stale.is_empty() {
        bail!("{} stale: run `cargo xtask codegen` and commit the result", stale.join(", "));
    }
    eprintln!("codegen: {} generated files up to date", files.len());
    Ok(())
}

/// Every man page as (file name, roff): `rainmaker-deploy.1`, then `rainmaker-deploy-<sub>[-<sub>].1` for each
/// visible subcommand, depth first; no date in them, so they change only when the CLI does.
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        let man = clap_mangen::Man::new(cmd.clone()).manual("rainmaker-deploy manual");
        let mut page = Vec::new();
        man.render(&mut page)?;
        out.push((man.get_filename(), page));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out)?;
        }
        Ok(())
    }
    let mut cmd = rainmaker_deploy::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &mut out)?;
    Ok(out)
}

fn extra_pages(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut extra = Vec::new();
    for e in entries {
        let name = e?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".1") && !files.iter().any(|(rel, _)| rel == &format!("{MAN_DIR}/{name}")) {
            extra.push(name);
        }
    }
    extra.sort();
    Ok(extra)
}
