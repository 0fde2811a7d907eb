//! No raw user id, e-mail, token, binding code or device secret in anything a function writes: every handler
//! runs in a child process of this test binary with the production log level (the template's `RUST_LOG`) and its
//! embedded-metric lines on, through every event and route and through crafted events that carry those values in
//! wrong-typed and unknown fields (the refusal paths, whose parse errors used to quote them); the parent reads all
//! the child wrote (stdout and stderr: tracing and EMF, as CloudWatch Logs would get it) and looks for each value.
//! The keyed pseudonym of `rainmaker_model::logid` is what a line may carry instead.

use super::iam::{backend, drive, Secrets};
use super::{api_request, fixture, OTHER, USER};
use serde_json::json;

const CHILD: &str = "logs::every_handler_with_its_production_logging";
/// Where the child writes the values to look for (the binding code is made by the API during the run).
const SECRETS_FILE: &str = "ACCESS_CHECK_LOG_SCAN_SECRETS";

/// Run by [`no_handler_logs_a_user_id_email_token_or_device_secret`] in a child process (its output is the
/// subject of that test).
#[tokio::test]
#[ignore = "run in a child process by logs::no_handler_logs_a_user_id_email_token_or_device_secret"]
async fn every_handler_with_its_production_logging() {
    let template = backend("smart-home");
    let level = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]["RUST_LOG"]
        .as_str()
        .unwrap()
        .to_string();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let recorded = drive(&template, true).await;
    let s = &recorded.secrets;
    if let Ok(path) = std::env::var(SECRETS_FILE) {
        let v = json!({"email": s.email, "token": s.token, "device_secret": s.device_secret, "binding_code": s.binding_code});
        std::fs::write(path, v.to_string()).unwrap();
    }

    // Crafted events: the values where a number belongs, and as the names of unknown fields.
    let mut ev = fixture("binding-confirm/tests/fixtures/binding-rule-event.json");
    ev["received_at"] = json!(s.binding_code);
    ev[USER] = json!(1);
    let confirm = binding_confirm::Confirm::new(&recorded.sdk, recorded.tables.clone(), "iam-check");
    assert!(matches!(confirm.handle(ev).await, Ok(binding_confirm::BindingOutcome::Refused { .. })));
    let mut ev = fixture("presence/tests/fixtures/connected.json");
    ev["timestamp"] = json!(s.email);
    ev[s.token.as_str()] = json!(1);
    assert!(presence::Presence::new(&recorded.sdk, &recorded.tables).handle(ev).await.is_ok());
    let mut ev = fixture("telemetry-ingest/tests/fixtures/rule-event-single.json");
    ev["received_at"] = json!(USER);
    ev[s.device_secret.as_str()] = json!(1);
    let ingest = telemetry_ingest::Ingest::new(&recorded.sdk, recorded.tables.clone(), Default::default());
    assert_eq!(ingest.handle(ev).await.map(|o| o.accepted).unwrap_or(0), 0);
    // telemetry-batch: the values in a record's wrong-typed and unknown fields, as a foreign partition key, as
    // data that is not JSON, and as an unknown top-level field of the event
    let batch = telemetry_batch::Consumer::new(&recorded.sdk, recorded.tables.clone(), Default::default());
    let bad = json!({"node_id": "SN-1", "received_at": USER, "params": {"a": 1}, s.device_secret.as_str(): 1});
    let foreign = json!({"node_id": "SN-1", "params": {"a": 1}});
    let records = [
        ("SN-1", bad.to_string().into_bytes()),
        (s.email.as_str(), foreign.to_string().into_bytes()),
        ("SN-1", format!("{{{}", s.token).into_bytes()),
    ];
    let out = batch.process(super::kinesis_event(&records)).await;
    assert_eq!((out.rejected, out.accepted), (3, 0), "{out:?}");
    let mut ev = super::kinesis_event(&records[..1]);
    ev[s.binding_code.as_str()] = json!(s.token);
    assert!(batch.process(ev).await.refused_event.is_some());
    let mut ev = fixture("provisioning-hook/tests/fixtures/pre-provisioning-hook.json");
    ev[s.device_secret.as_str()] = json!(s.token);
    let out = serde_json::to_value(recorded.hook.handle(ev).await).unwrap();
    assert_eq!(out["allowProvisioning"], false, "{out}");
    let mut ev = api_request("GET", "/nodes", None);
    ev["requestContext"]["requestId"] = json!(1);
    ev[s.email.as_str()] = json!(s.token);
    let resp = recorded.api.handle(ev).await;
    assert_eq!(resp["statusCode"], 400, "{resp}");
}

fn needles(s: &Secrets) -> Vec<(&'static str, String)> {
    let token_signature = s.token.rsplit('.').next().unwrap().to_string();
    vec![
        ("user id", USER.to_string()),
        ("shared-with user id", OTHER.to_string()),
        ("e-mail", s.email.clone()),
        ("Authorization token", s.token.clone()),
        ("token signature", token_signature),
        ("binding code", s.binding_code.clone()),
        ("device secret", s.device_secret.clone()),
    ]
}

/// The child's whole output (stdout and stderr) and the values it used.
fn run_child() -> (String, Secrets) {
    let file = std::env::temp_dir().join(format!("access-check-log-scan-{}.json", std::process::id()));
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([CHILD, "--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(SECRETS_FILE, &file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child did not run {CHILD}:\n{text}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let _ = std::fs::remove_file(&file);
    let get = |k: &str| v[k].as_str().unwrap().to_string();
    let secrets = Secrets {
        email: get("email"),
        token: get("token"),
        device_secret: get("device_secret"),
        binding_code: get("binding_code"),
    };
    (text, secrets)
}

#[tokio::test]
async fn no_handler_logs_a_user_id_email_token_or_device_secret() {
    let (out, secrets) = tokio::task::spawn_blocking(run_child).await.unwrap();
    // The scan reads real log output: each function's lines and its embedded metrics are there.
    for line in [
        "provisioning allowed",
        "node bound",
        "presence event",
        "telemetry stored",
        "telemetry record refused",
        "telemetry batch stored",
        "event refused",
        "provisioning denied",
        "\"CloudWatchMetrics\"",
        "\"EventRefused\"",
    ] {
        assert!(out.contains(line), "no `{line}` in the child's output:\n{out}");
    }
    for (what, value) in needles(&secrets) {
        assert!(!value.is_empty());
        let hits: Vec<&str> = out.lines().filter(|l| l.contains(value.as_str())).collect();
        assert!(hits.is_empty(), "the {what} appears in the logs:\n{}", hits.join("\n"));
    }
}
