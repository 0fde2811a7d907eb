//! The CLI as a user who downloaded the release archive runs it: the archive layout (`bin/`, `share/...`) built in
//! a temp dir with small fake Lambda zips, the packaged binary run from an empty directory against moto with no
//! `--artifacts` (`doctor` finds the same zips), and a manifest of another template version refused naming both
//! versions.

use crate::deploy::fixtures::write_artifacts;
use crate::support::{tempdir, Run};
use rainmaker_deploy::TEMPLATE_VERSION;
use rainmaker_test_support::{MotoServer, REGION};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `<prefix>/bin/rainmaker-deploy` and `<prefix>/share/rainmaker-deploy/lambdas/` as the archive lays them out;
/// returns the binary and the function -> sha256 of the zips.
pub fn install(prefix: &Path, tag: &str) -> (PathBuf, Vec<(String, String)>) {
    let bin = prefix.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("rainmaker-deploy");
    std::fs::copy(env!("CARGO_BIN_EXE_rainmaker-deploy"), &exe).unwrap();
    let hashes = write_artifacts(&prefix.join("share/rainmaker-deploy/lambdas"), tag);
    (exe, hashes)
}

/// The packaged binary in `dir`, with dummy credentials for moto and nothing of this machine's AWS or
/// rainmaker settings.
pub fn packaged(exe: &Path, dir: &Path) -> Command {
    let mut c = Command::new(exe);
    c.current_dir(dir).env("NO_COLOR", "1").env("COLUMNS", "100");
    for v in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN"] {
        c.env_remove(v);
    }
    c.env_remove("RAINMAKER_CONFIG").env_remove("RAINMAKER_ARTIFACTS");
    c.env("AWS_CONFIG_FILE", dir.join("no-aws-config")).env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-aws-creds"));
    c
}

pub fn output(mut c: Command) -> Run {
    // A copy of the binary just written can be briefly "busy" (ETXTBSY) while another test thread forks: its
    // child holds our write descriptor until it execs. Retry that one error for a moment.
    let mut tries = 0;
    let out = loop {
        match c.output() {
            Err(e) if e.raw_os_error() == Some(26) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.expect("running the packaged rainmaker-deploy"),
        }
    };
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn against_moto(exe: &Path, dir: &Path, endpoint: &str, args: &[&str]) -> Run {
    let mut c = packaged(exe, dir);
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // moto leaves some encryption fields out (aws::verify::encryption): honoured for a loopback endpoint only
        .env(rainmaker_deploy::aws::verify::encryption::MOTO_ENV, "1")
        .args(["--endpoint-url", endpoint])
        .args(args);
    output(c)
}

#[test]
fn the_packaged_binary_finds_its_lambdas_and_deploys_from_an_empty_directory() {
    let moto = MotoServer::shared();
    let endpoint = moto.endpoint_url();
    let (prefix, work) = (tempdir(), tempdir());
    let (exe, hashes) = install(prefix.path(), "installed");
    let dir = work.path();

    // --version names the template version and the digest of the manifest it found beside the executable
    let v = output({
        let mut c = packaged(&exe, dir);
        c.arg("--version");
        c
    });
    assert_eq!(v.code, 0, "{}", v.transcript());
    let manifest = std::fs::read(prefix.path().join("share/rainmaker-deploy/lambdas/manifest.json")).unwrap();
    let digest = hex::encode(Sha256::digest(&manifest));
    assert!(v.stdout.contains(&format!("template version {TEMPLATE_VERSION}")), "{}", v.transcript());
    assert!(v.stdout.contains(&digest) && v.stdout.contains("beside the executable"), "{}", v.transcript());

    let init = against_moto(&exe, dir, &endpoint, &["init", "--name", "inst-home", "--region", REGION]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    // doctor finds the same Lambdas, beside the executable, and the config
    let doc = against_moto(&exe, dir, &endpoint, &["--output", "json", "doctor"]);
    let report: serde_json::Value = serde_json::from_str(&doc.stdout).expect("the doctor report as JSON");
    let lambdas = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "lambdas").unwrap();
    assert_eq!(lambdas["status"], "ok", "{}", doc.transcript());
    let detail = lambdas["detail"].as_str().unwrap();
    assert!(detail.contains("beside the executable") && detail.contains(&digest[..12]), "{detail}");
    let apply = against_moto(&exe, dir, &endpoint, &["--output", "json", "apply", "--yes"]);
    assert_eq!(apply.code, 0, "{}", apply.transcript());
    let report: serde_json::Value = serde_json::from_str(&apply.stdout).expect("the apply report as JSON");
    let bucket =
        report["stacks"][0]["outputs"]["ArtifactsBucketName"].as_str().expect("the artifacts bucket").to_string();

    // the zips that were uploaded are the archive's, and the functions exist (each through its own API)
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let sdk = moto.sdk_config().await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
        for (f, sha) in &hashes {
            let key = format!("lambdas/{f}/{sha}.zip");
            s3.head_object().bucket(&bucket).key(&key).send().await.unwrap_or_else(|e| panic!("{key}: {e:?}"));
        }
        let lambda = aws_sdk_lambda::Client::new(&sdk);
        let fun = lambda.get_function().function_name("rm-inst-home-api").send().await;
        assert!(fun.is_ok(), "the api function was created: {fun:?}");
    });
}

#[test]
fn a_manifest_of_another_template_version_is_refused_naming_both_versions() {
    let moto = MotoServer::shared();
    let endpoint = moto.endpoint_url();
    let (prefix, work) = (tempdir(), tempdir());
    let (exe, _) = install(prefix.path(), "old");
    let path = prefix.path().join("share/rainmaker-deploy/lambdas/manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["template_version"] = "0.0.1-old".into();
    std::fs::write(&path, m.to_string()).unwrap();
    let dir = work.path();
    let init = against_moto(&exe, dir, &endpoint, &["init", "--name", "old-home", "--region", REGION]);
    assert_eq!(init.code, 0, "{}", init.transcript());

    let r = against_moto(&exe, dir, &endpoint, &["apply", "--yes"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(r.stderr.contains("0.0.1-old") && r.stderr.contains(TEMPLATE_VERSION), "{}", r.transcript());
    assert!(r.stderr.contains("help:"), "{}", r.transcript());
    // refused before anything was deployed
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let stacks = rt.block_on(async {
        let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk_config().await);
        cfn.describe_stacks().stack_name("rm-old-home-bootstrap").send().await
    });
    assert!(stacks.is_err(), "no stack was created: {stacks:?}");
    // --artifacts pointing at a good directory is taken over the installed one
    let good = tempdir();
    write_artifacts(good.path(), "good");
    let plan = against_moto(&exe, dir, &endpoint, &["plan", "--artifacts", &good.path().display().to_string()]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
}
