//! `cargo xtask prices --file OFFER.json --region R [--service ID] [--dry-run]`: refresh the embedded price table
//! `core/src/cost/prices/<region>.json` from an AWS Price List bulk offer file the user downloaded (no network).
//! Prices of that offer's service get its tiers, the file's publication date and a source naming the file.

use anyhow::{bail, Context, Result};
use rainmaker_deploy::cost::{price_list, PriceTable};
use std::path::{Path, PathBuf};

const USAGE: &str =
    "usage: cargo xtask prices --file OFFER.json --region REGION [--service PRICE-ID-PREFIX|OFFER-CODE] [--dry-run]";

struct Args {
    file: PathBuf,
    region: String,
    service: Option<String>,
    dry_run: bool,
}

fn parse(args: &[String]) -> Result<Args> {
    let (mut file, mut region, mut service, mut dry_run) = (None, None, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().with_context(|| format!("{a} needs a value\n{USAGE}"));
        match a.as_str() {
            "--file" => file = Some(PathBuf::from(value()?)),
            "--region" => region = Some(value()?),
            "--service" => service = Some(value()?),
            "--dry-run" => dry_run = true,
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    match (file, region) {
        (Some(file), Some(region)) => Ok(Args { file, region, service, dry_run }),
        _ => bail!("--file and --region are required\n{USAGE}"),
    }
}

pub fn run(args: &[String]) -> Result<()> {
    let a = parse(args)?;
    let table = crate::util::root().join("core/src/cost/prices").join(format!("{}.json", a.region));
    let report = refresh(&table, &a.file, a.service.as_deref(), !a.dry_run)?;
    print!("{report}");
    Ok(())
}

/// Refresh the table at `table` from the offer file; write it back when `write`. Returns what changed, as text.
pub fn refresh(table: &Path, offer: &Path, service: Option<&str>, write: bool) -> Result<String> {
    let text = std::fs::read_to_string(table).with_context(|| {
        format!(
            "reading {} (only regions with an embedded table can be refreshed; copy one to add a region)",
            table.display()
        )
    })?;
    let mut t = PriceTable::parse(&text)?;
    let offer_text = std::fs::read_to_string(offer).with_context(|| format!("reading {}", offer.display()))?;
    let r = price_list::refresh(&mut t, &offer.display().to_string(), &offer_text, service)?;
    let mut out = String::new();
    for (id, old, new) in &r.updated {
        let mark = if old == new { "unchanged" } else { "changed" };
        out.push_str(&format!("{id}: {mark}: {new}\n"));
        if old != new {
            out.push_str(&format!("  was: {old}\n"));
        }
    }
    for id in &r.missing {
        out.push_str(&format!(
            "{id}: not found in {} for {} (check `price_list.usagetype` in the table)\n",
            offer.display(),
            t.region
        ));
    }
    if r.updated.is_empty() {
        bail!("{out}no price of {} comes from {}: is it the right service and region?", t.region, offer.display());
    }
    if write {
        std::fs::write(table, price_list::to_json(&t)?).with_context(|| format!("writing {}", table.display()))?;
        out.push_str(&format!("wrote {} ({} prices updated); rebuild to embed it\n", table.display(), r.updated.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_a_copy_of_the_eu_table_from_the_fixture_offer() {
        let root = crate::util::root();
        let dir = std::env::temp_dir().join(format!("xtask-prices-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let table = dir.join("eu-west-1.json");
        std::fs::copy(root.join("core/src/cost/prices/eu-west-1.json"), &table).unwrap();
        let offer = root.join("core/src/cost/testdata/price-list-lambda.json");
        let out = refresh(&table, &offer, None, true).unwrap();
        assert!(
            out.contains("lambda.requests: changed: $0.21 per 1M requests\n  was: $0.20 per 1M requests\n"),
            "{out}"
        );
        assert!(out.contains("lambda.duration_arm64: not found"), "{out}");
        let t = PriceTable::parse(&std::fs::read_to_string(&table).unwrap()).unwrap();
        assert_eq!(t.get("lambda.requests").unwrap().as_of, "2026-10-01");
        assert!(t.get("lambda.requests").unwrap().source.starts_with("AWS Price List bulk file AWSLambda"));
        // An offer of another service changes nothing and says so.
        let err = refresh(&table, &offer, Some("sqs"), false).unwrap_err().to_string();
        assert!(err.contains("no price of eu-west-1 comes from"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn arguments() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(parse(&s(&["--file", "a.json"])).is_err());
        let a = parse(&s(&["--file", "a.json", "--region", "us-east-1", "--dry-run"])).unwrap();
        assert!(a.dry_run && a.region == "us-east-1" && a.service.is_none());
        assert!(parse(&s(&["--bogus"])).is_err());
    }
}
