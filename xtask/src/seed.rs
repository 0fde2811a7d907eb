//! `cargo xtask seed --config FILE --users N --nodes-per-user M --telemetry-per-node K [--shares S]
//! [--endpoint-url URL] [--user-pool-id ID | --create-user-pool] [--output json]`: fill a deployed tenant (moto or
//! real) with users, nodes, shares, telemetry and binding requests through `rainmaker-model`'s item types
//! (`rainmaker_deploy::gdpr::seed`). With `--output json` it prints `{"users":[{"user_id","owned_nodes",
//! "shared_with_me",...}],"user_pool_id"}`.

use anyhow::{bail, Context, Result};
use rainmaker_deploy::aws::sdk::{self, AwsOptions, Tenant};
use rainmaker_deploy::gdpr::seed::{self, SeedOptions};
use rainmaker_deploy::gdpr::{resources, GdprClients, Report};
use std::path::{Path, PathBuf};

/// Parsed arguments.
#[derive(Debug, Clone)]
pub struct Args {
    pub config: PathBuf,
    pub users: usize,
    pub nodes_per_user: usize,
    pub telemetry_per_node: usize,
    pub shares: usize,
    pub endpoint_url: Option<String>,
    pub user_pool_id: Option<String>,
    pub create_user_pool: bool,
    pub json: bool,
}

const USAGE: &str = "usage: cargo xtask seed --config FILE --users N --nodes-per-user M --telemetry-per-node K \
                     [--shares S] [--endpoint-url URL] [--user-pool-id ID | --create-user-pool] [--output json]";

fn parse(args: &[String]) -> Result<Args> {
    let mut a = Args {
        config: PathBuf::from("rainmaker.yaml"),
        users: 0,
        nodes_per_user: 0,
        telemetry_per_node: 0,
        shares: 0,
        endpoint_url: std::env::var("AWS_ENDPOINT_URL").ok(),
        user_pool_id: None,
        create_user_pool: false,
        json: false,
    };
    let mut it = args.iter();
    let mut seen_users = false;
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        let number = |v: &String| v.parse::<usize>().with_context(|| format!("{flag}: `{v}` is not a whole number"));
        match flag.as_str() {
            "--config" => a.config = PathBuf::from(value()?),
            "--users" => {
                a.users = number(value()?)?;
                seen_users = true;
            }
            "--nodes-per-user" => a.nodes_per_user = number(value()?)?,
            "--telemetry-per-node" => a.telemetry_per_node = number(value()?)?,
            "--shares" => a.shares = number(value()?)?,
            "--endpoint-url" => a.endpoint_url = Some(value()?.clone()),
            "--user-pool-id" => a.user_pool_id = Some(value()?.clone()),
            "--create-user-pool" => a.create_user_pool = true,
            "--output" => match value()?.as_str() {
                "json" => a.json = true,
                "text" => a.json = false,
                other => bail!("--output: `{other}` is not text or json"),
            },
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    if !seen_users || a.users == 0 {
        bail!("--users N (at least 1) is required\n{USAGE}");
    }
    if a.create_user_pool && a.user_pool_id.is_some() {
        bail!("--create-user-pool and --user-pool-id exclude each other");
    }
    Ok(a)
}

struct Lines;

impl Report for Lines {
    fn source(&self, source: &str, items: u64, done: bool) {
        if done {
            eprintln!("seed: {source}: {items}");
        }
    }
    fn line(&self, text: &str) {
        eprintln!("seed: {text}");
    }
}

/// Seed as `args` say; returns the report as JSON (with the pool id).
pub fn seed_tenant(a: &Args) -> Result<serde_json::Value> {
    let config = rainmaker_deploy::config::load(&a.config)
        .map_err(|e| anyhow::anyhow!("{:?}", miette::Report::new(e)))
        .with_context(|| format!("loading {}", a.config.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let opts = AwsOptions { profile: None, region: config.region.clone(), endpoint_url: a.endpoint_url.clone() };
        let sdk = sdk::load(&opts).await;
        let dir = a.config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        let t = Tenant { config, sdk: sdk.clone(), config_dir: dir.clone(), artifacts_dir: dir };
        let pool = match (&a.user_pool_id, a.create_user_pool) {
            (_, true) => {
                let c = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
                let out = c
                    .create_user_pool()
                    .pool_name(format!("rm-{}-users", t.config.name))
                    .send()
                    .await
                    .context("Cognito CreateUserPool failed")?;
                Some(out.user_pool().and_then(|p| p.id()).context("CreateUserPool returned no id")?.to_string())
            }
            (p, false) => p.clone(),
        };
        let c = GdprClients::new(&sdk).await.map_err(|e| anyhow::anyhow!("{:?}", miette::Report::new(e)))?;
        let r = resources::resolve(&t, &c, pool.as_deref())
            .await
            .map_err(|e| anyhow::anyhow!("{:?}", miette::Report::new(e)))?;
        let o = SeedOptions {
            users: a.users,
            nodes_per_user: a.nodes_per_user,
            telemetry_per_node: a.telemetry_per_node,
            shares: a.shares,
            tag: seed::random_tag().map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        let report =
            seed::seed(&c, &r, &o, &Lines).await.map_err(|e| anyhow::anyhow!("{:?}", miette::Report::new(e)))?;
        let mut v = serde_json::to_value(&report)?;
        v["user_pool_id"] = serde_json::Value::String(r.user_pool_id.clone());
        Ok(v)
    })
}

pub fn run(args: &[String]) -> Result<()> {
    let a = parse(args)?;
    let v = seed_tenant(&a)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let users = v["users"].as_array().map(Vec::len).unwrap_or(0);
        println!("seeded {users} users in user pool {}", v["user_pool_id"].as_str().unwrap_or("?"));
        for u in v["users"].as_array().into_iter().flatten() {
            println!("  {} owns {} shared {}", u["user_id"], u["owned_nodes"], u["shared_with_me"]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_flag_is_parsed() {
        let a = parse(&args(&[
            "--config",
            "t/rainmaker.yaml",
            "--users",
            "3",
            "--nodes-per-user",
            "2",
            "--telemetry-per-node",
            "10",
            "--shares",
            "1",
            "--endpoint-url",
            "http://127.0.0.1:5000",
            "--user-pool-id",
            "us-east-1_abc",
            "--output",
            "json",
        ]))
        .unwrap();
        assert_eq!(a.config, std::path::PathBuf::from("t/rainmaker.yaml"));
        assert_eq!((a.users, a.nodes_per_user, a.telemetry_per_node, a.shares), (3, 2, 10, 1));
        assert_eq!(a.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!(a.user_pool_id.as_deref(), Some("us-east-1_abc"));
        assert!(a.json && !a.create_user_pool);
    }

    /// Each bad input: the error names the flag (or argument) and what would be valid.
    #[test]
    fn bad_input_is_named() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["--users", "2", "--bogus"], &["unknown argument `--bogus`", "usage: cargo xtask seed"]),
            (&["--users", "two"], &["--users", "`two` is not a whole number"]),
            (&["--users", "1", "--telemetry-per-node", "-5"], &["--telemetry-per-node", "`-5`"]),
            (&["--users"], &["--users needs a value", "usage:"]),
            (&["--nodes-per-user", "2"], &["--users N (at least 1) is required"]),
            (&["--users", "0"], &["--users N (at least 1) is required"]),
            (&["--users", "1", "--output", "yaml"], &["--output", "`yaml` is not text or json"]),
            (&["--users", "1", "--create-user-pool", "--user-pool-id", "p"], &["exclude each other"]),
        ];
        for (input, want) in cases {
            let err = format!("{:#}", parse(&args(input)).expect_err(&format!("{input:?} is refused")));
            for w in *want {
                assert!(err.contains(w), "{input:?}: {err:?} lacks {w:?}");
            }
        }
    }
}
