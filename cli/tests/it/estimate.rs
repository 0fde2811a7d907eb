//! The estimate command run as finance would: the default table, JSON/CSV/markdown, sweeps, comparisons, the
//! chart, foreign templates (the thesis reference) and the errors, with their exit codes.

use crate::support::{root, run, tempdir};
use insta::assert_snapshot;
use serde_json::Value;

fn testdata(file: &str) -> String {
    root().join("core/src/cost/testdata").join(file).display().to_string()
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn without_a_config_it_prices_the_smart_home_blueprint() {
    let d = tempdir();
    let r = run(d.path(), &["estimate", "--devices", "3600000"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(r.stderr.contains("no rainmaker.yaml here: estimating the smart-home blueprint"), "{}", r.stderr);
    assert_snapshot!("estimate-default-3600000", r.transcript());
}

#[test]
fn with_a_config_it_prices_the_rendered_tenant_in_its_region() {
    let d = tempdir();
    let init = run(d.path(), &["init", "--name", "acme-water", "--blueprint", "water-meter", "--region", "eu-west-1"]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    let r = run(d.path(), &["estimate", "--devices", "1000", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v = json(&r.stdout);
    assert_eq!(v["region"], "eu-west-1");
    assert_eq!(v["usage_file"], "blueprints/water-meter/usage.yaml");
    assert_eq!(v["devices"], 1000);
    assert!(r.stderr.is_empty(), "no fallback note: {}", r.stderr);
}

#[test]
fn json_output_has_totals_services_resources_and_sources() {
    let d = tempdir();
    for args in [
        &["estimate", "--devices", "360000", "--format", "json"][..],
        &["--output", "json", "estimate", "--devices", "360000"][..],
    ] {
        let r = run(d.path(), args);
        assert_eq!(r.code, 0, "{}", r.transcript());
        let v = json(&r.stdout);
        let total = v["total_monthly_usd"].as_f64().expect("total");
        let services: f64 =
            v["services"].as_array().expect("services").iter().map(|s| s["monthly_usd"].as_f64().unwrap_or(0.0)).sum();
        assert!((total - services).abs() < 1e-6 && total > 0.0);
        assert!((v["per_device_monthly_usd"].as_f64().unwrap() - total / 360000.0).abs() < 1e-12);
        let resources = v["resources"].as_array().expect("resources");
        let by_components: f64 = resources.iter().map(|r| r["monthly_usd"].as_f64().unwrap()).sum();
        assert!((total - by_components).abs() < 1e-6, "resources add up to the total");
        assert!(v["prices"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["source"].as_str().is_some_and(|s| !s.is_empty()) && p["as_of"].is_string()));
        assert_eq!(v["unpriced"], Value::Array(vec![]));
        // The telemetry path's unit costs: marginal per million messages and readings, fixed monthly.
        let u = &v["unit_costs"];
        let per_msg =
            u["per_million_device_messages_usd"].as_f64().expect("unit_costs.per_million_device_messages_usd");
        let readings = u["readings_per_message"].as_f64().unwrap();
        assert!(per_msg > 0.3, "at least the rule and its action: {u}");
        assert!((u["per_million_readings_usd"].as_f64().unwrap() - per_msg / readings).abs() < 1e-9, "{u}");
        assert!(u["telemetry_fixed_monthly_usd"].as_f64().is_some(), "{u}");
    }
}

#[test]
fn sweep_prints_one_column_per_device_count() {
    let d = tempdir();
    let r = run(d.path(), &["estimate", "--sweep", "1000,10000,180000,360000,3600000", "--format", "markdown"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let header = r.stdout.lines().find(|l| l.starts_with("| service")).expect("a header row");
    assert_eq!(header, "| service | 1,000 | 10,000 | 180,000 | 360,000 | 3,600,000 |");
    let csv = run(d.path(), &["estimate", "--sweep", "1000,2000", "--format", "csv"]);
    assert_eq!(csv.stdout.lines().next(), Some("service,\"1,000\",\"2,000\""));
    assert!(csv.stdout.lines().any(|l| l.starts_with("Total,")));
}

#[test]
fn csv_has_a_row_per_component() {
    let d = tempdir();
    let r = run(d.path(), &["estimate", "--devices", "1000", "--format", "csv"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let mut lines = r.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("logical_id,type,component,service,price_id,quantity,unit,free_quantity,unit_price_usd,per,monthly_usd")
    );
    assert!(lines
        .any(|l| l.starts_with("TelemetryIngestFunction,AWS::Lambda::Function,Requests,AWS Lambda,lambda.requests,")));
}

#[test]
fn compare_shows_both_profiles_side_by_side() {
    let d = tempdir();
    std::fs::write(d.path().join("chatty.yaml"), "version: 1\ndevice: {telemetry_per_hour: 60, basic_ingest: false}\n")
        .unwrap();
    let r = run(d.path(), &["estimate", "--devices", "100000", "--compare", "chatty.yaml"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_snapshot!("estimate-compare", r.transcript());
}

#[test]
fn compare_with_a_config_prices_its_templates() {
    let d = tempdir();
    assert_eq!(run(d.path(), &["init", "--name", "acme-home"]).code, 0);
    let cfg = std::fs::read_to_string(d.path().join("rainmaker.yaml")).unwrap();
    std::fs::write(d.path().join("x86.yaml"), cfg.replace("architecture: arm64", "architecture: x86_64")).unwrap();
    let r = run(d.path(), &["estimate", "--devices", "3600000", "--compare", "x86.yaml", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v = json(&r.stdout);
    let lambda = |side: &str| {
        v[side]["services"].as_array().unwrap().iter().find(|s| s["name"] == "AWS Lambda").unwrap()["monthly_usd"]
            .as_f64()
            .unwrap()
    };
    assert!(lambda("other") > lambda("base"), "x86_64 costs more than arm64");
}

/// `--compare direct,batched`: the config's two telemetry pipelines side by side, and the fleet size where batched
/// becomes the cheaper one, checked against two plain estimates on either side of it.
#[test]
fn compare_direct_batched_prints_both_pipelines_and_the_crossover() {
    let d = tempdir();
    assert_eq!(run(d.path(), &["init", "--name", "acme-home"]).code, 0);
    let r = run(d.path(), &["estimate", "--devices", "3600000", "--compare", "direct,batched"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(r.stdout.contains("telemetry.pipeline: direct") && r.stdout.contains("telemetry.pipeline: batched"));
    assert!(r.stdout.contains("Telemetry path of telemetry.pipeline: batched (marginal)"), "{}", r.stdout);
    assert!(r
        .stdout
        .contains("Cross-over: telemetry.pipeline: batched costs less than telemetry.pipeline: direct from "));
    let r = run(d.path(), &["estimate", "--devices", "3600000", "--compare", "direct,batched", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v = json(&r.stdout);
    assert_eq!(v["crossover"]["cheaper_at_scale"], "telemetry.pipeline: batched");
    let at = v["crossover"]["devices"].as_u64().expect("a cross-over fleet size");
    assert!(v["other"]["resources"].as_array().unwrap().iter().any(|r| r["logical_id"] == "TelemetryStream"));
    assert!(
        v["other"]["unit_costs"]["per_million_device_messages_usd"].as_f64().unwrap()
            < v["base"]["unit_costs"]["per_million_device_messages_usd"].as_f64().unwrap()
    );
    // below the cross-over the config as init wrote it (direct) is cheaper; at it, batched is
    let total = |n: u64, pipeline: &str| {
        let cfg = std::fs::read_to_string(d.path().join("rainmaker.yaml")).unwrap();
        let file = format!("{pipeline}.yaml");
        let with =
            cfg.replacen("  retention_days: 30\n", &format!("  retention_days: 30\n  pipeline: {pipeline}\n"), 1);
        std::fs::write(d.path().join(&file), with).unwrap();
        let r = run(d.path(), &["--config", &file, "estimate", "--devices", &n.to_string(), "--format", "json"]);
        assert_eq!(r.code, 0, "{}", r.transcript());
        json(&r.stdout)["total_monthly_usd"].as_f64().unwrap()
    };
    assert!(total(at, "batched") < total(at, "direct"), "{at}");
    assert!(total(at - 1, "batched") >= total(at - 1, "direct"), "{at}");
    // a pipeline comparison needs the config: --template replaces it
    let r = run(
        d.path(),
        &["estimate", "--devices", "10", "--template", &testdata("thesis.yaml"), "--compare", "direct,batched"],
    );
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(r.stderr.contains("--compare") && r.stderr.contains("--template"), "{}", r.stderr);
}

/// `--compare direct,batched,packed`: one column per pipeline, each one's unit costs, and a cross-over per pair;
/// in JSON the three estimates and the cross-overs, checked against plain estimates of the packed config.
#[test]
fn compare_three_pipelines_prints_three_columns_and_the_crossovers() {
    let d = tempdir();
    assert_eq!(run(d.path(), &["init", "--name", "acme-home"]).code, 0);
    let r = run(d.path(), &["estimate", "--devices", "3600000", "--compare", "direct,batched,packed"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let header = r.stdout.lines().find(|l| l.starts_with("service")).expect("a header row");
    for p in ["direct", "batched", "packed"] {
        assert!(header.contains(&format!("telemetry.pipeline: {p}")), "{header}");
        assert!(r.stdout.contains(&format!("Telemetry path of telemetry.pipeline: {p} (marginal)")), "{}", r.stdout);
    }
    assert_eq!(r.stdout.matches("Cross-over: ").count(), 3, "{}", r.stdout);
    assert!(r
        .stdout
        .contains("Cross-over: telemetry.pipeline: packed costs less than telemetry.pipeline: direct from "));
    let r =
        run(d.path(), &["estimate", "--devices", "3600000", "--compare", "direct,batched,packed", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v = json(&r.stdout);
    let cols = v["columns"].as_array().expect("columns");
    assert_eq!(cols.len(), 3);
    let per_million = |i: usize| cols[i]["estimate"]["unit_costs"]["per_million_device_messages_usd"].as_f64().unwrap();
    assert_eq!(cols[2]["name"], "telemetry.pipeline: packed");
    assert!(per_million(2) < per_million(1) && per_million(1) < per_million(0), "{}", r.stdout);
    let crossing = v["crossovers"]
        .as_array()
        .expect("crossovers")
        .iter()
        .find(|c| c["cheaper_at_scale"] == "telemetry.pipeline: packed" && c["than"] == "telemetry.pipeline: direct")
        .cloned()
        .expect("packed against direct");
    let at = crossing["devices"].as_u64().expect("a fleet size");
    let cfg = std::fs::read_to_string(d.path().join("rainmaker.yaml")).unwrap();
    std::fs::write(
        d.path().join("packed.yaml"),
        cfg.replacen("  retention_days: 30\n", "  retention_days: 30\n  pipeline: packed\n", 1),
    )
    .unwrap();
    let total = |n: u64, file: &str| {
        let r = run(d.path(), &["--config", file, "estimate", "--devices", &n.to_string(), "--format", "json"]);
        assert_eq!(r.code, 0, "{}", r.transcript());
        json(&r.stdout)["total_monthly_usd"].as_f64().unwrap()
    };
    assert!(total(at, "packed.yaml") < total(at, "rainmaker.yaml"), "{at}");
    assert!(total(at - 1, "packed.yaml") >= total(at - 1, "rainmaker.yaml"), "{at}");
    // a pipeline named twice is not a pipeline list: it is read as a file, which does not exist
    let r = run(d.path(), &["estimate", "--devices", "10", "--compare", "direct,direct"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
}

#[test]
fn chart_writes_an_svg() {
    let d = tempdir();
    let r = run(d.path(), &["estimate", "--sweep", "1000,10000,100000,1000000", "--chart", "cost.svg"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let svg = std::fs::read_to_string(d.path().join("cost.svg")).expect("the chart");
    assert!(svg.starts_with("<svg") && svg.contains("AWS IoT Core") && svg.contains("Cost per device"));
    assert!(r.stderr.contains("wrote the chart to cost.svg"));
}

/// The thesis reference through the CLI: a foreign template, a usage file, and the two free-tier modes.
#[test]
fn thesis_numbers_through_the_cli() {
    let d = tempdir();
    let (t, u) = (testdata("thesis.yaml"), testdata("thesis-usage.yaml"));
    let service = |mode: &str, name: &str| {
        let r = run(
            d.path(),
            &[
                "estimate",
                "--template",
                &t,
                "--usage",
                &u,
                "--devices",
                "3600000",
                "--free-tier",
                mode,
                "--format",
                "json",
            ],
        );
        assert_eq!(r.code, 0, "{}", r.transcript());
        let v = json(&r.stdout);
        let usd = v["services"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["monthly_usd"]
            .as_f64()
            .unwrap();
        (usd * 100.0).round() / 100.0
    };
    assert_eq!(service("none", "Amazon SQS"), 2102.40);
    assert_eq!(service("always", "AWS Lambda"), 3234.34);
}

#[test]
fn unknown_types_in_a_foreign_template_are_reported_not_dropped() {
    let d = tempdir();
    std::fs::write(
        d.path().join("t.json"),
        r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}, "Box": {"Type": "AWS::EC2::Instance"}, "R": {"Type": "AWS::IAM::Role"}}}"#,
    )
    .unwrap();
    let r = run(d.path(), &["estimate", "--template", "t.json", "--devices", "10"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(r.stdout.contains("Unpriced (not in the total):\n  - Box (AWS::EC2::Instance)"), "{}", r.stdout);
    assert!(r.stdout.contains("Free (1 resources):\n  - AWS::IAM::Role ×1"), "{}", r.stdout);
}

#[test]
fn errors_name_the_key_file_or_flag_and_exit_2() {
    let d = tempdir();
    std::fs::write(d.path().join("bad.yaml"), "version: 1\ndevice:\n  telemetry_per_hours: 4\n").unwrap();
    let r = run(d.path(), &["estimate", "--devices", "10", "--usage", "bad.yaml"]);
    assert_eq!(r.code, 2);
    assert_snapshot!("estimate-unknown-usage-key", r.transcript());

    std::fs::write(d.path().join("t.yaml"), "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !If\n        - C\n        - a\n        - b\n").unwrap();
    let r = run(d.path(), &["estimate", "--devices", "10", "--template", "t.yaml"]);
    assert_eq!(r.code, 2);
    assert_snapshot!("estimate-short-tag", r.transcript());

    let r = run(
        d.path(),
        &["estimate", "--devices", "10", "--template", &testdata("thesis.yaml"), "--region", "ap-south-1"],
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no price table for region `ap-south-1`") && r.stderr.contains("eu-west-1, us-east-1"),
        "{}",
        r.stderr
    );

    let r = run(d.path(), &["estimate", "--template", &testdata("thesis.yaml")]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no device count: give --devices N"), "{}", r.stderr);

    let r = run(d.path(), &["estimate", "--devices", "10", "--usage", "missing.yaml"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("reading missing.yaml"), "{}", r.stderr);

    let r = run(d.path(), &["--output", "json", "estimate", "--devices", "10", "--usage", "bad.yaml"]);
    assert_eq!(r.code, 2);
    let v = json(&r.stderr);
    assert_eq!(v["error"]["code"], "rainmaker::usage::unknown_key");
}
