//! `cargo xtask dist [--target T] [--out-dir DIR] [--verify]`: the release archive of one target,
//! `rainmaker-deploy-<version>-<target>.tar.gz` plus its `.sha256`, in `target/dist` by default.
//!
//! It builds the release CLI and the six arm64 Lambdas (`cargo xtask lambdas`), then lays out one directory,
//! `rainmaker-deploy-<version>-<target>/`, as a prefix: `bin/rainmaker-deploy`, `share/rainmaker-deploy/lambdas/`
//! (the zips and manifest.json, found by the CLI beside its executable), `share/rainmaker-deploy/schemas/`,
//! `share/man/man1/`, shell completions under `share/{bash-completion,zsh,fish}/`, README.md and LICENSE.
//! Reproducible: entries sorted, directories explicit, mode 0755 (binary, directories) or 0644, owner 0:0, every
//! mtime the commit's time (or `SOURCE_DATE_EPOCH`), gzip without a timestamp or name. `--verify` rebuilds (after
//! touching the CLI's and the Lambdas' `main.rs`) and fails unless the second archive is byte-identical.

use crate::lambdas;
use crate::util::{cargo, ensure_venv, root, run_cmd};
use anyhow::{bail, Context, Result};
use clap::CommandFactory;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const USAGE: &str = "usage: cargo xtask dist [--target TRIPLE] [--out-dir DIR] [--verify]";

/// One file of the archive, relative to its top directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub data: Vec<u8>,
    pub mode: u32,
}

impl Entry {
    fn file(path: impl Into<String>, data: impl Into<Vec<u8>>) -> Entry {
        Entry { path: path.into(), data: data.into(), mode: 0o644 }
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let (mut target, mut out_dir, mut verify) = (None, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => target = Some(it.next().context(USAGE)?.clone()),
            "--out-dir" => out_dir = Some(PathBuf::from(it.next().context(USAGE)?)),
            "--verify" => verify = true,
            other => bail!("unknown argument `{other}` ({USAGE})"),
        }
    }
    let host = host_triple()?;
    let target = target.unwrap_or_else(|| host.clone());
    let out_dir = out_dir.unwrap_or_else(|| lambdas::target_dir().join("dist"));
    let first = build_and_pack(&target, &host, &out_dir)?;
    if verify {
        let copy = out_dir.join(format!("{}.first", first.file_name().unwrap_or_default().to_string_lossy()));
        std::fs::rename(&first, &copy)?;
        let mut touched = vec![root().join("cli/src/main.rs")];
        touched.extend(
            rainmaker_model::contract::all_functions()
                .map(|f| root().join("runtime-lambdas").join(f).join("src/main.rs")),
        );
        for p in &touched {
            touch(p)?;
        }
        eprintln!("dist --verify: touched {} main.rs files; building again", touched.len());
        let second = build_and_pack(&target, &host, &out_dir)?;
        let (a, b) = (sha256_file(&copy)?, sha256_file(&second)?);
        std::fs::remove_file(&copy)?;
        if a != b {
            bail!("the second build gave another archive ({a} vs {b}): the release is not reproducible");
        }
        eprintln!("dist --verify: both archives have sha256 {a}: byte-identical");
    }
    Ok(())
}

/// Build everything for `target`, write the archive and its checksum into `out_dir`; returns the archive's path.
fn build_and_pack(target: &str, host: &str, out_dir: &Path) -> Result<PathBuf> {
    let start = Instant::now();
    let version = env!("CARGO_PKG_VERSION");
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "-p", "rainmaker-deploy"]);
    let mut release = lambdas::target_dir();
    if target != host {
        build.args(["--target", target]);
        release = release.join(target);
    }
    run_cmd(&mut build).context("building the release CLI")?;
    let cli_seconds = start.elapsed().as_secs_f64();
    let exe = std::fs::read(release.join("release/rainmaker-deploy")).context("reading the release binary")?;
    ensure_venv()?;
    lambdas::ensure_target()?;
    let lambda_seconds = lambdas::build()?;
    lambdas::package(&lambdas::artifacts_dir())?;
    let entries = layout(exe, &lambdas::artifacts_dir())?;
    let mtime = source_date()?;
    let name = format!("rainmaker-deploy-{version}-{target}");
    let bytes = archive(&name, &entries, mtime)?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let path = out_dir.join(format!("{name}.tar.gz"));
    std::fs::write(&path, &bytes)?;
    let sha = hex::encode(Sha256::digest(&bytes));
    std::fs::write(out_dir.join(format!("{name}.tar.gz.sha256")), format!("{sha}  {name}.tar.gz\n"))?;
    eprintln!(
        "dist: {} ({} bytes, {} files, sha256 {sha}) in {:.0} s (release CLI {cli_seconds:.0} s, Lambdas {lambda_seconds:.0} s)",
        path.display(),
        bytes.len(),
        entries.len(),
        start.elapsed().as_secs_f64()
    );
    println!("{}", path.display());
    Ok(path)
}

/// Every file of the archive (unsorted; [`archive`] sorts).
pub fn layout(exe: Vec<u8>, lambdas_dir: &Path) -> Result<Vec<Entry>> {
    let mut out = vec![Entry { path: "bin/rainmaker-deploy".into(), data: exe, mode: 0o755 }];
    let lambda_prefix = lambda_prefix();
    let manifest = std::fs::read(lambdas_dir.join("manifest.json"))
        .with_context(|| format!("reading {}/manifest.json", lambdas_dir.display()))?;
    out.push(Entry::file(format!("{lambda_prefix}/manifest.json"), manifest));
    for f in rainmaker_model::contract::all_functions() {
        let zip = lambdas_dir.join(format!("{f}.zip"));
        let data = std::fs::read(&zip).with_context(|| format!("reading {}", zip.display()))?;
        out.push(Entry::file(format!("{lambda_prefix}/{f}.zip"), data));
    }
    out.push(Entry::file(
        "share/rainmaker-deploy/schemas/rainmaker.schema.json",
        rainmaker_deploy::config::json_schema_string(),
    ));
    out.push(Entry::file(
        "share/rainmaker-deploy/schemas/tenants.schema.json",
        rainmaker_deploy::config::tenants::json_schema_string(),
    ));
    for (name, page) in crate::codegen::man_pages()? {
        out.push(Entry::file(format!("share/man/man1/{name}"), page));
    }
    for (shell, path) in [
        (clap_complete::Shell::Bash, "share/bash-completion/completions/rainmaker-deploy"),
        (clap_complete::Shell::Zsh, "share/zsh/site-functions/_rainmaker-deploy"),
        (clap_complete::Shell::Fish, "share/fish/vendor_completions.d/rainmaker-deploy.fish"),
    ] {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut rainmaker_deploy::cli::Cli::command(), "rainmaker-deploy", &mut script);
        out.push(Entry::file(path, script));
    }
    for doc in ["README.md", "LICENSE"] {
        let data = std::fs::read(root().join(doc)).with_context(|| format!("reading {doc}"))?;
        out.push(Entry::file(doc, data));
    }
    Ok(out)
}

/// `share/rainmaker-deploy/lambdas`: where the CLI looks beside `bin/` (its `lambdas_dir::INSTALLED`).
pub fn lambda_prefix() -> String {
    let mut parts: Vec<&str> = vec!["bin"];
    for c in rainmaker_deploy::lambdas_dir::INSTALLED.split('/') {
        match c {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// A gzip'd tar of `entries` under `top/`: sorted, with every parent directory, fixed modes, owner and `mtime`;
/// the gzip header carries no time or name. The same input gives the same bytes.
pub fn archive(top: &str, entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    let mut files: Vec<&Entry> = entries.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = files.windows(2).find(|w| w[0].path == w[1].path) {
        bail!("{} is in the archive twice", w[0].path);
    }
    let mut dirs: Vec<String> = vec![String::new()];
    for f in &files {
        let mut p = Path::new(&f.path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.push(d.to_string_lossy().into_owned());
            p = d.parent();
        }
    }
    dirs.sort();
    dirs.dedup();
    // directories before what they hold: sort all paths together, a directory as `dir/`
    let mut all: Vec<(String, Option<&Entry>)> = dirs
        .into_iter()
        .map(|d| (if d.is_empty() { format!("{top}/") } else { format!("{top}/{d}/") }, None))
        .chain(files.into_iter().map(|f| (format!("{top}/{}", f.path), Some(f))))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let gz = flate2::GzBuilder::new().mtime(0).operating_system(3).write(Vec::new(), flate2::Compression::best());
    let mut tar = tar::Builder::new(gz);
    for (path, entry) in all {
        let mut h = tar::Header::new_gnu();
        let (kind, mode, data): (tar::EntryType, u32, &[u8]) = match entry {
            None => (tar::EntryType::Directory, 0o755, &[]),
            Some(e) => (tar::EntryType::Regular, e.mode, &e.data),
        };
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("root")?;
        h.set_groupname("root")?;
        tar.append_data(&mut h, &path, data).with_context(|| format!("adding {path}"))?;
    }
    let gz = tar.into_inner()?;
    Ok(gz.finish()?)
}

/// The entries' mtime: `SOURCE_DATE_EPOCH`, else the commit time of HEAD, else 0 (outside a git checkout).
fn source_date() -> Result<u64> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return v.trim().parse().with_context(|| format!("SOURCE_DATE_EPOCH={v} is not a number of seconds"));
    }
    let out = Command::new("git").args(["log", "-1", "--format=%ct"]).current_dir(root()).output();
    Ok(match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0),
        _ => 0,
    })
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc).arg("-vV").output().with_context(|| format!("running {rustc} -vV"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV printed no host line")
}

fn sha256_file(p: &Path) -> Result<String> {
    Ok(hex::encode(Sha256::digest(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?)))
}

fn touch(path: &Path) -> Result<()> {
    let file =
        std::fs::OpenOptions::new().append(true).open(path).with_context(|| format!("opening {}", path.display()))?;
    file.set_modified(std::time::SystemTime::now())?;
    file.sync_all()?;
    let _ = std::io::stderr().flush();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn entries() -> Vec<Entry> {
        vec![
            Entry::file("share/man/man1/rainmaker-deploy.1", "man"),
            Entry { path: "bin/rainmaker-deploy".into(), data: b"\x7fELF".to_vec(), mode: 0o755 },
            Entry::file("share/rainmaker-deploy/lambdas/manifest.json", "{}"),
            Entry::file("README.md", "# hi"),
        ]
    }

    #[test]
    fn the_same_files_give_the_same_bytes_whatever_their_order() {
        let a = archive("top", &entries(), 1_700_000_000).unwrap();
        let mut reversed = entries();
        reversed.reverse();
        assert_eq!(a, archive("top", &reversed, 1_700_000_000).unwrap());
        assert_ne!(a, archive("top", &entries(), 1_700_000_001).unwrap(), "the mtime is the given one");
        assert_eq!(&a[4..8], &[0, 0, 0, 0], "no gzip timestamp");
        assert_eq!(a[3] & 0x08, 0, "no file name in the gzip header");
    }

    #[test]
    fn entries_are_sorted_with_their_directories_modes_and_owner() {
        let gz = archive("top", &entries(), 42).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
        let mut seen = Vec::new();
        for e in tar.entries().unwrap() {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            assert_eq!((h.mtime().unwrap(), h.uid().unwrap(), h.gid().unwrap()), (42, 0, 0), "{path}");
            seen.push(format!("{path} {:o}", h.mode().unwrap()));
        }
        assert_eq!(
            seen,
            [
                "top/ 755",
                "top/README.md 644",
                "top/bin/ 755",
                "top/bin/rainmaker-deploy 755",
                "top/share/ 755",
                "top/share/man/ 755",
                "top/share/man/man1/ 755",
                "top/share/man/man1/rainmaker-deploy.1 644",
                "top/share/rainmaker-deploy/ 755",
                "top/share/rainmaker-deploy/lambdas/ 755",
                "top/share/rainmaker-deploy/lambdas/manifest.json 644",
            ]
        );
        let dup = [Entry::file("a", "1"), Entry::file("a", "2")];
        assert!(archive("top", &dup, 0).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn the_lambdas_go_where_the_cli_looks_beside_bin() {
        assert_eq!(lambda_prefix(), "share/rainmaker-deploy/lambdas");
    }
}
