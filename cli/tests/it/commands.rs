//! The init / render / validate / blueprints commands, run as a user would: help, results, errors, exit codes.

use crate::support::{run, tempdir};
use insta::assert_snapshot;

fn init(dir: &std::path::Path) {
    let r = run(dir, &["init", "--name", "acme-home", "--region", "eu-west-1"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
}

#[test]
fn help_texts() {
    let d = tempdir();
    assert_snapshot!("help", run(d.path(), &["--help"]).transcript());
    assert_snapshot!("init-help", run(d.path(), &["init", "--help"]).transcript());
}

#[test]
fn init_writes_a_valid_config_and_refuses_to_overwrite_it() {
    let d = tempdir();
    let r = run(d.path(), &["init", "--name", "acme-home", "--blueprint", "water-meter", "--region", "eu-west-1"]);
    assert_snapshot!("init-ok", r.transcript());
    let written = std::fs::read_to_string(d.path().join("rainmaker.yaml")).expect("written");
    let cfg = rainmaker_deploy::config::parse(&written, "rainmaker.yaml").expect("valid");
    assert_eq!(
        (cfg.name.as_str(), cfg.region.as_str(), cfg.blueprint.as_str()),
        ("acme-home", "eu-west-1", "water-meter")
    );

    std::fs::write(d.path().join("rainmaker.yaml"), "# mine\n").expect("write");
    let again = run(d.path(), &["init", "--name", "other-name"]);
    assert_eq!(again.code, 2);
    assert_snapshot!("init-exists", again.transcript());
    assert_eq!(std::fs::read_to_string(d.path().join("rainmaker.yaml")).expect("read"), "# mine\n", "nothing was lost");

    let forced = run(d.path(), &["init", "--name", "other-name", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.transcript());
    assert!(std::fs::read_to_string(d.path().join("rainmaker.yaml")).expect("read").contains("name: other-name"));
}

#[test]
fn init_errors_name_the_flag() {
    let d = tempdir();
    assert_snapshot!(
        "init-unknown-blueprint",
        run(d.path(), &["init", "--name", "acme-home", "--blueprint", "smart-hom"]).transcript()
    );
    assert_snapshot!("init-bad-name", run(d.path(), &["init", "--name", "Acme_Home"]).transcript());
    assert_snapshot!(
        "init-bad-region",
        run(d.path(), &["init", "--name", "acme-home", "--region", "eu-wst-1"]).transcript()
    );
    assert!(!d.path().join("rainmaker.yaml").exists());
}

#[test]
fn init_writes_where_config_or_dir_says() {
    let d = tempdir();
    // --config DIR/rainmaker.yaml (a global flag, before the command): that file, not ./rainmaker.yaml
    let r = run(d.path(), &["--config", "t1/rainmaker.yaml", "init", "--name", "acme-home", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let written = std::fs::read_to_string(d.path().join("t1/rainmaker.yaml")).expect("written where --config says");
    assert_eq!(rainmaker_deploy::config::parse(&written, "t1/rainmaker.yaml").expect("valid").name, "acme-home");
    assert!(!d.path().join("rainmaker.yaml").exists(), "nothing in the working directory");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v["path"], "t1/rainmaker.yaml");
    // the next steps name the file
    let r = run(d.path(), &["--config", "t2/acme.yaml", "init", "--name", "acme-home"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(r.stdout.contains("rainmaker-deploy --config t2/acme.yaml validate"), "{}", r.transcript());
    assert!(d.path().join("t2/acme.yaml").exists());
    // an existing file there is refused as in the working directory
    let again = run(d.path(), &["--config", "t1/rainmaker.yaml", "init", "--name", "other-name"]);
    assert_eq!(again.code, 2, "{}", again.transcript());
    assert!(again.stderr.contains("t1/rainmaker.yaml already exists"), "{}", again.transcript());
    // --dir still works, and agrees with a --config naming the same file
    let r = run(d.path(), &["--config", "t3/rainmaker.yaml", "init", "--name", "acme-home", "--dir", "t3"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(d.path().join("t3/rainmaker.yaml").exists());
    // --dir and --config naming different files: refused, both named, nothing written
    let r = run(d.path(), &["--config", "t4/x.yaml", "init", "--name", "acme-home", "--dir", "t5"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(
        r.stderr.contains("--dir") && r.stderr.contains("t4/x.yaml") && r.stderr.contains("t5"),
        "{}",
        r.transcript()
    );
    assert!(!d.path().join("t4").exists() && !d.path().join("t5").exists());
}

#[test]
fn init_json_output() {
    let d = tempdir();
    let r = run(d.path(), &["init", "--name", "acme-home", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON on stdout");
    assert_eq!(v["blueprint"], "smart-home");
    assert_eq!(v["region"], "us-east-1");
}

#[test]
fn blueprints_lists_all_three() {
    let d = tempdir();
    assert_snapshot!("blueprints", run(d.path(), &["blueprints"]).transcript());
}

#[test]
fn render_writes_one_file_per_stack() {
    let d = tempdir();
    init(d.path());
    let r = run(d.path(), &["render", "--out", "out", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    for f in ["out/bootstrap.yaml", "out/backend.yaml"] {
        let body = std::fs::read_to_string(d.path().join(f)).expect("written");
        assert!(body.contains("TemplateVersion"), "{f}");
    }
}

#[test]
fn validate_passes_with_and_without_cfn_lint() {
    let d = tempdir();
    init(d.path());
    let r = crate::support::cmd(d.path())
        .env("CFN_LINT", crate::templates::cfn_lint())
        .args(["validate", "--output", "json"])
        .output()
        .expect("runs");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).expect("JSON");
    assert_eq!(v["ok"], true);
    assert_eq!(v["stacks"][1]["cfn_lint"], serde_json::json!([]), "cfn-lint ran and found nothing");
    // checkov named explicitly and its path redacted: the snapshot is the same in every checkout and shell
    let checkov = crate::templates::checkov();
    let out = crate::support::cmd(d.path()).env("CHECKOV", &checkov).args(["validate", "--no-cfn-lint"]).output();
    let r = crate::support::Run::from(out.expect("runs"));
    assert_snapshot!("validate-no-lint", r.transcript().replace(&checkov.display().to_string(), "<checkov>"));
}

#[test]
fn a_bad_config_is_reported_with_file_line_and_help() {
    let d = tempdir();
    init(d.path());
    let path = d.path().join("rainmaker.yaml");
    let src = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        src.replace("memory_mb: 128", "memory_mb: 64").replace("  timeout_seconds: 10", "  timeout_secs: 10"),
    )
    .expect("write");
    let r = run(d.path(), &["render"]);
    assert_eq!(r.code, 2);
    assert_snapshot!("bad-config-unknown-key", r.transcript());
    std::fs::write(
        &path,
        src.replace("memory_mb: 128", "memory_mb: 64").replace("log_retention_days: 30", "log_retention_days: 31"),
    )
    .expect("write");
    let r = run(d.path(), &["validate"]);
    assert_eq!(r.code, 2);
    assert_snapshot!("bad-config-values", r.transcript());
    let r = run(d.path(), &["validate", "--output", "json"]);
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_str(&r.stderr).expect("the error is JSON on stderr");
    assert_eq!(v["error"]["code"], "rainmaker::config::invalid");
    assert_eq!(
        v["error"]["related"][0]["message"].as_str().map(|m| m.contains("`lambda.memory_mb`")),
        Some(true),
        "{v}"
    );
}

#[test]
fn a_missing_config_says_how_to_make_one() {
    let d = tempdir();
    assert_snapshot!("missing-config", run(d.path(), &["render"]).transcript());
}

#[test]
fn argument_errors_exit_2_and_are_json_when_asked() {
    let d = tempdir();
    let r = run(d.path(), &["init", "--nme", "x"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--nme"), "{}", r.stderr);
    let r = run(d.path(), &["--output", "json", "init", "--nme", "x"]);
    assert_eq!(r.code, 2);
    let v: serde_json::Value = serde_json::from_str(r.stderr.trim()).expect("one JSON object");
    assert_eq!(v["error"]["code"], "rainmaker::usage::arguments");
    assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains("--nme")), "{v}");
}
