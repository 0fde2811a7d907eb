//! The export archive: a zip written entry by entry (telemetry streamed line by line), each entry's size and
//! SHA-256 computed as it is written, into a mode-0600 temporary file that is renamed into place at the end.

use super::GdprError;
use rainmaker_core::gdpr::{FileEntry, Source};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

/// An archive being written.
pub struct Archive {
    zip: zip::ZipWriter<File>,
    files: Vec<FileEntry>,
    open: Option<Open>,
}

struct Open {
    path: String,
    source: Source,
    items: u64,
    bytes: u64,
    hash: Sha256,
}

fn options() -> SimpleFileOptions {
    // fixed time and mode: the same data gives the same entries
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o600)
        .large_file(true)
}

fn zerr(e: impl std::fmt::Display) -> GdprError {
    GdprError::io("writing the archive", e)
}

/// Create `path` for writing, only if it does not exist, readable by the owner only.
pub fn create_private(path: &Path) -> Result<File, GdprError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map_err(|e| GdprError::io(format!("creating {}", path.display()), e))
}

/// A temporary sibling of `out` (`.<name>.tmp-<pid>`), created 0600.
pub fn temp_beside(out: &Path) -> Result<(PathBuf, File), GdprError> {
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("export");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp); // a leftover of an earlier run with the same pid
    Ok((tmp.clone(), create_private(&tmp)?))
}

/// Move the finished `tmp` to `out`: with `force` by rename (replacing), else by a hard link that fails when `out`
/// exists (so a file created meanwhile is never overwritten), then removing `tmp`.
pub fn publish(tmp: &Path, out: &Path, force: bool) -> Result<(), GdprError> {
    let what = format!("moving the archive to {}", out.display());
    if force {
        return std::fs::rename(tmp, out).map_err(|e| GdprError::io(what, e));
    }
    match std::fs::hard_link(tmp, out) {
        Ok(()) => std::fs::remove_file(tmp).map_err(|e| GdprError::io(what, e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(tmp);
            Err(exists(out))
        }
        Err(e) => Err(GdprError::io(what, e)),
    }
}

/// The error for an output file in the way.
pub fn exists(out: &Path) -> GdprError {
    GdprError::usage(
        "--out",
        format!("{} already exists", out.display()),
        "pass --force to replace it, or another --out path",
    )
}

impl Archive {
    pub fn new(file: File) -> Archive {
        Archive { zip: zip::ZipWriter::new(file), files: Vec::new(), open: None }
    }

    /// Start an entry.
    pub fn begin(&mut self, path: &str, source: Source) -> Result<(), GdprError> {
        self.end()?;
        self.zip.start_file(path, options()).map_err(zerr)?;
        self.open = Some(Open { path: path.into(), source, items: 0, bytes: 0, hash: Sha256::new() });
        Ok(())
    }

    /// Append bytes holding `items` records to the open entry.
    pub fn write(&mut self, bytes: &[u8], items: u64) -> Result<(), GdprError> {
        let open = self.open.as_mut().ok_or_else(|| zerr("no entry open"))?;
        self.zip.write_all(bytes).map_err(zerr)?;
        open.hash.update(bytes);
        open.bytes += bytes.len() as u64;
        open.items += items;
        Ok(())
    }

    /// Close the open entry, recording it.
    pub fn end(&mut self) -> Result<(), GdprError> {
        if let Some(o) = self.open.take() {
            self.files.push(FileEntry {
                path: o.path,
                source: o.source,
                items: o.items,
                bytes: o.bytes,
                sha256: hex::encode(o.hash.finalize()),
            });
        }
        Ok(())
    }

    /// A whole JSON entry (pretty, newline at the end).
    pub fn json(&mut self, path: &str, source: Source, value: &serde_json::Value, items: u64) -> Result<(), GdprError> {
        let mut text = serde_json::to_vec_pretty(value).map_err(zerr)?;
        text.push(b'\n');
        self.begin(path, source)?;
        self.write(&text, items)?;
        self.end()
    }

    /// The entries so far.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// A plain entry not listed among the files (the manifest itself, the README).
    pub fn extra(&mut self, path: &str, bytes: &[u8]) -> Result<(), GdprError> {
        self.end()?;
        self.zip.start_file(path, options()).map_err(zerr)?;
        self.zip.write_all(bytes).map_err(zerr)
    }

    /// Finish the zip and flush it to disk.
    pub fn finish(mut self) -> Result<File, GdprError> {
        self.end()?;
        let file = self.zip.finish().map_err(zerr)?;
        file.sync_all().map_err(zerr)?;
        Ok(file)
    }
}
