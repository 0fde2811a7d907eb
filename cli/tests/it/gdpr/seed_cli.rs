//! `cargo xtask seed ... --endpoint-url <moto> --create-user-pool --output json` run as a process against a tenant
//! deployed to moto, then `gdpr export` of every seeded user through the built binary: each archive's counts equal
//! what the seed printed.

use super::{json, unzip};
use crate::deploy::cli::{run_aws, CREDENTIALS};
use crate::support::on_a_terminal;
use rainmaker_test_support::MotoServer;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

static XTASK: OnceLock<PathBuf> = OnceLock::new();

/// The xtask executable, built now (`cargo build -p xtask`, a no-op when `cargo xtask` just ran) so it is never
/// stale; its path from cargo's artifact messages.
fn xtask() -> &'static Path {
    XTASK.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(crate::support::root())
            .args(["build", "--quiet", "--locked", "--package", "xtask", "--message-format", "json"])
            .output()
            .expect("running cargo build --package xtask");
        assert!(out.status.success(), "cargo build --package xtask failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let exe = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "xtask")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from));
        exe.expect("cargo named no xtask executable")
    })
}

/// `xtask <args>` in `dir` with the tenant's credentials file (its own moto account), no other AWS settings.
fn run_xtask(dir: &Path, args: &[&str]) -> crate::support::Run {
    let mut c = Command::new(xtask());
    c.current_dir(dir);
    for v in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"] {
        c.env_remove(v);
    }
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join(CREDENTIALS))
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    crate::support::Run::from(c.args(args).output().expect("running xtask"))
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xtask_seed_as_a_process_then_each_export_through_the_binary_counts_what_the_seed_printed() {
    let moto = MotoServer::shared();
    let (dir, tenant) = crate::deploy::fixtures::applied_smart_home("gc").await;
    let config = dir.path().join("rainmaker.yaml");
    let (users, nodes, telemetry) = (3usize, 2usize, 25usize);
    let r = run_xtask(
        dir.path(),
        &[
            "seed",
            "--config",
            config.to_str().unwrap(),
            "--users",
            &users.to_string(),
            "--nodes-per-user",
            &nodes.to_string(),
            "--telemetry-per-node",
            &telemetry.to_string(),
            "--shares",
            "1",
            "--endpoint-url",
            &moto.endpoint_url(),
            "--create-user-pool",
            "--output",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.transcript());
    let seeded: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    assert!(r.stderr.contains(&format!("seed: seed telemetry: {}", users * nodes * telemetry)), "{}", r.stderr);
    let pool = seeded["user_pool_id"].as_str().unwrap().to_string();
    let list = seeded["users"].as_array().unwrap();
    assert_eq!(list.len(), users, "{seeded}");
    assert_eq!(seeded["telemetry_per_node"], telemetry);

    // the pool the seed made, and its users, through Cognito's own API
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&tenant.sdk);
    let listed = cognito.list_users().user_pool_id(&pool).send().await.unwrap();
    let mut subs: Vec<String> = listed
        .users()
        .iter()
        .map(|u| u.attributes().iter().find(|a| a.name() == "sub").unwrap().value().unwrap().to_string())
        .collect();
    subs.sort();
    let mut printed: Vec<String> = list.iter().map(|u| u["user_id"].as_str().unwrap().to_string()).collect();
    printed.sort();
    assert_eq!(subs, printed, "the seed printed the pool's users");

    for (i, u) in list.iter().enumerate() {
        let (id, owned, shared) =
            (u["user_id"].as_str().unwrap(), strings(&u["owned_nodes"]), strings(&u["shared_with_me"]));
        assert_eq!(owned.len(), nodes, "{u}");
        let who = format!("user {i}");
        let out = dir.path().join(format!("u{i}.zip"));
        let args =
            ["--config", config.to_str().unwrap(), "gdpr", "export", "--user", id, "--out", out.to_str().unwrap()];
        let r = run_aws(
            dir.path(),
            &moto.endpoint_url(),
            &[&args[..], &["--user-pool-id", &pool, "--output", "json"][..]].concat(),
        );
        assert_eq!(r.code, 0, "{}", r.transcript());
        let rep: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let items = &rep["items"];
        let want = [
            ("cognito", 1),
            ("users", 1),
            ("memberships", owned.len() + shared.len()),
            ("nodes", owned.len()),
            ("things", owned.len()),
            ("shadows", 2 * owned.len()),
            ("telemetry", owned.len() * telemetry),
            ("binding_requests", 1),
        ];
        for (source, n) in want {
            assert_eq!(items[source].as_u64(), Some(n as u64), "{who} {source}: {rep}");
        }
        // the archive's files hold exactly what the seed printed
        let files = unzip(&out);
        let manifest = json(&files, "manifest.json");
        for (source, n) in want {
            let e = manifest["sources"].as_array().unwrap().iter().find(|s| s["source"] == source).unwrap();
            assert_eq!(e["items"].as_u64(), Some(n as u64), "{who} manifest {source}");
        }
        // the manifest's header: schema, tenant, versions, export time, per-source retention and what is left out
        assert_eq!(manifest["schema_version"], rainmaker_core::gdpr::manifest::SCHEMA_VERSION, "{who}");
        assert_eq!(manifest["tenant"], tenant.config.name.as_str(), "{who}");
        assert_eq!(manifest["region"], tenant.config.region.as_str(), "{who}");
        assert_eq!(manifest["cli_version"], env!("CARGO_PKG_VERSION"), "{who}");
        assert_eq!(manifest["template_version"], rainmaker_core::TEMPLATE_VERSION, "the deployed template's: {who}");
        assert_eq!(manifest["user_id"], id, "{who}");
        let at = manifest["exported_at"].as_str().unwrap();
        aws_smithy_types::DateTime::from_str(at, aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_else(|e| panic!("exported_at {at}: {e}"));
        let retention = |source: &str| {
            let e = manifest["sources"].as_array().unwrap().iter().find(|s| s["source"] == source).unwrap();
            e["retention"].as_str().unwrap().to_string()
        };
        let ttl = format!("{} days", tenant.config.telemetry.retention_days);
        assert!(retention("telemetry").contains(&ttl), "the telemetry TTL: {}", retention("telemetry"));
        for source in ["users", "memberships", "nodes", "telemetry", "binding_requests"] {
            assert!(
                retention(source).contains("point-in-time recovery for 35 days"),
                "{source}: {}",
                retention(source)
            );
        }
        let left_out: Vec<String> = manifest["not_included"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| format!("{}: {}", n["what"].as_str().unwrap(), n["reason"].as_str().unwrap()))
            .collect();
        let logs = format!("{} days", tenant.config.lambda.log_retention_days);
        assert!(left_out.iter().any(|n| n.contains("CloudWatch") && n.contains(&logs)), "log retention: {left_out:?}");
        assert!(left_out.iter().any(|n| n.contains("backup")), "backups: {left_out:?}");
        assert_eq!(json(&files, "cognito.json")["attributes"]["email"], u["email"], "{who}");
        let ids = |name: &str, role: Option<&str>| {
            let mut v: Vec<String> = json(&files, name)
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| role.is_none_or(|r| x["role"] == r))
                .map(|x| x["node_id"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids("nodes.json", None), owned, "{who}");
        assert_eq!(ids("memberships.json", Some("owner")), owned, "{who}");
        assert_eq!(ids("memberships.json", Some("shared")), shared, "{who}");
        assert_eq!(ids("binding_requests.json", None), vec![u["binding_request_node"].as_str().unwrap()], "{who}");
        for n in &owned {
            let lines =
                files[&format!("telemetry/{n}.ndjson")].split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
            assert_eq!(lines, telemetry, "{who} {n}");
            // shared with: the users the seed says got this node
            let given = list.iter().filter(|o| strings(&o["shared_with_me"]).contains(n)).count();
            let m = json(&files, "memberships.json");
            let grant = m.as_array().unwrap().iter().find(|g| g["node_id"] == n.as_str()).unwrap().clone();
            assert_eq!(grant["shared_with"], given, "{who} {n}");
        }
    }

    // on a terminal, progress is a live row per source (items so far, redrawn in place), ending with done
    let u = &list[0];
    let out = dir.path().join("on-a-terminal.zip");
    let mut c = crate::deploy::cli::aws_cmd(dir.path(), &moto.endpoint_url());
    c.args(["--config", config.to_str().unwrap(), "gdpr", "export", "--user", u["user_id"].as_str().unwrap()]);
    c.args(["--out", out.to_str().unwrap(), "--user-pool-id", &pool]);
    let (code, drawn) = on_a_terminal(&c);
    assert_eq!(code, 0, "{drawn}");
    assert!(drawn.contains(&format!("telemetry: {} items, done", nodes * telemetry)), "{drawn}");
    assert!(drawn.contains("\u{1b}["), "drawn with terminal control sequences (a spinner row): {drawn:?}");
    assert!(unzip(&out).contains_key("manifest.json"));
}
