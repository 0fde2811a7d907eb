//! The fleet fixture: a directory with tenants.yaml, one rainmaker.yaml per tenant (tenants/<name>/), Lambda
//! artifacts, and the CI's own credentials (an IAM user of a third moto account that assumes the tenants' roles).

use crate::deploy::cli::{own_account, run_aws};
use crate::deploy::fixtures::write_artifacts;
use crate::support::{run, tempdir, Run};
use aws_config::{Region, SdkConfig};
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{account_for, MotoServer};
use std::path::{Path, PathBuf};

/// The three regions of the fleet.
pub const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-southeast-2"];

/// One tenant of the fixture.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub account: String,
    pub region: String,
}

pub struct Fleet {
    pub dir: tempfile::TempDir,
    pub endpoint: String,
    /// The two tenant accounts.
    pub accounts: [String; 2],
    pub tenants: Vec<Entry>,
}

impl Fleet {
    /// Six tenants `<label>-a0..a2`, `<label>-b0..b2`: accounts A and B, each in the three regions. `extra` is
    /// appended to tenants.yaml's text per tenant (after `region:`), `waves` is the `waves:` section (or empty).
    pub fn new(moto: &MotoServer, label: &str, waves: &str, extra: &dyn Fn(&Entry) -> String) -> Fleet {
        let dir = tempdir();
        let accounts = [account_for(&format!("{label}-a")), account_for(&format!("{label}-b"))];
        own_account(moto, dir.path(), &format!("{label}-ci"));
        write_artifacts(&dir.path().join("artifacts"), label);
        let mut tenants = Vec::new();
        for (ai, acc) in accounts.iter().enumerate() {
            for (ri, region) in REGIONS.iter().enumerate() {
                let name = format!("{label}-{}{ri}", ["a", "b"][ai]);
                tenants.push(Entry { name, account: acc.clone(), region: region.to_string() });
            }
        }
        let mut yaml = String::from(
            "version: 1\ndefaults:\n  role: \"arn:aws:iam::{account}:role/rainmaker-deployer\"\n  region: eu-west-1\n",
        );
        yaml.push_str(waves);
        yaml.push_str("tenants:\n");
        for t in &tenants {
            let tdir = dir.path().join("tenants").join(&t.name);
            std::fs::create_dir_all(&tdir).unwrap();
            let init = run(&tdir, &["init", "--name", &t.name, "--region", &t.region]);
            assert_eq!(init.code, 0, "{}", init.transcript());
            yaml.push_str(&format!(
                "  - name: {n}\n    config: tenants/{n}/rainmaker.yaml\n    account: \"{a}\"\n    region: {r}\n{x}",
                n = t.name,
                a = t.account,
                r = t.region,
                x = extra(t)
            ));
        }
        std::fs::write(dir.path().join("tenants.yaml"), yaml).unwrap();
        Fleet { dir, endpoint: moto.endpoint_url(), accounts, tenants }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self, name: &str) -> PathBuf {
        self.path().join("tenants").join(name).join("rainmaker.yaml")
    }

    /// `rainmaker-deploy upgrade --tenants tenants.yaml --artifacts artifacts <args>` with the CI's credentials.
    pub fn upgrade(&self, args: &[&str]) -> Run {
        let mut all = vec!["upgrade", "--tenants", "tenants.yaml", "--artifacts", "artifacts"];
        all.extend_from_slice(args);
        run_aws(self.path(), &self.endpoint, &all)
    }

    /// `upgrade ... --output json` parsed (any exit code; the caller checks it).
    pub fn upgrade_json(&self, args: &[&str]) -> (Run, serde_json::Value) {
        let mut all = vec!["--output", "json", "upgrade", "--tenants", "tenants.yaml", "--artifacts", "artifacts"];
        all.extend_from_slice(args);
        let r = run_aws(self.path(), &self.endpoint, &all);
        let v = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("report JSON ({e}): {}", r.transcript()));
        (r, v)
    }
}

/// An SDK config acting in `account` (a new IAM user's keys there), in `region`.
pub async fn sdk_in(moto: &MotoServer, account: &str, region: &str) -> SdkConfig {
    moto.sdk_config_in(account).await.to_builder().region(Region::new(region.to_string())).build()
}

/// The memory of each of the tenant's Lambda functions (through Lambda in its account and region); it has some.
pub async fn memories(moto: &MotoServer, t: &Entry) -> Vec<i32> {
    let sdk = sdk_in(moto, &t.account, &t.region).await;
    let prefix = format!("{}-", Names::new(&t.name).prefix);
    let fns = aws_sdk_lambda::Client::new(&sdk).list_functions().send().await.unwrap();
    let m: Vec<i32> = fns
        .functions()
        .iter()
        .filter(|f| f.function_name().is_some_and(|n| n.starts_with(&prefix)))
        .map(|f| f.memory_size().unwrap())
        .collect();
    assert!(!m.is_empty(), "{}: its functions", t.name);
    m
}

/// The status of each tenant in a report, by name.
pub fn statuses(report: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    report["tenants"]
        .as_array()
        .expect("tenants array")
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["status"].as_str().unwrap_or("?").to_string()))
        .collect()
}
