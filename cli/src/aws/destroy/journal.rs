//! The local record of what the live stacks retained, `<state>/retained.json`: written from the live stacks before
//! they are deleted, so a re-run after a partial delete (stacks gone, data half deleted) and a later
//! `destroy --delete-data` still know what is left. A live stack always wins over the record.

use super::decide::Retained;
use crate::aws::DeployError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Retained resources by stack name, each as read from that stack before its deletion.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Journal {
    pub stacks: BTreeMap<String, Vec<Retained>>,
}

/// Where the record lives.
pub fn path(state: &Path) -> PathBuf {
    state.join("retained.json")
}

impl Journal {
    /// The record in `state`, or an empty one.
    pub fn load(state: &Path) -> Result<Journal, DeployError> {
        let p = path(state);
        match std::fs::read_to_string(&p) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| {
                DeployError::io(format!("reading {} (delete it if the stacks still exist)", p.display()), e)
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Journal::default()),
            Err(e) => Err(DeployError::io(format!("reading {}", p.display()), e)),
        }
    }

    /// Write it (atomically, 0600), or remove the file once nothing is left in it.
    pub fn save(&self, state: &Path) -> Result<(), DeployError> {
        let p = path(state);
        if self.stacks.values().all(Vec::is_empty) {
            return match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(DeployError::io(format!("removing {}", p.display()), e))
                }
                _ => Ok(()),
            };
        }
        crate::aws::iot::create_private_dir(state)?;
        let body = serde_json::to_vec_pretty(self).map_err(|e| DeployError::io("serializing the record", e))?;
        crate::aws::iot::write_private(&p, &body)
    }

    /// Drop one resource (it was deleted or found gone).
    pub fn forget(&mut self, r: &Retained) {
        if let Some(list) = self.stacks.get_mut(&r.stack) {
            list.retain(|x| x.logical_id != r.logical_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_loaded_forgotten_and_removed_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s");
        assert_eq!(Journal::load(&state).unwrap(), Journal::default());
        let r = Retained {
            stack: "rm-acme".into(),
            logical_id: "Users".into(),
            resource_type: "AWS::DynamoDB::Table".into(),
            physical_id: Some("rm-acme-users".into()),
            name: Some("rm-acme-users".into()),
            data_class: Some("user-data".into()),
            description: None,
        };
        let mut j = Journal::default();
        j.stacks.insert("rm-acme".into(), vec![r.clone()]);
        j.save(&state).unwrap();
        assert_eq!(Journal::load(&state).unwrap(), j);
        j.forget(&r);
        j.save(&state).unwrap();
        assert!(!path(&state).exists(), "nothing left: no file");
        std::fs::write(path(&state), "{not json").unwrap();
        assert!(Journal::load(&state).unwrap_err().to_string().contains("retained.json"));
    }
}
