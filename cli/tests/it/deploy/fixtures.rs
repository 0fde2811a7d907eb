//! Shared fixtures of the deploy tests: a tenant, tiny Lambda zips with a manifest (from test-support), fast wait
//! options, the apply and destroy options of a moto test, a proxy rewrite replacing the users table, a config edited
//! in place.

use crate::support::{run, tempdir};
use rainmaker_deploy::aws::deploy::{self, ApplyOptions};
use rainmaker_deploy::aws::destroy::DestroyOptions;
use rainmaker_deploy::aws::events::WaitOptions;
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::sdk::Tenant;
use rainmaker_deploy::config;
use rainmaker_test_support::{MotoServer, Received, Rewrite, REGION};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use rainmaker_test_support::tiny_zip;

/// The zips and manifest.json for this CLI's template version (test-support's `write_artifacts`); returns function
/// -> hex sha256.
pub fn write_artifacts(dir: &Path, tag: &str) -> Vec<(String, String)> {
    rainmaker_test_support::write_artifacts(dir, tag, rainmaker_deploy::TEMPLATE_VERSION)
}

/// A smart-home tenant named `name` in `region`, with its files under `dir`.
pub fn tenant(name: &str, region: &str, sdk: aws_config::SdkConfig, dir: &Path) -> Tenant {
    let config = config::blueprint_config("smart-home", name, region).expect("blueprint config");
    Tenant { config, sdk, config_dir: dir.to_path_buf(), artifacts_dir: dir.join("artifacts") }
}

/// The apply options of a moto test: [`fast_wait`], and the verification tolerating only what moto does not
/// return (`Omissions::Moto`, never reachable from the CLI).
pub fn moto_apply_options() -> ApplyOptions {
    ApplyOptions {
        wait: fast_wait(),
        verify_omissions: rainmaker_deploy::aws::verify::Omissions::Moto,
        ..ApplyOptions::default()
    }
}

/// The destroy options of a moto test: keep the data (the default), [`fast_wait`], and moto's omissions
/// (`Omissions::Moto`: the Device Defender calls moto lacks are skipped, never reachable from the CLI).
pub fn moto_destroy_options() -> DestroyOptions {
    DestroyOptions {
        wait: fast_wait(),
        omissions: rainmaker_deploy::aws::verify::Omissions::Moto,
        ..DestroyOptions::default()
    }
}

/// The DescribeChangeSet `Changes` member moto never answers: the users table replaced (API-reference shape).
const REPLACE_USERS: &str = "<member><Type>Resource</Type><ResourceChange><Action>Modify</Action>\
    <LogicalResourceId>UsersTable</LogicalResourceId><PhysicalResourceId>users</PhysicalResourceId>\
    <ResourceType>AWS::DynamoDB::Table</ResourceType><Replacement>True</Replacement><Scope><member>Properties</member></Scope>\
    <Details><member><Evaluation>Static</Evaluation><ChangeSource>DirectModification</ChangeSource>\
    <Target><Attribute>Properties</Attribute><Name>KeySchema</Name><RequiresRecreation>Always</RequiresRecreation></Target>\
    </member></Details></ResourceChange></member>";

/// A proxy rewrite adding [`REPLACE_USERS`] to moto's DescribeChangeSet answers about `stack` while `armed` is set
/// (moto never answers `Replacement: True`); every other answer is moto's.
pub fn users_table_replaced(stack: &str, armed: Arc<AtomicBool>) -> Rewrite {
    let marker = format!("<StackName>{stack}</StackName>");
    Arc::new(move |req: &Received, body: &str| {
        if armed.load(Ordering::SeqCst) && req.body.contains("Action=DescribeChangeSet") && body.contains(&marker) {
            body.replacen("<Changes>", &format!("<Changes>{REPLACE_USERS}"), 1)
        } else {
            body.to_string()
        }
    })
}

/// Polls without sleeping much (moto finishes synchronously; replays need no wait at all).
pub fn fast_wait() -> WaitOptions {
    WaitOptions {
        poll: Duration::from_millis(20),
        cancel: None,
        timeout: Duration::from_secs(120),
        start_timeout: Duration::from_secs(120),
    }
}

/// A smart-home tenant `<label>-<pid>` set up by `init` in a new directory and applied to the shared moto in its
/// own account (one tenant per account and region; CLI runs in that directory use the same keys, see
/// [`super::cli::own_account`]): the directory and the tenant, whose SDK config is in that account.
pub async fn applied_smart_home(label: &str) -> (tempfile::TempDir, Tenant) {
    let moto = MotoServer::shared();
    let dir = tempdir();
    let sdk = moto.sdk_config_with(&super::cli::own_account(moto, dir.path(), label)).await;
    let name = format!("{label}-{}", std::process::id() % 100_000);
    let config = config::blueprint_config("smart-home", &name, REGION).unwrap();
    let init = run(dir.path(), &["init", "--name", &name, "--region", REGION]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    let tenant = Tenant { config, sdk, config_dir: dir.path().to_path_buf(), artifacts_dir: dir.path().join("a") };
    write_artifacts(&tenant.artifacts_dir, "v1");
    let opts = moto_apply_options();
    deploy::apply(&tenant, &opts, &Always(true), &NoProgress).await.expect("apply");
    (dir, tenant)
}

/// Edit `<dir>/rainmaker.yaml` as a user would: each `(from, to)` replaces text found exactly once; returns the
/// config as the CLI then loads it.
pub fn edit_config(dir: &Path, edits: &[(&str, &str)]) -> config::Config {
    let path = dir.join("rainmaker.yaml");
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    for (from, to) in edits {
        assert_eq!(text.matches(from).count(), 1, "{from:?} once in {}:\n{text}", path.display());
        text = text.replace(from, to);
    }
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    config::load(&path).unwrap_or_else(|e| panic!("the edited {} loads: {e:?}", path.display()))
}
