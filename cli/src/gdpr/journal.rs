//! Local state of erasures under `<state dir>/gdpr/`: the cache of the tenant's receipt key (the key itself is in
//! the tenant's Secrets Manager, `receipt_key.rs`) and one journal per erasure, named by the keyed hash of the user
//! id. A journal is the receipt being built; it is finished when `finished_at` is set. The erasure marker that
//! any machine finds is the finished receipt in the tenant's `users` table (`marker.rs`); a finished journal here
//! is this machine's copy of it. Everything is written through a temporary file and a rename, so a kill never leaves half
//! a file.

use super::archive::create_private;
use super::GdprError;
use rainmaker_core::gdpr::Receipt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `<state>/gdpr`.
pub fn dir(state: &Path) -> PathBuf {
    state.join("gdpr")
}

/// The local cache of the receipt key (`receipt_key.rs`).
pub fn key_path(state: &Path) -> PathBuf {
    dir(state).join("receipt-key")
}

/// The journal of the erasure of the user with this subject hash.
pub fn journal_path(state: &Path, subject: &str) -> PathBuf {
    dir(state).join("erasures").join(format!("{subject}.json"))
}

/// Read a receipt or journal.
pub fn load(path: &Path) -> Result<Option<Receipt>, GdprError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| GdprError::io(format!("{} is not a receipt", path.display()), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(GdprError::io(format!("reading {}", path.display()), e)),
    }
}

/// Write a receipt or journal (0600, temp + rename, replacing).
pub fn save(path: &Path, r: &Receipt) -> Result<(), GdprError> {
    let mut text = serde_json::to_vec_pretty(r).map_err(|e| GdprError::io("encoding the receipt", e))?;
    text.push(b'\n');
    write_private(path, &text)
}

/// Write `bytes` to `path` with mode 0600 through a temporary sibling and a rename (fsynced).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), GdprError> {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| GdprError::io(format!("creating {}", parent.display()), e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = create_private(&tmp)?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| GdprError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| GdprError::io(format!("writing {}", path.display()), e))
}
