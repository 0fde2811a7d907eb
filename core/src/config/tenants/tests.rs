//! tenants.yaml: the example of the issue resolves as documented, and each refusal names the field and its line.

use super::*;
use crate::config::blueprint_config;
use crate::config::tests::full_text;

const GOOD: &str = r#"version: 1
defaults:
  role: "arn:aws:iam::{account}:role/rainmaker-deployer"
  region: eu-west-1
waves:
  canary: { max_concurrent: 1, failure_tolerance: 0, bake_minutes: 15 }
  rest:   { max_concurrent: 10, failure_tolerance: "5%" }
tenants:
  - name: acme-home
    config: tenants/acme-home/rainmaker.yaml
    account: "111111111111"
    wave: canary
  - name: beta-home
    config: tenants/beta-home/rainmaker.yaml
    account: "222222222222"
    role: "arn:aws:iam::222222222222:role/other"
    region: us-east-1
    allow_replace: true
  - name: gamma-home
    config: tenants/gamma-home/rainmaker.yaml
    account: "111111111111"
    hold: true
"#;

/// Configs by path: `<name>` in the folder name is the tenant; a region override by a `@region` suffix in the map.
fn loader(path: &Path) -> Loaded {
    let p = path.to_string_lossy().to_string();
    let name = p.split('/').rev().nth(1).unwrap_or("").to_string();
    match name.as_str() {
        "missing-home" => Loaded::Missing("No such file or directory (os error 2)".into()),
        "broken-home" => Loaded::Read(crate::config::parse("version: 1\nname: broken-home\n", &p)),
        "beta-home" => Loaded::Read(blueprint_config("smart-home", "beta-home", "us-east-1")),
        "other-name" => Loaded::Read(blueprint_config("smart-home", "someone-else", "eu-west-1")),
        n => Loaded::Read(blueprint_config("smart-home", n, "eu-west-1")),
    }
}

fn parse_str(src: &str) -> Result<Fleet, TenantsError> {
    parse(src, "tenants.yaml", Path::new("/fleet"), &loader)
}

fn broken(from: &str, to: &str) -> TenantsError {
    assert!(GOOD.contains(from), "the fixture has `{from}`");
    parse_str(&GOOD.replacen(from, to, 1)).expect_err("refused")
}

#[test]
fn the_issue_example_resolves_with_defaults_and_expansion() {
    let f = parse_str(GOOD).expect("valid");
    assert_eq!(f.waves.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(), ["canary", "rest"]);
    assert_eq!(f.waves[0].bake_minutes, Some(15));
    assert_eq!(f.waves[1].failure_tolerance, Amount::Percent(5));
    assert_eq!(f.waves[1].max_concurrent, Amount::Count(10));
    let [a, b, g] = &f.tenants[..] else { panic!("three tenants") };
    assert_eq!(a.role, "arn:aws:iam::111111111111:role/rainmaker-deployer");
    assert_eq!((a.region.as_str(), a.wave.as_str()), ("eu-west-1", "canary"));
    assert_eq!(b.role, "arn:aws:iam::222222222222:role/other");
    assert_eq!((b.region.as_str(), b.wave.as_str(), b.allow_replace), ("us-east-1", "rest", true));
    assert_eq!(b.config_path, Path::new("/fleet/tenants/beta-home/rainmaker.yaml"));
    assert!(g.hold && !g.allow_replace && g.wave == "rest");
    assert!(matches!(&g.config, TenantConfig::Valid(c) if c.name == "gamma-home"));
}

#[test]
fn without_waves_every_tenant_is_in_one_wave_and_region_comes_from_the_config() {
    let src = "version: 1\ndefaults: { role: \"arn:aws:iam::{account}:role/r\" }\ntenants:\n  - { name: acme-home, config: a/acme-home/r.yaml, account: \"111111111111\" }\n";
    let f = parse_str(src).expect("valid");
    assert_eq!(f.waves.len(), 1);
    assert_eq!(
        (f.waves[0].name.as_str(), f.waves[0].max_concurrent, f.waves[0].failure_tolerance),
        ("all", Amount::Count(1), Amount::Count(0))
    );
    assert_eq!(f.tenants[0].region, "eu-west-1");
}

#[test]
fn an_invalid_tenant_config_is_that_tenants_failure_not_a_refusal() {
    let f = parse_str(&GOOD.replace("gamma-home", "broken-home")).expect("the file is accepted");
    let TenantConfig::Invalid(why) = &f.tenants[2].config else { panic!("invalid") };
    assert!(why.contains("missing field"), "{why}");
}

/// (edit of the good file, field path, words in the message, words in the help)
const REFUSALS: &[(&str, &str, &str, &str, &str)] = &[
    ("name: beta-home", "name: acme-home", "tenants[1].name", "duplicate tenant `acme-home`", "names are unique"),
    (
        "config: tenants/beta-home/rainmaker.yaml",
        "config: tenants/missing-home/rainmaker.yaml",
        "tenants[1].config",
        "cannot read /fleet/tenants/missing-home/rainmaker.yaml",
        "relative to tenants.yaml",
    ),
    (
        "config: tenants/acme-home/rainmaker.yaml",
        "config: tenants/other-name/rainmaker.yaml",
        "tenants[0].name",
        "has name `someone-else`",
        "must equal `name`",
    ),
    ("region: us-east-1", "region: eu-west-1", "tenants[1].region", "has region `us-east-1`", "must agree"),
    ("wave: canary", "wave: canery", "tenants[0].wave", "unknown wave `canery`", "did you mean `canary`?"),
    (
        "failure_tolerance: \"5%\"",
        "failure_tolerance: \"five\"",
        "waves.rest.failure_tolerance",
        "`five` is neither a count nor a percentage",
        "a count (`0`) or a percentage",
    ),
    (
        "failure_tolerance: \"5%\"",
        "failure_tolerance: \"150%\"",
        "waves.rest.failure_tolerance",
        "above 100%",
        "percentage",
    ),
    ("max_concurrent: 10", "max_concurrent: 0", "waves.rest.max_concurrent", "never start", "at least 1"),
    ("bake_minutes: 15", "bake_minutes: 181", "waves.canary.bake_minutes", "above the maximum 180", "0 to 180"),
    ("account: \"111111111111\"", "account: \"1111\"", "tenants[0].account", "not an AWS account id", "12 digits"),
    (
        "role: \"arn:aws:iam::222222222222:role/other\"",
        "role: \"other\"",
        "tenants[1].role",
        "`other` is not an IAM role ARN",
        "arn:aws:iam::",
    ),
    ("version: 1", "version: 2", "version", "unsupported version 2", "version 1"),
    ("region: us-east-1", "region: mars-1", "tenants[1].region", "mars-1", ""),
];

#[test]
fn every_refusal_names_the_field_line_and_what_is_valid() {
    for (from, to, path, message, help) in REFUSALS {
        let e = broken(from, to);
        let problems = e.problems();
        let hit = problems.iter().find(|(p, m)| p == path && m.contains(message));
        assert!(hit.is_some(), "{from} -> {to}: wanted `{path}`: {message}, got {problems:?}");
        let t = full_text(&e);
        let field = path.rsplit('.').next().unwrap_or(path);
        if from.trim_start().starts_with(field) {
            let line = GOOD[..GOOD.find(from).expect("present")].matches('\n').count() + 1;
            assert!(t.contains(&format!("tenants.yaml:{line}:")), "{from} -> {to}: line {line} in {t}");
        }
        assert!(t.contains(help), "{from} -> {to}: help `{help}` in {t}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let src = GOOD.replacen("wave: canary", "wave: nope", 1).replacen("\"5%\"", "\"x\"", 1).replacen(
        "name: beta-home",
        "name: acme-home",
        1,
    );
    let e = parse_str(&src).expect_err("refused");
    let paths: Vec<String> = e.problems().into_iter().map(|(p, _)| p).collect();
    assert!(paths.contains(&"tenants[0].wave".to_string()), "{paths:?}");
    assert!(paths.contains(&"waves.rest.failure_tolerance".to_string()), "{paths:?}");
    assert!(paths.contains(&"tenants[1].name".to_string()), "{paths:?}");
}

#[test]
fn unknown_keys_are_errors_with_did_you_mean() {
    let t = full_text(&broken("    hold: true", "    hodl: true"));
    assert!(t.contains("unknown field `hodl`"), "{t}");
    assert!(t.contains("did you mean `hold`?"), "{t}");
    let t = full_text(&broken("  region: eu-west-1\nwaves", "  regoin: eu-west-1\nwaves"));
    assert!(t.contains("tenants.yaml:4:3: unknown field `regoin` in `defaults`"), "{t}");
}

#[test]
fn a_missing_role_is_refused_with_how_to_set_one() {
    let src = GOOD.replacen("  role: \"arn:aws:iam::{account}:role/rainmaker-deployer\"\n", "", 1);
    let e = parse_str(&src).expect_err("refused");
    assert!(e.problems().iter().any(|(p, m)| p == "tenants[0].role" && m == "no role to assume"), "{:?}", e.problems());
    assert!(!e.problems().iter().any(|(p, _)| p == "tenants[1].role"), "tenant 1 has its own role");
}

#[test]
fn amounts_parse_and_round_down() {
    for (text, amount, of_10, of_3) in [
        ("3", Amount::Count(3), 3, 3),
        ("25%", Amount::Percent(25), 2, 0),
        ("100%", Amount::Percent(100), 10, 3),
        (" 5 % ", Amount::Percent(5), 0, 0),
    ] {
        let a: Amount = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!((a, a.of(10), a.of(3)), (amount, of_10, of_3), "{text}");
    }
    for bad in ["", "x", "-1", "1.5", "101%", "%"] {
        assert!(bad.parse::<Amount>().is_err(), "{bad}");
    }
}

#[test]
fn the_schema_describes_every_field() {
    let s = json_schema_string();
    for field in ["failure_tolerance", "allow_replace", "hold", "bake_minutes", "{account}"] {
        assert!(s.contains(field), "{field}");
    }
    assert!(s.contains("\"additionalProperties\": false"));
}
