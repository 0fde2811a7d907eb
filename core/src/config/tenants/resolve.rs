//! From a parsed tenants.yaml to a `Fleet`: defaults applied, `{account}` expanded, every pre-AWS refusal checked.

use super::types::{AmountSpec, TenantsFile};
use super::{Amount, Fleet, FleetTenant, TenantConfig, Wave, TENANTS_VERSION};
use crate::config::error::did_you_mean;
use crate::config::{region_problem, Config, ConfigError, Problem};
use regex::Regex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The wave all tenants form when the file has no `waves` section.
pub const DEFAULT_WAVE: &str = "all";

/// What reading one tenant's rainmaker.yaml gave.
// One short-lived value per tenant file, matched at once: boxing the config would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Loaded {
    /// The file does not exist or cannot be read (refused before any AWS call).
    Missing(String),
    /// The file exists: its parsed config, or why it is invalid (that tenant fails, the others go on).
    Read(Result<Config, ConfigError>),
}

/// Apply defaults, expand `{account}`, and check everything that can be checked without AWS. `base` is the folder
/// of tenants.yaml (configs are relative to it); `load` reads one config.
pub fn resolve(file: TenantsFile, base: &Path, load: &dyn Fn(&Path) -> Loaded) -> Result<Fleet, Vec<Problem>> {
    let mut p = Vec::new();
    let mut add = |path: String, message: String, help: String| p.push(Problem { path, message, help });
    if file.version != TENANTS_VERSION {
        add(
            "version".into(),
            format!("unsupported version {}", file.version),
            format!("this CLI reads version {TENANTS_VERSION}"),
        );
    }
    let mut waves = Vec::new();
    let wave_re = Regex::new(r"^[a-z0-9][a-z0-9_-]{0,31}$").expect("valid regex");
    for (name, spec) in &file.waves {
        let at = format!("waves.{name}");
        if !wave_re.is_match(name) {
            add(
                at.clone(),
                format!("`{name}` is not a valid wave name"),
                "use 1 to 32 of a-z, 0-9, '-' and '_'".into(),
            );
        }
        let max = amount(spec.max_concurrent.as_ref(), Amount::Count(1));
        let tol = amount(spec.failure_tolerance.as_ref(), Amount::Count(0));
        match &max {
            Ok(Amount::Count(0)) | Ok(Amount::Percent(0)) => add(
                format!("{at}.max_concurrent"),
                "0 would never start a tenant".into(),
                "a count of at least 1 (`3`) or a percentage (`\"25%\"`)".into(),
            ),
            Err(m) => {
                add(format!("{at}.max_concurrent"), m.clone(), "a count (`3`) or a percentage (`\"25%\"`)".into())
            }
            _ => {}
        }
        if let Err(m) = &tol {
            add(format!("{at}.failure_tolerance"), m.clone(), "a count (`0`) or a percentage (`\"5%\"`)".into());
        }
        if let Some(b) = spec.bake_minutes.filter(|b| *b > 180) {
            add(
                format!("{at}.bake_minutes"),
                format!("{b} is above the maximum 180"),
                "valid: 0 to 180 (CloudFormation's rollback monitoring limit)".into(),
            );
        }
        waves.push(Wave {
            name: name.clone(),
            max_concurrent: max.unwrap_or(Amount::Count(1)),
            failure_tolerance: tol.unwrap_or(Amount::Count(0)),
            bake_minutes: spec.bake_minutes.filter(|b| *b > 0),
        });
    }
    if waves.is_empty() {
        waves.push(Wave {
            name: DEFAULT_WAVE.into(),
            max_concurrent: Amount::Count(1),
            failure_tolerance: Amount::Count(0),
            bake_minutes: None,
        });
    }
    let last_wave = waves.last().map(|w| w.name.clone()).unwrap_or_default();
    if file.tenants.is_empty() {
        add("tenants".into(), "no tenants".into(), "list at least one tenant under `tenants:`".into());
    }
    let account_re = Regex::new(r"^[0-9]{12}$").expect("valid regex");
    let role_re = Regex::new(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$").expect("valid regex");
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut tenants = Vec::new();
    for (i, t) in file.tenants.iter().enumerate() {
        let at = format!("tenants[{i}]");
        if let Some(first) = seen.insert(&t.name, i) {
            let same = file.tenants.get(first).is_some_and(|f| f.account == t.account && f.region == t.region);
            let what = if same { "the same (account, region, name) as" } else { "the same name as" };
            add(
                format!("{at}.name"),
                format!("duplicate tenant `{}`: {what} tenants[{first}]", t.name),
                "each tenant is listed once; names are unique across the fleet (they name the stacks)".into(),
            );
        }
        if !account_re.is_match(&t.account) {
            add(
                format!("{at}.account"),
                format!("`{}` is not an AWS account id", t.account),
                "12 digits, quoted: \"111111111111\"".into(),
            );
        }
        let role = match t.role.as_ref().or(file.defaults.role.as_ref()) {
            Some(r) => r.replace("{account}", &t.account),
            None => {
                add(
                    format!("{at}.role"),
                    "no role to assume".into(),
                    "set `defaults.role` (e.g. \"arn:aws:iam::{account}:role/rainmaker-deployer\") or this tenant's `role`".into(),
                );
                String::new()
            }
        };
        if !role.is_empty() && !role_re.is_match(&role) {
            let field = if t.role.is_some() { format!("{at}.role") } else { "defaults.role".into() };
            add(
                field,
                format!("`{role}` is not an IAM role ARN"),
                "arn:aws:iam::<12-digit account>:role/<name>; `{account}` is replaced by the tenant's account".into(),
            );
        }
        let wave = t.wave.clone().unwrap_or_else(|| last_wave.clone());
        if !waves.iter().any(|w| w.name == wave) {
            let names: Vec<&str> = waves.iter().map(|w| w.name.as_str()).collect();
            let help = match did_you_mean(&wave, names.iter().copied()) {
                Some(m) => format!("did you mean `{m}`? waves: {}", names.join(", ")),
                None => format!("waves: {}", names.join(", ")),
            };
            add(format!("{at}.wave"), format!("unknown wave `{wave}`"), help);
        }
        let region_field = t.region.as_ref().map(|_| format!("{at}.region")).unwrap_or("defaults.region".into());
        let listed_region = t.region.clone().or(file.defaults.region.clone());
        if let Some(r) = &listed_region {
            if let Some(mut rp) = region_problem(r) {
                rp.path = region_field.clone();
                p_push(&mut add, rp);
            }
        }
        let config_path = base.join(&t.config);
        let config = match load(&config_path) {
            Loaded::Missing(reason) => {
                add(
                    format!("{at}.config"),
                    format!("cannot read {}: {reason}", config_path.display()),
                    "the path is relative to tenants.yaml; create it with `rainmaker-deploy init`".into(),
                );
                TenantConfig::Invalid(reason)
            }
            Loaded::Read(Err(e)) => TenantConfig::Invalid(describe(&e)),
            Loaded::Read(Ok(c)) => {
                if c.name != t.name {
                    add(
                        format!("{at}.name"),
                        format!("`{}` but its config {} has name `{}`", t.name, t.config, c.name),
                        "the entry's name must equal `name` in its rainmaker.yaml".into(),
                    );
                }
                if let Some(r) = listed_region.as_ref().filter(|r| **r != c.region) {
                    add(
                        region_field.clone(),
                        format!("region `{r}` but its config {} has region `{}`", t.config, c.region),
                        "the entry's region must agree with `region` in its rainmaker.yaml".into(),
                    );
                }
                TenantConfig::Valid(Box::new(c))
            }
        };
        let region = match (&listed_region, &config) {
            (Some(r), _) => r.clone(),
            (None, TenantConfig::Valid(c)) => c.region.clone(),
            (None, TenantConfig::Invalid(_)) => String::new(),
        };
        tenants.push(FleetTenant {
            name: t.name.clone(),
            account: t.account.clone(),
            role,
            region,
            wave,
            allow_replace: t.allow_replace,
            hold: t.hold,
            config_path,
            config,
        });
    }
    if p.is_empty() {
        Ok(Fleet { waves, tenants })
    } else {
        Err(p)
    }
}

fn p_push(add: &mut impl FnMut(String, String, String), p: Problem) {
    add(p.path, p.message, p.help);
}

fn amount(spec: Option<&AmountSpec>, default: Amount) -> Result<Amount, String> {
    match spec {
        None => Ok(default),
        Some(AmountSpec::Count(n)) => Ok(Amount::Count(*n)),
        Some(AmountSpec::Text(s)) => s.parse(),
    }
}

/// One line naming every problem of an invalid rainmaker.yaml (the tenant's failure reason).
pub fn describe(e: &ConfigError) -> String {
    use miette::Diagnostic;
    let mut s = e.to_string();
    for r in e.related().into_iter().flatten() {
        s.push_str(&format!("; {r}"));
    }
    s
}

/// Where the configs are: `tenants.yaml`'s folder.
pub fn base_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
