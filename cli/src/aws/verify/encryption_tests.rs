//! The encryption judgement as a table: both `security.kms` modes, every field present, absent and wrong, and
//! what the test-only moto mode changes (only absent fields moto leaves out).

use super::*;

const ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const OTHER: &str = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab";
const AWS_DDB: &str = "arn:aws:kms:us-east-1:123456789012:key/aaaaaaaa-aws0-dyna-modb-000000000000";

fn key() -> Want {
    Want::Key { arn: ARN.into(), alias: "alias/rm-acme".into() }
}

/// DescribeTable's `SSEDescription` as the judge takes it.
type Sse<'a> = Option<(&'a str, &'a str, Option<&'a str>)>;

#[test]
fn table_table() {
    use Omissions::*;
    let aws = Want::AwsManaged;
    let rows: Vec<(&str, Want, Sse, Omissions, bool)> = vec![
        ("aws-managed, KMS aws/dynamodb", aws.clone(), Some(("ENABLED", "KMS", Some(AWS_DDB))), Strict, true),
        ("aws-managed, no SSEDescription (AWS owned key)", aws.clone(), None, Strict, false),
        ("aws-managed, SSE disabling", aws.clone(), Some(("DISABLING", "KMS", Some(AWS_DDB))), Strict, false),
        ("customer-managed, the tenant key", key(), Some(("ENABLED", "KMS", Some(ARN))), Strict, true),
        ("customer-managed, another key", key(), Some(("ENABLED", "KMS", Some(OTHER))), Strict, false),
        ("customer-managed, no key arn", key(), Some(("ENABLED", "KMS", None)), Strict, false),
        ("customer-managed, updating", key(), Some(("UPDATING", "KMS", Some(ARN))), Strict, false),
        ("customer-managed, no SSEDescription", key(), None, Strict, false),
        ("moto: no SSEDescription passes", key(), None, Moto, true),
        ("moto: a wrong key still fails", key(), Some(("ENABLED", "KMS", Some(OTHER))), Moto, false),
    ];
    for (what, want, sse, om, ok) in rows {
        let (got, detail) = table(&want, sse, om);
        assert_eq!(got, ok, "{what}: {detail}");
        if !ok {
            assert!(
                detail.starts_with("encryption: expected ") && detail.contains("security.kms: "),
                "{what}: {detail}"
            );
            assert!(detail.contains("status --drift"), "{what}: says what to do: {detail}");
        }
    }
}

#[test]
fn key_field_queue_and_secret_tables() {
    use Omissions::*;
    let aws = Want::AwsManaged;
    for (what, want, seen, moto_omits, om, ok) in [
        ("aws-managed log group: no kmsKeyId", aws.clone(), None, true, Strict, true),
        ("aws-managed log group under a key", aws.clone(), Some(ARN), true, Strict, false),
        ("customer-managed: the key's ARN", key(), Some(ARN), true, Strict, true),
        ("customer-managed: the key's id", key(), Some("1234abcd-12ab-34cd-56ef-1234567890ab"), true, Strict, true),
        ("customer-managed: the alias", key(), Some("alias/rm-acme"), true, Strict, true),
        ("customer-managed: another key", key(), Some(OTHER), true, Strict, false),
        ("customer-managed: absent", key(), None, true, Strict, false),
        ("moto: absent where moto omits it", key(), None, true, Moto, true),
        ("moto: absent where moto does not omit it", key(), None, false, Moto, false),
        ("moto: another key", key(), Some(OTHER), true, Moto, false),
    ] {
        assert_eq!(key_field(&want, "kmsKeyId", seen, moto_omits, om).0, ok, "{what}");
    }
    for (what, want, kms, managed, ok) in [
        ("aws-managed: SQS-managed SSE", aws.clone(), None, Some("true"), true),
        ("aws-managed: empty KmsMasterKeyId", aws.clone(), Some(""), Some("true"), true),
        ("aws-managed: unencrypted", aws.clone(), None, Some("false"), false),
        ("aws-managed: under a key", aws.clone(), Some(ARN), Some("false"), false),
        ("customer-managed: the key", key(), Some(ARN), Some("false"), true),
        ("customer-managed: SQS-managed instead", key(), None, Some("true"), false),
        ("customer-managed: another key", key(), Some(OTHER), None, false),
    ] {
        assert_eq!(queue(&want, kms, managed).0, ok, "{what}");
    }
    for (what, want, kms, ok) in [
        ("aws-managed: no KmsKeyId", aws.clone(), None, true),
        ("aws-managed: the aws/secretsmanager alias", aws.clone(), Some("alias/aws/secretsmanager"), true),
        ("aws-managed: the tenant key", aws.clone(), Some(ARN), false),
        ("customer-managed: the key", key(), Some(ARN), true),
        ("customer-managed: aws/secretsmanager", key(), None, false),
        ("customer-managed: another key", key(), Some(OTHER), false),
    ] {
        assert_eq!(secret(&want, kms).0, ok, "{what}");
    }
    assert!(!secret_not_found("Secrets Manager DescribeSecret failed: ResourceNotFoundException: x", Strict).0);
    assert!(secret_not_found("x", Moto).0);
    assert!(!log_group_not_listed(Strict).0);
    assert!(log_group_not_listed(Moto).0);
}

#[test]
fn a_mismatch_names_what_was_expected_and_found() {
    let (ok, detail) = queue(&key(), None, Some("true"));
    assert!(!ok);
    assert!(
        detail.starts_with(&format!(
            "encryption: expected KmsMasterKeyId {ARN} (security.kms: customer-managed), found KmsMasterKeyId absent; "
        )),
        "{detail}"
    );
}

#[test]
fn the_moto_mode_needs_a_loopback_endpoint() {
    // the variable is not set in this test process: strict for every endpoint
    assert_eq!(Omissions::default(), Omissions::Strict);
    assert_eq!(Omissions::for_cli(Some("http://127.0.0.1:5000")), Omissions::Strict);
    for (url, loopback) in [
        ("http://127.0.0.1:5000", true),
        ("http://localhost:4566/", true),
        ("http://[::1]:5000", true),
        ("https://127.0.0.1:5000", false),
        ("https://dynamodb.us-east-1.amazonaws.com", false),
        ("http://127.0.0.1.example.com:80", false),
        ("http://localhost.attacker.net", false),
    ] {
        assert_eq!(is_loopback(url), loopback, "{url}");
    }
}
