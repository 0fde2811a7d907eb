//! One source of truth for the region of an AWS command: `--region`, else rainmaker.yaml's `region`. The SDK's
//! own region settings are never used silently: an explicit one (`AWS_REGION`, `AWS_DEFAULT_REGION`, or the
//! region of a profile named with `--profile`/`AWS_PROFILE`) that disagrees with the config is refused unless
//! `--region` decides. The default profile's region (what `aws configure` wrote once) is not a choice for this
//! tenant and is ignored.

use super::usage::UsageError;

/// A region the AWS environment names, and where it says so (`AWS_REGION`, `profile ci`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambient {
    pub source: String,
    pub region: String,
}

/// The region to deploy to: `--region` wins; without it the config's, refused when an explicit ambient region
/// disagrees (the user may expect either: they must say which).
pub fn choose(config: &str, flag: Option<&str>, ambient: Option<&Ambient>) -> Result<String, UsageError> {
    if let Some(r) = flag {
        return Ok(r.to_string());
    }
    match ambient {
        Some(a) if a.region != config => Err(UsageError::new(
            "--region",
            format!("rainmaker.yaml says region {config}, but {} says {}; nothing was done", a.source, a.region),
            format!(
                "say which: --region {config} deploys where the config says (--region {} deploys there instead), or \
                 unset {} / change `region:` in rainmaker.yaml",
                a.region, a.source
            ),
        )),
        _ => Ok(config.to_string()),
    }
}

/// The explicit region of the AWS environment, if any: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the region of a
/// named profile.
pub async fn ambient(profile: Option<&str>) -> Option<Ambient> {
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Some(r) = std::env::var(var).ok().filter(|r| !r.trim().is_empty()) {
            return Some(Ambient { source: var.into(), region: r.trim().to_string() });
        }
    }
    let p = profile?;
    use aws_config::meta::region::ProvideRegion;
    let r = aws_config::profile::ProfileFileRegionProvider::builder().profile_name(p).build().region().await?;
    Some(Ambient { source: format!("profile {p}"), region: r.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(source: &str, region: &str) -> Option<Ambient> {
        Some(Ambient { source: source.into(), region: region.into() })
    }

    #[test]
    fn the_flag_decides_else_the_config_unless_an_explicit_region_disagrees() {
        type Case = (Option<&'static str>, Option<Ambient>, Result<&'static str, &'static str>);
        let cases: &[Case] = &[
            (None, None, Ok("eu-west-1")),
            (None, env("AWS_REGION", "eu-west-1"), Ok("eu-west-1")),
            (None, env("AWS_REGION", "us-east-1"), Err("but AWS_REGION says us-east-1")),
            (None, env("profile ci", "us-east-1"), Err("but profile ci says us-east-1")),
            (Some("us-east-1"), env("AWS_REGION", "eu-west-1"), Ok("us-east-1")),
            (Some("eu-west-1"), env("AWS_REGION", "us-east-1"), Ok("eu-west-1")),
            (Some("ap-south-1"), None, Ok("ap-south-1")),
        ];
        for (flag, ambient, want) in cases {
            let got = choose("eu-west-1", *flag, ambient.as_ref());
            match (want, got) {
                (Ok(r), Ok(g)) => assert_eq!(&g, r, "{flag:?} {ambient:?}"),
                (Err(m), Err(e)) => {
                    assert!(
                        e.message.contains(m) && e.message.contains("rainmaker.yaml says region eu-west-1"),
                        "{e:?}"
                    );
                    let help = e.help.unwrap_or_default();
                    assert!(help.contains("--region eu-west-1"), "{help}");
                    assert_eq!(e.flag, "--region");
                }
                (w, g) => panic!("{flag:?} {ambient:?}: wanted {w:?}, got {g:?}"),
            }
        }
    }
}
