//! How AWS failures read on the command line: `<Service> <Operation> failed: <code>: <message>` with a help line
//! for the code, the SDK's raw detail only with `-v`, and an endpoint that cannot be reached failing within 10 s
//! with "cannot reach <endpoint>". The errors come from a canned endpoint answering in CloudFormation's own error
//! shape (query protocol XML), or from a port nothing listens on.

use crate::deploy::cli::run_aws;
use crate::support::{run, tempdir, Run};
use insta::assert_snapshot;
use rainmaker_test_support::{closed_port_url, Reply, ReplyServer, REGION};
use std::path::Path;
use std::time::{Duration, Instant};

const NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

/// STS GetCallerIdentity as the API reference shows it (every command asks it first).
pub const CALLER_IDENTITY: &str = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
    <GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ci</Arn><UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>\
    <Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-\
    456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>";

/// A canned endpoint: STS answers who is calling, every other call gets `code` in CloudFormation's error shape.
fn cfn_error(status: u16, code: &str, message: &str) -> ReplyServer {
    let body = format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>5ccc7dcd-744c-11e5-be70-example</RequestId></ErrorResponse>"
    );
    ReplyServer::start_routes(&[
        Reply {
            when: Some("Action=GetCallerIdentity"),
            status: 200,
            headers: &[("Content-Type", "text/xml")],
            body: CALLER_IDENTITY,
        },
        Reply {
            when: None,
            status,
            headers: &[("Content-Type", "text/xml"), ("x-amzn-RequestId", "5ccc7dcd-744c-11e5-be70-example")],
            body: &body,
        },
    ])
}

fn tenant() -> tempfile::TempDir {
    let d = tempdir();
    let init = run(d.path(), &["init", "--name", "err-home", "--region", REGION]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    d
}

fn snap(name: &str, r: &Run) {
    insta::with_settings!({ filters => vec![(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]")] }, {
        assert_snapshot!(name, r.transcript());
    });
}

fn status(dir: &Path, endpoint: &str, extra: &[&str]) -> Run {
    let mut args = extra.to_vec();
    args.push("status");
    run_aws(dir, endpoint, &args)
}

#[test]
fn access_denied_names_the_code_the_message_and_the_missing_action() {
    let d = tenant();
    let server = cfn_error(
        403,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudformation:DescribeStacks on \
         resource: arn:aws:cloudformation:us-east-1:123456789012:stack/rm-err-home-bootstrap/* because no \
         identity-based policy allows the cloudformation:DescribeStacks action",
    );
    let r = status(d.path(), &server.endpoint_url(), &[]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(r.stderr.contains("CloudFormation DescribeStacks failed: AccessDenied: User: arn:aws:iam"), "{}", r.stderr);
    assert!(r.stderr.contains("may not call cloudformation:DescribeStacks"), "{}", r.stderr);
    for dump in ["ServiceError", "Unhandled", "detail:", "5ccc7dcd"] {
        assert!(!r.stderr.contains(dump), "no SDK dump without -v ({dump}): {}", r.stderr);
    }
    let actions: Vec<String> = server.received().iter().map(|r| r.body.clone()).collect();
    assert!(actions[0].contains("Action=GetCallerIdentity"), "who is calling, first: {actions:?}");
    assert!(actions[1].contains("Action=DescribeStacks"), "then the call that failed: {actions:?}");
    snap("access-denied", &r);

    let v = status(d.path(), &server.endpoint_url(), &["-v"]);
    assert_eq!(v.code, 1, "{}", v.transcript());
    assert!(v.stderr.contains("detail:") && v.stderr.contains("5ccc7dcd-744c-11e5-be70-example"), "{}", v.stderr);
    assert!(v.stderr.contains("DescribeStacks"), "-v traces the SDK call: {}", v.stderr);

    let j = status(d.path(), &server.endpoint_url(), &["--output", "json"]);
    let e: serde_json::Value = serde_json::from_str(j.stderr.trim()).expect("the error as JSON on stderr");
    assert_eq!(e["error"]["code"], "rainmaker::deploy::aws", "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("CloudFormation DescribeStacks failed: AccessDenied: "));
}

#[test]
fn expired_credentials_and_validation_errors_get_their_own_help() {
    let d = tenant();
    let expired = cfn_error(403, "ExpiredToken", "The security token included in the request is expired");
    let r = status(d.path(), &expired.endpoint_url(), &[]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(r.stderr.contains("DescribeStacks failed: ExpiredToken: The security token"), "{}", r.stderr);
    assert!(r.stderr.contains("aws sts get-caller-identity"), "{}", r.stderr);
    snap("expired-token", &r);

    let invalid = cfn_error(400, "ValidationError", "1 validation error detected: Value at 'stackName' failed");
    let r = status(d.path(), &invalid.endpoint_url(), &[]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(r.stderr.contains("DescribeStacks failed: ValidationError: 1 validation error"), "{}", r.stderr);
    assert!(r.stderr.contains("AWS rejected a value"), "{}", r.stderr);
}

#[test]
fn a_refused_connection_fails_within_10_s_saying_which_endpoint() {
    let d = tenant();
    let url = closed_port_url();
    let started = Instant::now();
    let r = status(d.path(), &url, &[]);
    let took = started.elapsed();
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(took < Duration::from_secs(10), "took {took:?}: {}", r.stderr);
    assert!(r.stderr.contains(&format!("cannot reach {url} (connection refused)")), "{}", r.stderr);
    snap("connection-refused", &r);
}

#[test]
fn an_unknown_host_fails_within_10_s() {
    let d = tenant();
    let started = Instant::now();
    let r = status(d.path(), "http://rainmaker-no-such-host.invalid", &[]);
    let took = started.elapsed();
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(took < Duration::from_secs(10), "took {took:?}: {}", r.stderr);
    assert!(r.stderr.contains("cannot reach http://rainmaker-no-such-host.invalid (unknown host"), "{}", r.stderr);
}
