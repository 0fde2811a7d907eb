//! A recorder on the request stream between the built binary and moto: a forwarding proxy on 127.0.0.1 that keeps
//! every request (service, `X-Amz-Target`, path, JSON body) in the order moto received them, and can hold a request
//! matching a target until the test has done something (a write "while the erase runs"). One request per
//! connection (`Connection: close` both ways), so the order kept is the order sent.

use std::io::{BufRead, BufReader, Read, Write};
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
    let Some((line, headers, body)) = read_request(&stream) else { return };
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut parts = line.split(' ');
    let (method, target) = (parts.next().unwrap_or_default().to_string(), parts.next().unwrap_or_default());
    let request = Request {
        service: header("authorization").as_deref().and_then(signing_name).unwrap_or("unsigned").to_string(),
        target: header("x-amz-target"),
        method,
        path: target.split('?').next().unwrap_or(target).to_string(),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
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
    let answer = forward(upstream, &line, &headers, &body).unwrap_or_else(|e| {
        let m = format!("recorder: {e}");
        format!("HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{m}", m.len()).into_bytes()
    });
    let _ = (&stream).write_all(&answer);
}

/// The request line, the headers (names lower-case) and the body (`Content-Length` bytes).
type Raw = (String, Vec<(String, String)>, Vec<u8>);

fn read_request(stream: &TcpStream) -> Option<Raw> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    assert!(
        !headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")),
        "the recorder does not forward chunked bodies: {line}"
    );
    let len = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((line.trim_end().to_string(), headers, body))
}

/// Send the request to moto on a connection of its own; moto's answer with `Connection: close`.
fn forward(upstream: SocketAddr, line: &str, headers: &[(String, String)], body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream)?;
    let mut head = format!("{line}\r\n");
    for (k, v) in headers.iter().filter(|(k, _)| k != "connection" && k != "content-length") {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    up.write_all(head.as_bytes())?;
    up.write_all(body)?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw)?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(raw.len());
    let (head, rest) = raw.split_at(split);
    let mut out: String = String::from_utf8_lossy(head)
        .lines()
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(rest);
    Ok(bytes)
}

/// The service of a SigV4 `Authorization` header: `Credential=KEY/DATE/REGION/SERVICE/aws4_request`.
fn signing_name(auth: &str) -> Option<&str> {
    let cred = auth.split("Credential=").nth(1)?;
    cred.split(['/', ',']).nth(3)
}
