//! Role assumption per tenant, as STS sees it. A recording proxy in front of moto proves each tenant costs exactly
//! one AssumeRole and one GetCallerIdentity (the connect step's identity is handed to the deploy core, which makes
//! none of its own), in `--dry-run`, a first rollout, a no-op re-run and `status --tenants`. moto lets any role be
//! assumed, so a role that cannot be is replayed: the proxy answers one tenant's AssumeRole with STS's query-XML
//! `ErrorResponse` (HTTP 403, `Sender`, `AccessDenied`, "User: ... is not authorized to perform: sts:AssumeRole on
//! resource: ...", as the STS API reference shapes errors) and that request never reaches moto.

use super::bake::form;
use super::fleet::{statuses, Entry, Fleet};
use super::schema::check_report;
use crate::deploy::cli::run_aws;
use rainmaker_test_support::{account_for, Canned, Hooks, MotoServer, Proxy, Received};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// (access key id, region) of a request's SigV4 credential scope.
fn scope(q: &Received) -> (String, String) {
    let auth = q.headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str()).unwrap_or_default();
    let cred = auth.split("Credential=").nth(1).unwrap_or_default();
    let mut parts = cred.split('/');
    let key = parts.next().unwrap_or_default().to_string();
    let region = parts.nth(1).unwrap_or_default().to_string();
    (key, region)
}

fn action(q: &Received) -> Option<String> {
    q.body.split('&').find_map(|kv| kv.strip_prefix("Action=")).map(str::to_string)
}

fn field(q: &Received, name: &str) -> Option<String> {
    form(&q.body).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn role_of(t: &Entry) -> String {
    format!("arn:aws:iam::{}:role/rainmaker-deployer", t.account)
}

/// A count per tenant, by (role, region).
type PerTenant = BTreeMap<(String, String), usize>;

/// Per tenant (by its role and region): the AssumeRole requests and the GetCallerIdentity requests signed with the
/// keys that AssumeRole returned. `issued` maps each returned access key to (role, region).
fn sts_per_tenant(reqs: &[Received], issued: &BTreeMap<String, (String, String)>) -> (PerTenant, PerTenant, usize) {
    let (mut assume, mut identity, mut other_identity) = (BTreeMap::new(), BTreeMap::new(), 0);
    for q in reqs {
        match action(q).as_deref() {
            Some("AssumeRole") => {
                let role = field(q, "RoleArn").expect("RoleArn");
                *assume.entry((role, scope(q).1)).or_insert(0) += 1;
            }
            Some("GetCallerIdentity") => match issued.get(&scope(q).0) {
                Some(tenant) => *identity.entry(tenant.clone()).or_insert(0) += 1,
                None => other_identity += 1,
            },
            _ => {}
        }
    }
    (assume, identity, other_identity)
}

#[test]
fn one_assume_role_and_one_caller_identity_per_tenant() {
    let moto = MotoServer::shared();
    let mut f = Fleet::new(moto, "upi", "", &|_| String::new());
    // every access key AssumeRole hands out, with the role and region it was asked for
    let issued: Arc<Mutex<BTreeMap<String, (String, String)>>> = Arc::default();
    let rewrite = {
        let issued = issued.clone();
        Arc::new(move |q: &Received, body: &str| {
            if action(q).as_deref() == Some("AssumeRole") {
                let key = body.split("<AccessKeyId>").nth(1).and_then(|r| r.split('<').next()).expect("AccessKeyId");
                let role = field(q, "RoleArn").expect("RoleArn");
                issued.lock().unwrap().insert(key.to_string(), (role, scope(q).1));
            }
            body.to_string()
        })
    };
    let proxy = Proxy::moto(moto, Duration::ZERO, Some(rewrite));
    f.endpoint = proxy.endpoint_url();
    let picked = [f.tenants[0].clone(), f.tenants[4].clone()];
    let only = format!("{},{}", picked[0].name, picked[1].name);
    let expect_one = |tenants: &[Entry], what: &str, from: usize| {
        let reqs = &proxy.received()[from..];
        let (assume, identity, other) = sts_per_tenant(reqs, &issued.lock().unwrap());
        let want: BTreeMap<(String, String), usize> =
            tenants.iter().map(|t| ((role_of(t), t.region.clone()), 1)).collect();
        assert_eq!(assume, want, "{what}: one AssumeRole per tenant, in its region");
        assert_eq!(identity, want, "{what}: one GetCallerIdentity per tenant, with its assumed keys");
        assert_eq!(other, 0, "{what}: no GetCallerIdentity with any other keys");
    };

    for (what, args) in
        [("--dry-run", vec!["--dry-run"]), ("first rollout", vec!["--yes"]), ("no-op re-run", vec!["--yes"])]
    {
        let from = proxy.received().len();
        let mut all = args.clone();
        all.extend(["--only", only.as_str()]);
        let (r, v) = f.upgrade_json(&all);
        assert_eq!(r.code, 0, "{what}: {}", r.transcript());
        check_report(&v);
        let want = match what {
            "--dry-run" => "planned",
            "first rollout" => "upgraded",
            _ => "unchanged",
        };
        assert!(statuses(&v).values().all(|s| s == want), "{what}: {}", r.transcript());
        expect_one(&picked, what, from);
    }

    // status --tenants: the same one AssumeRole and one GetCallerIdentity for each of the six
    let from = proxy.received().len();
    let r = run_aws(f.path(), &proxy.endpoint_url(), &["--output", "json", "status", "--tenants", "tenants.yaml"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    expect_one(&f.tenants, "status --tenants", from);
}

/// STS's answer to an AssumeRole the role's trust policy does not allow (query protocol, HTTP 403).
fn access_denied(ci: &str, role: &str) -> Canned {
    Canned::xml(
        403,
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    \
             <Code>AccessDenied</Code>\n    <Message>User: arn:aws:iam::{ci}:user/ci is not authorized to perform: \
             sts:AssumeRole on resource: {role}</Message>\n  </Error>\n  \
             <RequestId>4f1c6f3e-8d7a-4c55-9d51-2c0e1a0b7e11</RequestId>\n</ErrorResponse>\n"
        ),
    )
}

const WAVES: &str = "waves:\n  canary: { max_concurrent: 1, failure_tolerance: 0 }\n  rest: { max_concurrent: 5, failure_tolerance: 0 }\n";

#[test]
fn a_role_that_cannot_be_assumed_fails_its_tenant_and_tolerance_decides_the_rest() {
    let moto = MotoServer::shared();
    let label = "upr2";
    // the canary has a role of its own; its trust policy does not let the CI in
    let mut f = Fleet::new(moto, label, WAVES, &|t| {
        if t.name.ends_with("-a0") {
            format!("    wave: canary\n    role: \"arn:aws:iam::{}:role/rainmaker-deployer-locked\"\n", t.account)
        } else {
            String::new()
        }
    });
    let a0 = f.tenants[0].clone();
    let locked = format!("arn:aws:iam::{}:role/rainmaker-deployer-locked", a0.account);
    let ci = account_for(&format!("{label}-ci"));
    let armed = Arc::new(AtomicBool::new(true));
    let answer = {
        let (armed, locked) = (armed.clone(), locked.clone());
        Arc::new(move |q: &Received| {
            let refuse = armed.load(Ordering::SeqCst)
                && action(q).as_deref() == Some("AssumeRole")
                && field(q, "RoleArn").as_deref() == Some(locked.as_str());
            refuse.then(|| access_denied(&ci, &locked))
        })
    };
    let proxy = Proxy::with(moto, Hooks { answer: Some(answer), ..Hooks::default() });
    f.endpoint = proxy.endpoint_url();
    let rest: Vec<String> = f.tenants[1..].iter().map(|t| t.name.clone()).collect();

    // tolerance 0, soft then strict: the canary fails, nothing else starts; exit 3
    for mode in ["soft", "strict"] {
        let from = proxy.received().len();
        let (r, v) = f.upgrade_json(&["--yes", "--concurrency-mode", mode, "--report", "report.json"]);
        assert_eq!(r.code, 3, "{mode}: {}", r.transcript());
        check_report(&v);
        let st = statuses(&v);
        assert_eq!(st[&a0.name], "failed", "{mode}: {}", r.transcript());
        assert!(rest.iter().all(|n| st[n] == "skipped"), "{mode}: {st:?}");
        assert_eq!(
            (v["waves"][0]["status"].as_str(), v["waves"][1]["status"].as_str()),
            (Some("tolerance_exceeded"), Some("skipped"))
        );
        assert_eq!(v["summary"]["skipped"], 5, "{mode}");
        let err = v["tenants"][0]["error"].as_str().unwrap();
        for part in [
            "STS AssumeRole failed: AccessDenied",
            "not authorized to perform: sts:AssumeRole",
            &locked,
            "trust policy",
            "tenants.yaml",
        ] {
            assert!(err.contains(part), "{mode}: the reason has `{part}`: {err}");
        }
        // the one request of the run: the canary's AssumeRole, refused (AccessDenied is not retried), nothing after
        let reqs = &proxy.received()[from..];
        assert_eq!(reqs.len(), 1, "{mode}: {:?}", reqs.iter().map(action).collect::<Vec<_>>());
        let q = &reqs[0];
        assert_eq!(action(q).as_deref(), Some("AssumeRole"));
        assert_eq!(field(q, "RoleArn").as_deref(), Some(locked.as_str()));
        let session = field(q, "RoleSessionName").expect("RoleSessionName");
        assert_eq!(session, format!("rainmaker-upgrade-{}", v["run_id"].as_str().unwrap()), "{mode}");
        let (millis, pid) = session["rainmaker-upgrade-".len()..].split_once('-').expect("<millis>-<pid>");
        assert!(millis.parse::<u64>().is_ok() && pid.parse::<u32>().is_ok(), "{session}");
        // STS: 2-64 characters of [\w+=,.@-]
        assert!(session.len() <= 64 && session.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)));
        assert_eq!(scope(q).1, a0.region, "signed for the tenant's region");
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f.path().join("report.json")).unwrap()).unwrap();
        assert_eq!(file, v, "{mode}: the report file is the final report");
        // stderr is not a terminal: the plain lines, each `<tenant> [<wave>] <state> (<whole seconds>s)`
        let prefix = format!("{} [canary] ", a0.name);
        let lines: Vec<String> = r
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(|l| {
                let (text, secs) = l.rsplit_once(" (").unwrap_or_else(|| panic!("{l}"));
                assert!(secs.strip_suffix("s)").is_some_and(|n| n.parse::<u32>().is_ok()), "{l}");
                text.to_string()
            })
            .collect();
        assert_eq!(lines, ["starting".to_string(), format!("assuming {locked}"), "failed".into()], "{}", r.stderr);
    }
    // --no-progress: the same plain lines (spinner rows are for terminals only)
    let (r, _) = f.upgrade_json(&["--yes", "--no-progress"]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains(&format!("{} [canary] assuming {locked} (", a0.name)), "{}", r.stderr);

    // tolerance 1 (soft, then strict): the canary's failure is tolerated, the others go through; still exit 3
    let only = format!("{},{},{}", a0.name, f.tenants[1].name, f.tenants[3].name);
    for (mode, want) in [("soft", "upgraded"), ("strict", "unchanged")] {
        let (r, v) =
            f.upgrade_json(&["--yes", "--failure-tolerance", "1", "--concurrency-mode", mode, "--only", &only]);
        assert_eq!(r.code, 3, "{mode}: {}", r.transcript());
        let st = statuses(&v);
        assert_eq!(st[&a0.name], "failed", "{mode}");
        assert_eq!(
            (st[&f.tenants[1].name].as_str(), st[&f.tenants[3].name].as_str()),
            (want, want),
            "{mode}: {}",
            r.transcript()
        );
        assert_eq!(v["waves"][0]["status"], "completed", "{mode}: within its tolerance");
    }

    // the trust policy fixed: the canary goes through, the others are unchanged, exit 0
    armed.store(false, Ordering::SeqCst);
    let (r, v) = f.upgrade_json(&["--yes", "--only", &only]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let st = statuses(&v);
    assert_eq!(st[&a0.name], "upgraded");
    assert_eq!((st[&f.tenants[1].name].as_str(), st[&f.tenants[3].name].as_str()), ("unchanged", "unchanged"));
}
