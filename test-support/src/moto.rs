//! [`MotoServer`]: find, start, wait for and stop a local `moto_server`.

use crate::http::request;
use aws_config::SdkConfig;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long to wait for moto to answer (it takes 1-7 s; more on a loaded machine).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `moto_server` on 127.0.0.1, stopped when dropped or when the test process ends.
///
/// The server runs under a small `sh` guard that stops it as soon as our end of its stdin pipe closes, so even
/// the [`shared`](MotoServer::shared) instance (a static, never dropped) does not outlive the test binary.
pub struct MotoServer {
    guard: Child,
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
    log: PathBuf,
}

static SHARED: OnceLock<MotoServer> = OnceLock::new();

/// How the server handles concurrent requests.
#[derive(Clone, Copy)]
enum Threading {
    /// `moto_server` as shipped: one thread per request.
    Threaded,
    /// One request at a time (see [`MotoServer::start_serialised`]).
    Serialised,
}

/// moto's own server entry point (`moto/server.py`) with `threaded=False`; argv[1] is the port.
const SERIALISED_APP: &str = "import sys\n\
from werkzeug.serving import run_simple\n\
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app\n\
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False, \
request_handler=MotoRequestHandler)\n";

impl MotoServer {
    /// Start a new server on a free port and wait until it is ready. Panics (naming `cargo xtask test`) when
    /// `moto_server` cannot be found or does not come up in time.
    pub fn start() -> MotoServer {
        Self::start_with(Threading::Threaded)
    }

    /// Start a server that answers one request at a time (moto's own app under werkzeug with
    /// `threaded=False`). moto's threaded server does not serialise `TransactWriteItems` against each other, so
    /// two conditional transactions on one item can both succeed there, which DynamoDB never allows; race tests
    /// that rely on DynamoDB's serialisable transactions run against this one. The requests of the racing
    /// callers still interleave (the callers run concurrently); only moto's handling of each is made atomic.
    pub fn start_serialised() -> MotoServer {
        Self::start_with(Threading::Serialised)
    }

    fn start_with(threading: Threading) -> MotoServer {
        let exe = find_moto_server().unwrap_or_else(|| {
            panic!(
                "moto_server not found (looked at $MOTO_SERVER, {}, and PATH). Run `cargo xtask test`, which \
                 installs it into the project venv, or set MOTO_SERVER to its path.",
                venv_moto().display()
            )
        });
        let mut last_err = String::new();
        for _ in 0..3 {
            match Self::try_start(&exe, threading) {
                Ok(server) => return server,
                Err(e) => last_err = e,
            }
        }
        panic!("moto_server ({}) did not start: {last_err}", exe.display());
    }

    /// One server per test binary, started on first use. Give each test its own tables with
    /// [`unique_prefix`](crate::unique_prefix) instead of resetting the shared state.
    pub fn shared() -> &'static MotoServer {
        SHARED.get_or_init(MotoServer::start)
    }

    /// The server's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An SDK config pointing at this server (dummy credentials, region [`REGION`](crate::REGION)).
    pub async fn sdk_config(&self) -> SdkConfig {
        crate::sdk_config_for(&self.endpoint_url()).await
    }

    /// Forget every resource (`POST /moto-api/reset`). Do not use on the shared server while tests run in parallel.
    pub fn reset(&self) {
        let (status, body) =
            request(self.addr, "POST", "/moto-api/reset", &[], "").unwrap_or_else(|e| panic!("moto reset: {e}"));
        assert_eq!(status, 200, "moto reset answered {status}: {body}");
    }

    /// Create an IoT thing (moto's iot-data needs the thing before it keeps a shadow).
    pub fn create_thing(&self, name: &str) {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20240101/{}/iot/aws4_request, SignedHeaders=host, Signature=0",
            crate::REGION
        );
        let path = format!("/things/{name}");
        let (status, body) =
            request(self.addr, "POST", &path, &[("Authorization", &auth), ("Content-Type", "application/json")], "{}")
                .unwrap_or_else(|e| panic!("moto create thing: {e}"));
        assert_eq!(status, 200, "moto create thing {name} answered {status}: {body}");
    }

    /// One call of moto's Kinesis Data Streams API (JSON protocol, `Kinesis_20131202.<action>`): the answer's
    /// JSON (`Null` for an empty body), or the status and body when moto refuses it. The SDK has no Kinesis client
    /// in this workspace; the batched telemetry tests put records and read them back with this.
    pub fn kinesis(&self, action: &str, body: &serde_json::Value) -> Result<serde_json::Value, String> {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20240101/{}/kinesis/aws4_request, SignedHeaders=host, Signature=0",
            crate::REGION
        );
        let target = format!("Kinesis_20131202.{action}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("X-Amz-Target", &target),
            ("Content-Type", "application/x-amz-json-1.1"),
        ];
        let (status, text) = request(self.addr, "POST", "/", &headers, &body.to_string())
            .map_err(|e| format!("moto kinesis {action}: {e}"))?;
        if status != 200 {
            return Err(format!("moto kinesis {action} answered {status}: {text}"));
        }
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("moto kinesis {action}: {e}: {text}"))
    }

    fn try_start(exe: &Path, threading: Threading) -> Result<MotoServer, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = std::env::temp_dir().join(format!("moto-{}-{port}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        // The guard shell runs moto in the background and kills it once its stdin reaches EOF, i.e. when we drop
        // the pipe or our process ends for any reason.
        let (program, script) = match threading {
            Threading::Threaded => (
                exe.to_path_buf(),
                r#""$0" -H 127.0.0.1 -p "$1" & pid=$!; trap 'kill $pid 2>/dev/null' EXIT; read -r _ignored; exit 0"#,
            ),
            Threading::Serialised => (
                // the venv's python beside moto_server runs moto's app single-threaded
                exe.with_file_name("python"),
                r#""$0" -c "$2" "$1" & pid=$!; trap 'kill $pid 2>/dev/null' EXIT; read -r _ignored; exit 0"#,
            ),
        };
        let mut guard = Command::new("sh")
            .args(["-c", script])
            .arg(program)
            .arg(port.to_string())
            .arg(SERIALISED_APP)
            .env("MOTO_PORT", port.to_string())
            .stdin(Stdio::piped())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("spawning sh: {e}"))?;
        let stdin = guard.stdin.take();
        let mut server = MotoServer { guard, stdin, addr, log };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < READY_TIMEOUT {
            if let Ok((200, _)) = request(self.addr, "GET", "/moto-api/", &[], "") {
                return Ok(());
            }
            if let Ok(Some(status)) = self.guard.try_wait() {
                return Err(format!("it exited with {status}; log:\n{}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("not ready after {READY_TIMEOUT:?}; log:\n{}", self.log_tail()))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        drop(self.stdin.take()); // EOF: the guard kills moto and exits
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.guard.try_wait() {
                let _ = std::fs::remove_file(&self.log);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.guard.kill();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn venv_moto() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server")
}

fn find_moto_server() -> Option<PathBuf> {
    find_in(std::env::var_os("MOTO_SERVER"), &venv_moto(), std::env::var_os("PATH"))
}

/// `$MOTO_SERVER` if set (and a file), else the venv's, else the first on `path`.
fn find_in(env: Option<std::ffi::OsString>, venv: &Path, path: Option<std::ffi::OsString>) -> Option<PathBuf> {
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    if venv.is_file() {
        return Some(venv.to_path_buf());
    }
    std::env::split_paths(&path?).map(|d| d.join("moto_server")).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_order_is_env_then_venv_then_path() {
        let dir = std::env::temp_dir().join(format!("ts-find-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let exe = dir.join("bin/moto_server");
        std::fs::write(&exe, "").unwrap();
        let venv = dir.join("venv-moto_server");
        let path = Some(dir.join("bin").into_os_string());
        assert_eq!(find_in(None, &venv, path.clone()), Some(exe.clone()), "from PATH");
        std::fs::write(&venv, "").unwrap();
        assert_eq!(find_in(None, &venv, path.clone()), Some(venv.clone()), "venv before PATH");
        assert_eq!(find_in(Some(exe.clone().into_os_string()), &venv, path.clone()), Some(exe.clone()), "env first");
        assert_eq!(
            find_in(Some("/nonexistent/moto_server".into()), &venv, path),
            None,
            "a wrong $MOTO_SERVER is an error"
        );
        assert_eq!(find_in(None, &dir.join("none"), None), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
