//! Helpers for the integration tests: run the built binary (also on a pseudo-terminal), paths of the workspace, temp
//! dirs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The result of one CLI run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout, stderr and the exit code in one string, for snapshots.
    pub fn transcript(&self) -> String {
        format!("exit: {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout.trim_end(), self.stderr.trim_end())
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A `Command` for the built binary, run in `dir`, with colours off and AWS variables cleared.
pub fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rainmaker-deploy"));
    c.current_dir(dir).env("NO_COLOR", "1").env("COLUMNS", "100");
    for v in ["AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "RAINMAKER_CONFIG"] {
        c.env_remove(v);
    }
    // moto leaves some encryption fields out (aws::verify::encryption): honoured for a loopback endpoint only;
    // the replays of real AWS answers remove it
    c.env(rainmaker_deploy::aws::verify::encryption::MOTO_ENV, "1");
    c
}

/// Run the binary with `args` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    Run::from(cmd(dir).args(args).output().expect("running rainmaker-deploy"))
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("creating a temp dir")
}

/// `cmd` run on a pseudo-terminal (`script`), as an operator at a terminal runs it: its exit code and everything
/// it drew there (stdout and stderr).
pub fn on_a_terminal(cmd: &Command) -> (i32, String) {
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"));
    let line: Vec<String> = std::iter::once(cmd.get_program()).chain(cmd.get_args()).map(quote).collect();
    let mut s = Command::new("script");
    s.args(["-qefc", &line.join(" "), "/dev/null"]).stdin(std::process::Stdio::null());
    if let Some(d) = cmd.get_current_dir() {
        s.current_dir(d);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => s.env(k, v),
            None => s.env_remove(k),
        };
    }
    s.env_remove("CI").env("TERM", "xterm");
    let out = s.output().expect("running script (util-linux) for a pseudo-terminal");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}
