//! One test per kind of configuration mistake: each error names the field, the line and what is valid.

use super::*;

fn good() -> String {
    blueprint_source("smart-home", "acme-home", "eu-west-1").expect("blueprint")
}

/// Replace the first occurrence of `from` in the good config, parse, and return the error.
fn broken(from: &str, to: &str) -> ConfigError {
    let src = good();
    assert!(src.contains(from), "the fixture has `{from}`");
    parse(&src.replacen(from, to, 1), "rainmaker.yaml").expect_err("the broken config is refused")
}

fn line_of(needle: &str) -> usize {
    good().lines().position(|l| l.contains(needle)).expect("present") + 1
}

/// An error as the CLI prints it: its message and help, then each related problem with its help (the config tests
/// and the tenants.yaml tests read errors this way).
pub(super) fn full_text(e: &dyn miette::Diagnostic) -> String {
    let mut s = e.to_string();
    if let Some(h) = e.help() {
        s.push_str(&format!("\nhelp: {h}"));
    }
    for r in e.related().into_iter().flatten() {
        s.push_str(&format!("\n{r}"));
        if let Some(h) = r.help() {
            s.push_str(&format!("\nhelp: {h}"));
        }
    }
    s
}

#[test]
fn every_blueprint_config_is_valid() {
    for b in crate::assets::blueprint_names() {
        let cfg = blueprint_config(b, "acme-home", "us-east-1").unwrap_or_else(|e| panic!("{b}: {e:?}"));
        assert_eq!(cfg.blueprint, b);
    }
    assert!(crate::assets::blueprint_names().len() >= 3);
}

#[test]
fn misspelt_key_is_located_with_did_you_mean() {
    let e = broken("  memory_mb: 128", "  memroy_mb: 128");
    let t = full_text(&e);
    let line = line_of("memory_mb");
    assert!(t.contains(&format!("rainmaker.yaml:{line}:3: unknown field `memroy_mb` in `lambda`")), "{t}");
    assert!(t.contains("did you mean `memory_mb`?"), "{t}");
}

#[test]
fn unknown_top_level_key() {
    let t = full_text(&broken("tags:", "tagz:"));
    assert!(t.contains("unknown field `tagz` in the top level"), "{t}");
    assert!(t.contains("did you mean `tags`?"), "{t}");
}

#[test]
fn wrong_type_names_the_field() {
    let t = full_text(&broken("memory_mb: 128", "memory_mb: lots"));
    assert!(t.contains(&format!(":{}:", line_of("memory_mb"))), "{t}");
    assert!(t.contains("lambda.memory_mb"), "{t}");
}

#[test]
fn out_of_range_memory() {
    let e = broken("memory_mb: 128", "memory_mb: 64");
    assert_eq!(e.problems(), vec![("lambda.memory_mb".to_string(), "64 is below the minimum 128".to_string())]);
    let t = full_text(&e);
    assert!(t.contains(&format!("rainmaker.yaml:{}:14: `lambda.memory_mb`", line_of("memory_mb"))), "{t}");
    assert!(t.contains("valid: 128 to 10240 (MB)"), "{t}");
}

#[test]
fn log_retention_must_be_a_cloudwatch_value() {
    let t = full_text(&broken("log_retention_days: 30", "log_retention_days: 31"));
    assert!(t.contains("`lambda.log_retention_days`: 31 is not a retention CloudWatch Logs accepts"), "{t}");
    assert!(t.contains("the nearest valid value is 30"), "{t}");
}

#[test]
fn telemetry_retention_range() {
    let e = broken("retention_days: 30", "retention_days: 0");
    assert_eq!(e.problems()[0].0, "telemetry.retention_days");
}

#[test]
fn unknown_region_suggests_the_closest() {
    let t = full_text(&broken("region: eu-west-1", "region: eu-wset-1"));
    assert!(t.contains(&format!("rainmaker.yaml:{}:9: `region`", line_of("region:"))), "{t}");
    assert!(t.contains("did you mean `eu-west-1`?"), "{t}");
}

#[test]
fn tenant_names_aws_would_refuse() {
    for bad in ["Acme", "a", "acme_home", "acme-", "9acme", "acme--home", "a-very-long-tenant-name-that-goes-on"] {
        let e = broken("name: acme-home", &format!("name: {bad}"));
        assert_eq!(e.problems()[0].0, "name", "{bad}");
    }
}

#[test]
fn serial_pattern_must_compile_and_be_anchored() {
    let e = broken(r#""^[A-Z0-9]{12}$""#, r#""[A-Z0-9]{12}""#);
    assert_eq!(e.problems()[0].1, "the pattern is not anchored");
    let e = broken(r#""^[A-Z0-9]{12}$""#, r#""^[A-Z0-9{12}$""#);
    assert!(e.problems()[0].1.starts_with("not a valid regular expression"), "{:?}", e.problems());
}

#[test]
fn cors_origins_are_checked_by_index() {
    let e = broken(r#"- "https://app.example.com""#, r#"- "ftp://x.example.com/""#);
    assert_eq!(e.problems()[0].0, "api.allowed_origins[0]");
    let t = full_text(&e);
    assert!(t.contains(&format!(":{}:7:", line_of(r#"- "https://app.example.com""#))), "{t}");
}

#[test]
fn waf_limit_and_throttles() {
    let e = broken("waf_rate_limit: 2000", "waf_rate_limit: 10");
    assert_eq!(e.problems()[0], ("api.waf_rate_limit".to_string(), "10 is below the minimum 100".to_string()));
}

#[test]
fn several_problems_are_reported_together() {
    let src = good().replace("memory_mb: 128", "memory_mb: 99999").replace("timeout_seconds: 10", "timeout_seconds: 0");
    let e = parse(&src, "rainmaker.yaml").expect_err("refused");
    let paths: Vec<String> = e.problems().into_iter().map(|p| p.0).collect();
    assert_eq!(paths, vec!["lambda.memory_mb", "lambda.timeout_seconds"]);
    assert_eq!(e.to_string(), "rainmaker.yaml: 2 invalid settings");
}

#[test]
fn missing_field_points_at_its_section() {
    let t = full_text(&broken("  timeout_seconds: 10\n", ""));
    assert!(t.contains("missing field `timeout_seconds`"), "{t}");
}

#[test]
fn unsupported_version() {
    let e = broken("version: 1", "version: 2");
    assert_eq!(e.problems()[0], ("version".to_string(), "unsupported version 2".to_string()));
}

#[test]
fn unknown_architecture_value() {
    let t = full_text(&broken("architecture: arm64", "architecture: arm"));
    assert!(t.contains("unknown value `arm`"), "{t}");
    assert!(t.contains("`arm64`, `x86_64`"), "{t}");
}

#[test]
fn yaml_syntax_error_is_located() {
    let t = full_text(&broken("api:\n", "api: [\n"));
    assert!(t.starts_with("rainmaker.yaml:"), "{t}");
}

#[test]
fn empty_file_and_unknown_blueprint() {
    let e = parse("", "rainmaker.yaml").expect_err("refused");
    assert!(e.to_string().contains("rainmaker.yaml:"), "{e}");
    let e = blueprint_config("smart-hom", "acme-home", "us-east-1").expect_err("refused");
    assert!(full_text(&e).contains("choose one of: industrial-sensor, smart-home, water-meter"));
    let t = full_text(&broken("\nblueprint: smart-home", "\nblueprint: smart-hom"));
    assert!(t.contains("`blueprint`: unknown blueprint `smart-hom`"), "{t}");
}

#[test]
fn garbage_never_panics() {
    for src in ["\0", "- 1\n- 2", "version: [", "a: *unknown", "{{{{", "version: 1\nversion: 1\n", "\u{feff}version: 1"]
    {
        assert!(parse(src, "x.yaml").is_err(), "{src:?}");
    }
}

#[test]
fn account_is_twelve_digits_and_located() {
    let src = good().replacen("region: eu-west-1\n", "region: eu-west-1\naccount: \"12345678901\"\n", 1);
    let e = parse(&src, "rainmaker.yaml").expect_err("11 digits are refused");
    assert_eq!(e.problems(), vec![("account".to_string(), "`12345678901` is not an AWS account id".to_string())]);
    let line = src.lines().position(|l| l.starts_with("account:")).unwrap() + 1;
    let t = full_text(&e);
    assert!(t.contains(&format!("rainmaker.yaml:{line}:10: `account`")), "{t}");
    assert!(t.contains("12 digits") && t.contains("quoted"), "{t}");

    let quoted = good().replacen("region: eu-west-1\n", "region: eu-west-1\naccount: \"012345678901\"\n", 1);
    assert_eq!(parse(&quoted, "rainmaker.yaml").unwrap().account.as_deref(), Some("012345678901"));
    let plain = good().replacen("region: eu-west-1\n", "region: eu-west-1\naccount: 123456789012\n", 1);
    assert_eq!(parse(&plain, "rainmaker.yaml").unwrap().account.as_deref(), Some("123456789012"));
    // unquoted, a leading zero is lost by YAML: the 11 digits left are refused, with the hint to quote
    let lost = good().replacen("region: eu-west-1\n", "region: eu-west-1\naccount: 012345678901\n", 1);
    let t = full_text(&parse(&lost, "rainmaker.yaml").expect_err("leading zero lost"));
    assert!(t.contains("quoted so leading zeros are kept"), "{t}");
    assert_eq!(parse(&good(), "rainmaker.yaml").unwrap().account, None, "optional");
}

#[test]
fn telemetry_pipeline_defaults_to_direct_and_shards_are_checked() {
    let c = parse(&good(), "rainmaker.yaml").unwrap();
    assert_eq!((c.telemetry.pipeline, c.telemetry.stream_shards), (Pipeline::Direct, 1));
    let batched =
        good().replacen("retention_days: 30\n", "retention_days: 30\n  pipeline: batched\n  stream_shards: 4\n", 1);
    let c = parse(&batched, "rainmaker.yaml").unwrap();
    assert_eq!((c.telemetry.pipeline, c.telemetry.stream_shards), (Pipeline::Batched, 4));
    assert!(warnings(&c).iter().all(|w| w.path != "telemetry.stream_shards"));

    let t = full_text(&broken("retention_days: 30\n", "retention_days: 30\n  pipeline: kinesis\n"));
    assert!(t.contains("unknown value `kinesis`") && t.contains("`direct`, `batched`"), "{t}");
    let e = broken("retention_days: 30\n", "retention_days: 30\n  pipeline: batched\n  stream_shards: 0\n");
    assert_eq!(e.problems()[0], ("telemetry.stream_shards".to_string(), "0 is below the minimum 1".to_string()));
    assert!(full_text(&e).contains("valid: 1 to 500 (Kinesis shards)"));
    // shards without a stream: valid, with a warning that says what to change
    let direct = good().replacen("retention_days: 30\n", "retention_days: 30\n  stream_shards: 3\n", 1);
    let w = warnings(&parse(&direct, "rainmaker.yaml").unwrap());
    assert!(w.iter().any(|w| w.path == "telemetry.stream_shards" && w.help.contains("pipeline: batched")), "{w:?}");
}

#[test]
fn packed_pipeline_and_its_batching_window() {
    let with = |lines: &str| good().replacen("retention_days: 30\n", &format!("retention_days: 30\n{lines}"), 1);
    let c = parse(&with("  pipeline: packed\n"), "rainmaker.yaml").unwrap();
    assert_eq!(
        (c.telemetry.pipeline, c.telemetry.batch_window_seconds, c.telemetry.batch_window()),
        (Pipeline::Packed, None, 60)
    );
    assert!(c.telemetry.pipeline.streams() && Pipeline::Batched.streams() && !Pipeline::Direct.streams());
    let c = parse(&with("  pipeline: batched\n"), "rainmaker.yaml").unwrap();
    assert_eq!(c.telemetry.batch_window(), 10, "batched keeps its 10 s window");
    let c = parse(&with("  pipeline: packed\n  batch_window_seconds: 300\n  stream_shards: 2\n"), "rainmaker.yaml")
        .unwrap();
    assert_eq!((c.telemetry.batch_window(), c.telemetry.stream_shards), (300, 2));
    assert!(warnings(&c).iter().all(|w| !w.path.starts_with("telemetry.")), "{:?}", warnings(&c));
    let t = full_text(&broken("retention_days: 30\n", "retention_days: 30\n  pipeline: kinesis\n"));
    assert!(t.contains("`direct`, `batched`, `packed`"), "{t}");

    // out of range, each bound, with the valid range in the help
    for (v, side) in [(0, "0 is below the minimum 1"), (301, "301 is above the maximum 300")] {
        let e = broken(
            "retention_days: 30\n",
            &format!("retention_days: 30\n  pipeline: packed\n  batch_window_seconds: {v}\n"),
        );
        assert_eq!(e.problems(), vec![("telemetry.batch_window_seconds".to_string(), side.to_string())]);
        assert!(full_text(&e).contains("valid: 1 to 300 (seconds)"), "{}", full_text(&e));
    }
    // with `direct` (also the default when the pipeline is not written): refused, naming the pipelines that take it
    for lines in ["  batch_window_seconds: 30\n", "  pipeline: direct\n  batch_window_seconds: 30\n"] {
        let e = broken("retention_days: 30\n", &format!("retention_days: 30\n{lines}"));
        assert_eq!(e.problems().len(), 1);
        assert_eq!(e.problems()[0].0, "telemetry.batch_window_seconds");
        let t = full_text(&e);
        assert!(t.contains("`telemetry.pipeline` is `direct`, which has no stream"), "{t}");
        assert!(t.contains("(`batched`, `packed`)") && t.contains("remove `batch_window_seconds`"), "{t}");
    }
}
