//! The export archive, zip or tar.gz, written entry by entry (telemetry streamed page by page), each entry's size
//! and SHA-256 computed as it is written, into a mode-0600 temporary file that is renamed into place at the end.
//!
//! A zip entry streams straight into the archive. A tar header needs the entry's size first, so a tar entry is
//! spooled to a mode-0600 temporary file beside the archive and appended when it is complete: memory stays flat
//! either way. Entries carry a fixed time and mode 0600 so the same data gives the same entries.

use super::GdprError;
use flate2::write::GzEncoder;
use rainmaker_core::gdpr::{FileEntry, Source};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;

/// The archive format: `--format zip|tar.gz`, or from the `--out` extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
pub enum Format {
    #[default]
    #[value(name = "zip")]
    #[serde(rename = "zip")]
    Zip,
    #[value(name = "tar.gz")]
    #[serde(rename = "tar.gz")]
    TarGz,
}

impl Format {
    /// The file extension (`zip`, `tar.gz`).
    pub const fn extension(self) -> &'static str {
        match self {
            Format::Zip => "zip",
            Format::TarGz => "tar.gz",
        }
    }

    /// The format an output path's name implies (`.zip`; `.tar.gz` or `.tgz`), if any.
    pub fn of_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".zip") {
            Some(Format::Zip)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Format::TarGz)
        } else {
            None
        }
    }

    /// `--format` if given, else the `--out` extension, else zip; a flag contradicting the extension is an error.
    pub fn choose(flag: Option<Format>, out: Option<&Path>) -> Result<Format, GdprError> {
        let implied = out.and_then(Format::of_path);
        match (flag, implied) {
            (Some(f), Some(i)) if f != i => Err(GdprError::usage(
                "--format",
                format!(
                    "--format {} contradicts the --out name {}",
                    f.extension(),
                    out.map(|p| p.display().to_string()).unwrap_or_default()
                ),
                format!("name the file *.{} or pass --format {}", f.extension(), i.extension()),
            )),
            (Some(f), _) => Ok(f),
            (None, i) => Ok(i.unwrap_or_default()),
        }
    }
}

enum Writer {
    Zip(zip::ZipWriter<File>),
    Tar(tar::Builder<GzEncoder<File>>),
}

/// An archive being written.
pub struct Archive {
    writer: Writer,
    /// Where a tar entry is spooled (`<archive>.entry`).
    spool_path: PathBuf,
    files: Vec<FileEntry>,
    open: Option<Open>,
}

struct Open {
    path: String,
    source: Source,
    items: u64,
    bytes: u64,
    hash: Sha256,
    /// tar: the spool file holding the entry so far.
    spool: Option<File>,
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

/// A tar header for a regular file of `size` bytes: mode 0600, time 0, owner 0.
fn tar_header(path: &str, size: u64) -> Result<tar::Header, GdprError> {
    let mut h = tar::Header::new_gnu();
    h.set_path(path).map_err(zerr)?;
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    Ok(h)
}

/// Where the entries of the archive at `path` are spooled (tar only): `<path>.entry`. Removed after each entry;
/// the export removes it with the archive when it fails.
pub fn spool_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".entry");
    PathBuf::from(p)
}

/// Create `path` for writing (and reading back), only if it does not exist, readable by the owner only.
pub fn create_private(path: &Path) -> Result<File, GdprError> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create_new(true);
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
    /// An archive of `format` written to `file`, which lives at `path` (tar entries are spooled beside it).
    pub fn new(file: File, path: &Path, format: Format) -> Archive {
        let writer = match format {
            Format::Zip => Writer::Zip(zip::ZipWriter::new(file)),
            Format::TarGz => {
                let gz = GzEncoder::new(file, flate2::Compression::default());
                let mut b = tar::Builder::new(gz);
                b.mode(tar::HeaderMode::Deterministic);
                Writer::Tar(b)
            }
        };
        Archive { writer, spool_path: spool_path(path), files: Vec::new(), open: None }
    }

    /// Start an entry.
    pub fn begin(&mut self, path: &str, source: Source) -> Result<(), GdprError> {
        self.end()?;
        let spool = match &mut self.writer {
            Writer::Zip(z) => {
                z.start_file(path, options()).map_err(zerr)?;
                None
            }
            Writer::Tar(_) => {
                let _ = std::fs::remove_file(&self.spool_path);
                let f = create_private(&self.spool_path)?;
                Some(f)
            }
        };
        self.open = Some(Open { path: path.into(), source, items: 0, bytes: 0, hash: Sha256::new(), spool });
        Ok(())
    }

    /// Append bytes holding `items` records to the open entry.
    pub fn write(&mut self, bytes: &[u8], items: u64) -> Result<(), GdprError> {
        let open = self.open.as_mut().ok_or_else(|| zerr("no entry open"))?;
        match (&mut self.writer, &mut open.spool) {
            (Writer::Zip(z), _) => z.write_all(bytes).map_err(zerr)?,
            (Writer::Tar(_), Some(f)) => f.write_all(bytes).map_err(zerr)?,
            (Writer::Tar(_), None) => return Err(zerr("no spool file open")),
        }
        open.hash.update(bytes);
        open.bytes += bytes.len() as u64;
        open.items += items;
        Ok(())
    }

    /// Close the open entry, recording it (tar: appending the spooled entry with its size).
    pub fn end(&mut self) -> Result<(), GdprError> {
        let Some(o) = self.open.take() else { return Ok(()) };
        if let (Writer::Tar(b), Some(mut f)) = (&mut self.writer, o.spool) {
            f.flush().map_err(zerr)?;
            f.rewind().map_err(zerr)?;
            let header = tar_header(&o.path, o.bytes)?;
            b.append(&header, &mut f).map_err(zerr)?;
            drop(f);
            std::fs::remove_file(&self.spool_path).map_err(zerr)?;
        }
        self.files.push(FileEntry {
            path: o.path,
            source: o.source,
            items: o.items,
            bytes: o.bytes,
            sha256: hex::encode(o.hash.finalize()),
        });
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
        match &mut self.writer {
            Writer::Zip(z) => {
                z.start_file(path, options()).map_err(zerr)?;
                z.write_all(bytes).map_err(zerr)
            }
            Writer::Tar(b) => b.append(&tar_header(path, bytes.len() as u64)?, bytes).map_err(zerr),
        }
    }

    /// Finish the archive and flush it to disk.
    pub fn finish(mut self) -> Result<File, GdprError> {
        self.end()?;
        let file = match self.writer {
            Writer::Zip(z) => z.finish().map_err(zerr)?,
            Writer::Tar(b) => b.into_inner().map_err(zerr)?.finish().map_err(zerr)?,
        };
        file.sync_all().map_err(zerr)?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_comes_from_the_flag_or_the_extension() {
        let p = |s: &str| Some(Path::new(s).to_path_buf());
        let cases: [(Option<Format>, Option<PathBuf>, Option<Format>); 8] = [
            (None, None, Some(Format::Zip)),
            (None, p("a.zip"), Some(Format::Zip)),
            (None, p("a.tar.gz"), Some(Format::TarGz)),
            (None, p("dir/A.TGZ"), Some(Format::TarGz)),
            (None, p("a.json"), Some(Format::Zip)),
            (Some(Format::TarGz), p("a.bin"), Some(Format::TarGz)),
            (Some(Format::TarGz), p("a.tar.gz"), Some(Format::TarGz)),
            (Some(Format::Zip), p("a.tar.gz"), None),
        ];
        for (flag, out, want) in cases {
            let got = Format::choose(flag, out.as_deref());
            assert_eq!(got.as_ref().ok().copied(), want, "{flag:?} {out:?}: {got:?}");
        }
        let err = Format::choose(Some(Format::Zip), Some(Path::new("x.tgz"))).unwrap_err().to_string();
        assert!(err.contains("--format") && err.contains("x.tgz"), "{err}");
    }
}
