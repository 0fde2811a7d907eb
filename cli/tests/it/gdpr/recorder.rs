//! A recorder on the request stream between the built binary and moto: a forwarding proxy on 127.0.0.1 that keeps
//! every request (service, `X-Amz-Target`, path, JSON body) in the order moto received them, and can hold a request
//! matching a target until the test has done something (a write "while the erase runs"). One request per
//! connection (`Connection: close` both ways), so the order kept is the order sent.

use rainmaker_test_support::wire;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

/// One request as it went to moto.
#[derive(Debug, Clone)]
pub struct Request {
    /// The SigV4 signing name from the `Authorization` header's credential scope (`dynamodb`, `cognito-idp`, ...).
    pub service: String,
    /// The `X-Amz-Target` header (JSON protocols), e.g. `DynamoDB_20120810.Query`.
    pub target: Option<String>,
    pub method: String,
    pub path: String,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: serde_json::Value,
}

impl Request {
    /// The operation of a JSON-protocol request: `Query` of `DynamoDB_20120810.Query`.
    pub fn op(&self) -> Option<&str> {
        self.target.as_deref().and_then(|t| t.rsplit_once('.')).map(|(_, op)| op)
    }

    /// A DynamoDB request of operation `op`.
    pub fn is_ddb(&self, op: &str) -> bool {
        self.target.as_deref() == Some(&format!("DynamoDB_20120810.{op}"))
    }

    /// A Cognito user pools request of operation `op`.
    pub fn is_cognito(&self, op: &str) -> bool {
        self.target.as_deref() == Some(&format!("AWSCognitoIdentityProviderService.{op}"))
    }
}

/// Holds the first request whose `X-Amz-Target` ends with `.<op>` before it reaches moto: the proxy says so on
/// `reached` and forwards it only once the test sends on `release`.
struct Hold {
    op: String,
    reached: Sender<()>,
    release: Mutex<Receiver<()>>,
}

/// The test's ends of a [`Hold`].
pub struct Held {
    pub reached: Receiver<()>,
    pub release: Sender<()>,
}

/// The proxy; it runs until the test process ends.
pub struct Recorder {
    port: u16,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Recorder {
    /// Forward to `upstream` (`http://127.0.0.1:<port>`, moto), recording every request.
    pub fn start(upstream: &str) -> Recorder {
        Self::start_with(upstream, None)
    }

    /// The same, holding the first request of operation `op` (see [`Hold`]).
    pub fn holding(upstream: &str, op: &str) -> (Recorder, Held) {
        let (reached_tx, reached) = channel();
        let (release, release_rx) = channel();
        let hold = Hold { op: op.to_string(), reached: reached_tx, release: Mutex::new(release_rx) };
        (Self::start_with(upstream, Some(hold)), Held { reached, release })
    }

    fn start_with(upstream: &str, hold: Option<Hold>) -> Recorder {
        let upstream: SocketAddr = upstream.trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a local port");
        let port = listener.local_addr().expect("the bound address").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (log2, hold) = (log.clone(), Arc::new(Mutex::new(hold)));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, hold) = (log2.clone(), hold.clone());
                std::thread::spawn(move || serve(stream, upstream, &log, &hold));
            }
        });
        Recorder { port, log }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request so far, emptying the log.
    pub fn take(&self) -> Vec<Request> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn serve(stream: TcpStream, upstream: SocketAddr, log: &Mutex<Vec<Request>>, hold: &Mutex<Option<Hold>>) {
    let Some(raw) = wire::read_request(&stream) else { return };
    let mut parts = raw.line.split(' ');
    let (method, target) = (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default());
    let request = Request {
        service: raw.service().unwrap_or("unsigned").to_string(),
        target: raw.header("x-amz-target").map(str::to_string),
        method,
        path: target.split('?').next().unwrap_or(target).to_string(),
        body: serde_json::from_slice(&raw.body).unwrap_or(serde_json::Value::Null),
    };
    // recorded before it reaches moto: the order kept is the order moto sees
    log.lock().unwrap_or_else(|p| p.into_inner()).push(request.clone());
    let held = {
        let mut h = hold.lock().unwrap_or_else(|p| p.into_inner());
        match h.as_ref() {
            Some(x) if request.op() == Some(x.op.as_str()) => h.take(),
            _ => None,
        }
    };
    if let Some(h) = held {
        let _ = h.reached.send(());
        let _ = h.release.lock().unwrap_or_else(|p| p.into_inner()).recv();
    }
    let answer = wire::forward(upstream, &raw).unwrap_or_else(|e| wire::bad_gateway("recorder", &e));
    let _ = (&stream).write_all(&answer);
}
