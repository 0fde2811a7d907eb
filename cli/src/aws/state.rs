//! The tenant's local state directory, `<config dir>/.rainmaker/<account>/<region>/<tenant>/` (claim certificate
//! record and key, outputs.json, the GDPR journals), and the move of the old `.rainmaker/<tenant>/` layout into it.

use super::DeployError;
use std::path::{Path, PathBuf};

/// What an old, tenant-keyed state directory holds directly under `.rainmaker/<tenant>/` (tenant names start with
/// a letter, so they never collide with a 12-digit account directory).
const OLD_LAYOUT_MARKERS: &[&str] = &["claim.json", "claim.private.key", "claim.cert.pem", "outputs.json", "gdpr"];

/// `<config dir>/.rainmaker/<account>/<region>/<tenant>`: one directory per place a tenant can be deployed, so a
/// second account or region never picks up another deployment's claim certificate.
pub fn dir(config_dir: &Path, account: &str, region: &str, tenant: &str) -> PathBuf {
    config_dir.join(".rainmaker").join(account).join(region).join(tenant)
}

/// The old layout: `<config dir>/.rainmaker/<tenant>` (rainmaker-deploy before account and region keys).
pub fn old_dir(config_dir: &Path, tenant: &str) -> PathBuf {
    config_dir.join(".rainmaker").join(tenant)
}

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migration {
    /// No old directory: nothing to do.
    Nothing,
    /// The old directory was moved (renamed, not copied) to the new place.
    Moved { from: PathBuf, to: PathBuf },
}

/// Move `.rainmaker/<tenant>/` to `.rainmaker/<account>/<region>/<tenant>/` when the old one exists and the new one
/// does not. Both present is refused, naming both (merging two claim records could keep the wrong certificate).
pub fn migrate(config_dir: &Path, account: &str, region: &str, tenant: &str) -> Result<Migration, DeployError> {
    let old = old_dir(config_dir, tenant);
    let is_old = OLD_LAYOUT_MARKERS.iter().any(|m| old.join(m).exists());
    if !is_old {
        return Ok(Migration::Nothing);
    }
    let new = dir(config_dir, account, region, tenant);
    if new.exists() {
        return Err(DeployError::StateConflict { old: old.display().to_string(), new: new.display().to_string() });
    }
    let parent = new.parent().unwrap_or(config_dir);
    super::iot::create_private_dir(parent)?;
    std::fs::rename(&old, &new)
        .map_err(|e| DeployError::io(format!("moving {} to {}", old.display(), new.display()), e))?;
    Ok(Migration::Moved { from: old, to: new })
}

/// The state directory for this account and region, after moving an old one there (see [`migrate`]).
pub fn local_state(config_dir: &Path, account: &str, region: &str, tenant: &str) -> Result<PathBuf, DeployError> {
    migrate(config_dir, account, region, tenant)?;
    Ok(dir(config_dir, account, region, tenant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_directory_is_moved_once_and_never_merged() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        assert_eq!(migrate(root, "123456789012", "eu-west-1", "acme").unwrap(), Migration::Nothing);

        let old = old_dir(root, "acme");
        std::fs::create_dir_all(old.join("gdpr")).unwrap();
        std::fs::write(old.join("claim.json"), "{}").unwrap();
        std::fs::write(old.join("outputs.json"), "{}").unwrap();
        let m = migrate(root, "123456789012", "eu-west-1", "acme").unwrap();
        let new = dir(root, "123456789012", "eu-west-1", "acme");
        assert_eq!(m, Migration::Moved { from: old.clone(), to: new.clone() });
        assert!(!old.exists(), "moved, not copied");
        for f in ["claim.json", "outputs.json", "gdpr"] {
            assert!(new.join(f).exists(), "{f}");
        }
        assert_eq!(migrate(root, "123456789012", "eu-west-1", "acme").unwrap(), Migration::Nothing, "once");

        // an old directory appearing beside an existing new one is not merged
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join("claim.json"), "{}").unwrap();
        let err = migrate(root, "123456789012", "eu-west-1", "acme").unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&old.display().to_string()) && text.contains(&new.display().to_string()), "{text}");
        assert!(old.join("claim.json").exists() && new.join("claim.json").exists(), "nothing moved or lost");
    }
}
