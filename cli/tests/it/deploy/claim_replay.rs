//! What moto lacks for the claim certificate, replayed in the shapes of the AWS IoT and Secrets Manager API
//! references: ListTargetsForPolicy answers in pages (moto returns one), and destroy's half must follow
//! `nextMarker` to find every claim certificate. The requests are read back (paths, markers, bodies, queries).

use super::replay::replay_sdk;
use aws_smithy_runtime::client::http::test_util::ReplayEvent;
use aws_smithy_types::body::SdkBody;
use rainmaker_deploy::aws::claim::{self, Place};
use rainmaker_deploy::aws::progress::NoProgress;
use rainmaker_deploy::aws::Clients;
use rainmaker_deploy::config;
use rainmaker_deploy::template::Names;

const ACCOUNT: &str = "123456789012";
const A: &str = "1f0a6b2f3a8c1e8d6d3a3f5e2c1b0a9f8e7d6c5b4a3928170605f4e3d2c1b0a9";
const B: &str = "2e9b7c3e4b9d2f9e7e4b4a6f3d2c1bae9f8e7d6c5b4a3928170605f4e3d2c1b0";

fn arn(id: &str) -> String {
    format!("arn:aws:iot:us-east-1:{ACCOUNT}:cert/{id}")
}

fn event(uri: &str, status: u16, body: serde_json::Value, headers: &[(&str, &str)]) -> ReplayEvent {
    let mut res = http::Response::builder().status(status).header("Content-Type", "application/json");
    for (k, v) in headers {
        res = res.header(*k, *v);
    }
    ReplayEvent::new(
        http::Request::builder().uri(uri).body(SdkBody::empty()).unwrap(),
        res.body(SdkBody::from(body.to_string())).unwrap(),
    )
}

fn iot(path: &str, body: serde_json::Value) -> ReplayEvent {
    event(&format!("https://iot.us-east-1.amazonaws.com{path}"), 200, body, &[])
}

fn described(id: &str) -> ReplayEvent {
    iot(
        &format!("/certificates/{id}"),
        serde_json::json!({"certificateDescription": {
            "certificateArn": arn(id), "certificateId": id, "status": "ACTIVE",
            "certificatePem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "ownedBy": ACCOUNT, "creationDate": 1.7301e9, "lastModifiedDate": 1.7301e9, "customerVersion": 1,
            "generationId": "e0d4b6b7-0f5a-4c4b-8e0e-6b7c4f3a2d1e", "certificateMode": "SNI_ONLY"
        }}),
    )
}

#[tokio::test]
async fn destroy_follows_every_page_of_the_claim_policys_targets() {
    let cfg = config::blueprint_config("smart-home", "acme-home", "us-east-1").unwrap();
    let names = Names::new(&cfg.name);
    let policy = &names.claim_policy;
    let mut events = vec![
        // ListTargetsForPolicy: two pages
        iot(&format!("/policy-targets/{policy}"), serde_json::json!({"targets": [arn(A)], "nextMarker": "AAEAAQ=="})),
        iot(&format!("/policy-targets/{policy}?marker=AAEAAQ%3D%3D"), serde_json::json!({"targets": [arn(B)]})),
        // GetSecretValue: no secret (a deployment from before the secret, or one destroyed already)
        event(
            "https://secretsmanager.us-east-1.amazonaws.com/",
            400,
            serde_json::json!({"__type": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret."}),
            &[("x-amzn-ErrorType", "ResourceNotFoundException")],
        ),
    ];
    for id in [A, B] {
        events.push(iot(&format!("/target-policies/{policy}"), serde_json::json!({})));
        events.push(described(id));
        events.push(iot(&format!("/certificates/{id}?newStatus=INACTIVE"), serde_json::json!({})));
        events.push(iot(&format!("/certificates/{id}?forceDelete=true"), serde_json::json!({})));
    }
    let (sdk, http) = replay_sdk(events);
    let c = Clients::new(&sdk);
    let dir = tempfile::tempdir().unwrap();
    let place = Place::new(&cfg, &names, policy, dir.path());
    let deleted = claim::retire_all(&c, &place, &NoProgress).await.expect("retire_all");
    assert_eq!(deleted, [A, B], "the second page's certificate too");

    let reqs: Vec<_> = http.actual_requests().collect();
    assert_eq!(reqs.len(), 11);
    assert_eq!(
        (reqs[0].method(), reqs[0].uri()),
        ("POST", format!("https://iot.us-east-1.amazonaws.com/policy-targets/{policy}").as_str())
    );
    assert!(reqs[1].uri().ends_with(&format!("/policy-targets/{policy}?marker=AAEAAQ%3D%3D")), "{}", reqs[1].uri());
    let target = |i: usize| -> String {
        let body: serde_json::Value = serde_json::from_slice(reqs[i].body().bytes().unwrap()).unwrap();
        body["target"].as_str().unwrap().to_string()
    };
    for (i, id) in [(3, A), (7, B)] {
        assert_eq!((reqs[i].method(), reqs[i].uri().ends_with(&format!("/target-policies/{policy}"))), ("POST", true));
        assert_eq!(target(i), arn(id), "DetachPolicy of {id}");
        assert_eq!((reqs[i + 1].method(), reqs[i + 1].uri().ends_with(&format!("/certificates/{id}"))), ("GET", true));
        assert!(
            reqs[i + 2].uri().ends_with(&format!("/certificates/{id}?newStatus=INACTIVE")),
            "{}",
            reqs[i + 2].uri()
        );
        assert_eq!(reqs[i + 2].method(), "PUT");
        assert!(reqs[i + 3].uri().ends_with(&format!("/certificates/{id}?forceDelete=true")), "{}", reqs[i + 3].uri());
        assert_eq!(reqs[i + 3].method(), "DELETE");
    }
    let get = String::from_utf8_lossy(reqs[2].body().bytes().unwrap()).to_string();
    assert!(get.contains(&names.claim_secret), "GetSecretValue of the tenant's secret: {get}");
}
