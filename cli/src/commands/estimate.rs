//! `rainmaker-deploy estimate`: the monthly AWS cost of the deployed backend for N devices — the tenant's rendered
//! stacks (or `--template` files) priced with a usage profile and the embedded price table. No AWS calls.

use super::usage::{write_atomic, UsageError};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::cost::report::{self, chart, Format, View};
use crate::cost::{self, CostError, FreeTierMode, Options, PriceTable, Resources, Usage};
use crate::{assets, config, output, template};
use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic, Result, WrapErr};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// Number of devices (default: `devices:` of the usage file)
    #[arg(long, value_name = "N")]
    pub devices: Option<u64>,
    /// Usage profile (default: the blueprint's usage.yaml; see docs/estimate.md)
    #[arg(long, value_name = "FILE")]
    pub usage: Option<PathBuf>,
    /// Price this CloudFormation template (JSON or YAML) instead of rendering the config; repeatable
    #[arg(long = "template", value_name = "FILE")]
    pub templates: Vec<PathBuf>,
    /// One column per device count, e.g. 1000,10000,180000,360000,3600000
    #[arg(long, value_delimiter = ',', value_name = "N,N,...", conflicts_with = "compare")]
    pub sweep: Vec<u64>,
    /// Output format (`--output json` means json)
    #[arg(long, value_enum, default_value_t = EstimateFormat::Table)]
    pub format: EstimateFormat,
    /// Also draw cost per service and per device against the device count into this SVG file
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
    /// Which AWS free-tier allowances to subtract
    #[arg(long, value_enum, default_value_t = FreeTier::Always)]
    pub free_tier: FreeTier,
    /// Compare with a second usage profile or rainmaker.yaml, side by side; `direct,batched` or
    /// `direct,batched,packed` compares the config's telemetry pipelines and prints the fleet sizes where they cross
    #[arg(long, value_name = "OTHER.yaml|direct,batched,packed")]
    pub compare: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EstimateFormat {
    /// A readable table
    Table,
    /// One JSON document
    Json,
    /// Comma-separated values, raw numbers
    Csv,
    /// Markdown tables
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FreeTier {
    /// No free tier
    None,
    /// Always-free allowances only (Lambda, SQS, DynamoDB storage, logs, Cognito)
    Always,
    /// Always-free plus the 12-month offers of a new account (IoT Core, API Gateway, S3)
    FirstYear,
}

impl From<FreeTier> for FreeTierMode {
    fn from(f: FreeTier) -> Self {
        match f {
            FreeTier::None => FreeTierMode::None,
            FreeTier::Always => FreeTierMode::Always,
            FreeTier::FirstYear => FreeTierMode::FirstYear,
        }
    }
}

/// What is priced: resources, the default usage profile, the region, and the config they were rendered from.
struct Subject {
    resources: Resources,
    usage: Usage,
    region: String,
    config: Option<config::Config>,
}

fn read(path: &Path) -> Result<String, CostError> {
    std::fs::read_to_string(path)
        .map_err(|e| CostError::Read { path: path.display().to_string(), message: e.to_string() })
}

/// The blueprint's usage profile (built-in defaults when it ships none).
fn blueprint_usage(blueprint: &str) -> Result<Usage, CostError> {
    match assets::blueprint_file(blueprint, "usage.yaml") {
        Some(text) => Usage::parse(&format!("blueprints/{blueprint}/usage.yaml"), text),
        None => Ok(Usage::default()),
    }
}

/// Resources of a rendered config.
fn rendered(cfg: &config::Config) -> Result<Resources> {
    let r = template::render(cfg)?;
    let mut res = Resources::default();
    for s in &r.stacks {
        res.add(&s.name, &s.file_name, &s.body)?;
    }
    Ok(res)
}

fn region_of(g: &GlobalArgs, fallback: &str) -> String {
    g.region.clone().unwrap_or_else(|| fallback.to_string())
}

/// The templates to price: `--template` files, else the config rendered, else the smart-home blueprint.
fn subject(g: &GlobalArgs, args: &EstimateArgs) -> Result<Subject> {
    if !args.templates.is_empty() {
        let mut resources = Resources::default();
        for path in &args.templates {
            let stack = path.file_stem().and_then(|s| s.to_str()).unwrap_or("template");
            resources.add(stack, &path.display().to_string(), &read(path)?)?;
        }
        let region = region_of(g, "us-east-1");
        return Ok(Subject { resources, usage: Usage::default(), region, config: None });
    }
    let default_config = g.config == Path::new("rainmaker.yaml") && std::env::var_os("RAINMAKER_CONFIG").is_none();
    let cfg = if !g.config.exists() && default_config {
        let region = region_of(g, "us-east-1");
        output::progress(
            g.output,
            "note: no rainmaker.yaml here: estimating the smart-home blueprint (run `rainmaker-deploy init` or give --config or --template)",
        );
        config::blueprint_config("smart-home", "example", &region)?
    } else {
        super::common::load_config(g)?
    };
    let resources = rendered(&cfg)?;
    Ok(Subject { resources, usage: blueprint_usage(&cfg.blueprint)?, region: cfg.region.clone(), config: Some(cfg) })
}

/// `--compare direct,batched[,packed]` (any order, each once): the telemetry pipelines, when the value names them.
fn pipelines(path: &Path) -> Option<Vec<config::Pipeline>> {
    let p = |s: &str| serde_json::from_value::<config::Pipeline>(serde_json::Value::String(s.trim().into())).ok();
    let list: Vec<config::Pipeline> = path.to_str()?.split(',').map(p).collect::<Option<_>>()?;
    let distinct = list.iter().enumerate().all(|(i, a)| !list[..i].contains(a));
    (list.len() >= 2 && distinct).then_some(list)
}

/// The subject's config rendered with each pipeline of `--compare A,B[,C]`.
fn pipeline_sides(subject: &Subject, list: &[config::Pipeline]) -> Result<Vec<(Resources, String)>> {
    let Some(cfg) = &subject.config else {
        return Err(UsageError::new(
            "--compare",
            "comparing telemetry pipelines renders the config, which --template replaces",
            "drop --template, or compare two usage files with --compare OTHER.yaml",
        )
        .into());
    };
    list.iter()
        .map(|p| {
            let mut c = cfg.clone();
            c.telemetry.pipeline = *p;
            Ok((rendered(&c)?, format!("telemetry.pipeline: {}", p.as_str())))
        })
        .collect()
}

/// Of two sides, the one to test for being cheaper at scale: the one with the larger fixed telemetry cost, or with
/// equal fixed costs the one with the lower marginal cost per message. Returns (cheaper at scale, the other).
fn at_scale(a: usize, b: usize, es: &[cost::Estimate]) -> (usize, usize) {
    let unit = |i: usize| {
        es[i]
            .unit_costs
            .as_ref()
            .map_or((0.0, 0.0), |u| (u.telemetry_fixed_monthly_usd, u.per_million_device_messages_usd))
    };
    let ((fa, ma), (fb, mb)) = (unit(a), unit(b));
    if (fa - fb).abs() > 1e-9 {
        if fa > fb {
            (a, b)
        } else {
            (b, a)
        }
    } else if ma < mb {
        (a, b)
    } else {
        (b, a)
    }
}

/// `--compare`: a usage profile (has `device`/`fleet`/`users`/`resource_usage`...) or a rainmaker.yaml.
fn other_side(g: &GlobalArgs, path: &Path, base: &Subject) -> Result<(Resources, Usage)> {
    let text = read(path)?;
    let name = path.display().to_string();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap_or(serde_json::Value::Null);
    if doc.get("blueprint").is_some() || doc.get("name").is_some() {
        let mut cfg = config::parse(&text, &name)?;
        if let Some(r) = &g.region {
            cfg.region = r.clone();
        }
        return Ok((rendered(&cfg)?, base.usage.clone()));
    }
    Ok((base.resources.clone(), Usage::parse(&name, &text)?))
}

pub fn run(g: &GlobalArgs, args: &EstimateArgs) -> Result<()> {
    let mut subject = subject(g, args)?;
    if let Some(path) = &args.usage {
        subject.usage = Usage::parse(&path.display().to_string(), &read(path)?)?;
    }
    let prices = PriceTable::embedded(&subject.region)?;
    let free_tier: FreeTierMode = args.free_tier.into();
    let format = match (g.output, args.format) {
        (OutputFormat::Json, _) | (_, EstimateFormat::Json) => Format::Json,
        (_, EstimateFormat::Table) => Format::Table,
        (_, EstimateFormat::Csv) => Format::Csv,
        (_, EstimateFormat::Markdown) => Format::Markdown,
    };
    if args.sweep.contains(&0) {
        return Err(UsageError::new(
            "--sweep",
            "device counts must be 1 or more",
            "e.g. --sweep 1000,10000,180000,360000,3600000",
        )
        .into());
    }
    let devices = args.devices.or(subject.usage.devices);
    let text = if !args.sweep.is_empty() {
        let es = cost::sweep(&subject.resources, &subject.usage, &prices, &args.sweep, free_tier)?;
        write_chart(g, args, &es)?;
        report::render(&View::Sweep(&es), format)
    } else {
        let devices = devices.ok_or(CostError::NoDevices)?;
        let opts = Options { devices, free_tier };
        let base = cost::estimate(&subject.resources, &subject.usage, &prices, opts)?;
        if args.chart.is_some() {
            let es =
                cost::sweep(&subject.resources, &subject.usage, &prices, &chart::default_counts(devices), free_tier)?;
            write_chart(g, args, &es)?;
        }
        match &args.compare {
            Some(path) if pipelines(path).is_some() => {
                let sides = pipeline_sides(&subject, &pipelines(path).unwrap_or_default())?;
                let es = sides.iter().map(|(r, _)| cost::estimate(r, &subject.usage, &prices, opts)).collect::<Result<
                    Vec<_>,
                    _,
                >>(
                )?;
                // where the pipeline with the fixed cost becomes the cheaper one, per pair
                let mut crossings = Vec::new();
                for i in 0..sides.len() {
                    for j in i + 1..sides.len() {
                        let (fixed, plain) = at_scale(i, j, &es);
                        let at = cost::unit::crossover(
                            &sides[plain].0,
                            &sides[fixed].0,
                            &subject.usage,
                            &prices,
                            free_tier,
                        )?;
                        crossings.push(Crossing { at, fixed: sides[fixed].1.clone(), plain: sides[plain].1.clone() });
                    }
                }
                let text = if let [(_, a_name), (_, b_name)] = &sides[..] {
                    let view = View::Compare { base: &es[0], other: &es[1], base_name: a_name, other_name: b_name };
                    report::render(&view, format)
                } else {
                    let cols: Vec<(String, cost::Estimate)> =
                        sides.iter().map(|(_, n)| n.clone()).zip(es.iter().cloned()).collect();
                    report::render(&View::Columns(&cols), format)
                };
                crossover_text(text, format, &crossings)?
            }
            Some(path) => {
                let (res, usage) = other_side(g, path, &subject)?;
                let other = cost::estimate(&res, &usage, &prices, opts)?;
                let base_name = subject.usage.file.clone();
                let other_name = path.display().to_string();
                let view = View::Compare { base: &base, other: &other, base_name: &base_name, other_name: &other_name };
                report::render(&view, format)
            }
            None => report::render(&View::One(&base), format),
        }
    };
    if format == Format::Json {
        let v: serde_json::Value = serde_json::from_str(&text).into_diagnostic()?;
        output::emit(OutputFormat::Json, &v, String::new)
    } else {
        output::emit(OutputFormat::Text, &(), || text)
    }
}

/// Where `fixed` (the pipeline with the fixed cost) becomes cheaper than `plain`.
struct Crossing {
    at: Option<u64>,
    fixed: String,
    plain: String,
}

/// The comparison with the cross-overs appended: a line each under a table or markdown; in JSON a `crossover`
/// object (two pipelines) or a `crossovers` list (three).
fn crossover_text(text: String, format: Format, crossings: &[Crossing]) -> Result<String> {
    let line = |c: &Crossing| match c.at {
        Some(n) => format!(
            "Cross-over: {} costs less than {} from {} devices (same usage profile per device)\n",
            c.fixed,
            c.plain,
            report::fmt_int(n as f64)
        ),
        None => format!(
            "Cross-over: {} costs more than {} at every fleet size up to 1,000,000,000 devices\n",
            c.fixed, c.plain
        ),
    };
    let json = |c: &Crossing| serde_json::json!({ "cheaper_at_scale": c.fixed, "than": c.plain, "devices": c.at });
    Ok(match format {
        Format::Json => {
            let mut v: serde_json::Value = serde_json::from_str(&text).into_diagnostic()?;
            match crossings {
                [one] => v["crossover"] = json(one),
                many => v["crossovers"] = many.iter().map(json).collect(),
            }
            serde_json::to_string_pretty(&v).into_diagnostic()?
        }
        Format::Csv => text,
        _ => text + "\n" + &crossings.iter().map(line).collect::<String>(),
    })
}

fn write_chart(g: &GlobalArgs, args: &EstimateArgs, es: &[cost::Estimate]) -> Result<()> {
    let Some(path) = &args.chart else { return Ok(()) };
    let svg = chart::svg(es).map_err(|e| miette::miette!("{e}"))?;
    write_atomic(path, &svg).into_diagnostic().wrap_err_with(|| format!("writing the chart {}", path.display()))?;
    output::progress(g.output, format!("wrote the chart to {}", path.display()));
    Ok(())
}
