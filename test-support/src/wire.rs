//! HTTP/1.1 on the wire for the local test servers: read one request off a connection, forward it to moto on a
//! connection of its own, build an answer. One request per connection (`Connection: close` both ways), so the
//! order a server sees is the order requests were sent.

use crate::Received;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

/// One request as read: its line, its headers (names lower-case) and the body's exact bytes (zips are binary).
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    /// The value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The request with its body as text, as the servers keep it.
    pub fn received(&self) -> Received {
        Received {
            request_line: self.line.clone(),
            headers: self.headers.clone(),
            body: String::from_utf8_lossy(&self.body).into_owned(),
        }
    }

    /// The SigV4 signing name from the `Authorization` header's credential scope (`dynamodb`, `s3`, `iot`, ...).
    pub fn service(&self) -> Option<&str> {
        let cred = self.header("authorization")?.split("Credential=").nth(1)?;
        cred.split(['/', ',']).nth(3)
    }
}

/// Read one request (line, headers, `Content-Length` bytes of body); `None` when the peer closed or sent garbage.
/// Chunked bodies are not supported (the SDK sends `Content-Length` for every call the tests make).
pub fn read_request(stream: &TcpStream) -> Option<RawRequest> {
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
        "the test servers do not read chunked bodies: {line}"
    );
    let len = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(RawRequest { line: line.trim_end().to_string(), headers, body })
}

/// Send `req` to `upstream` on a connection of its own and return the whole answer, its head rewritten to carry
/// `Connection: close` (the answer goes back on a connection that closes after it).
pub fn forward(upstream: SocketAddr, req: &RawRequest) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream)?;
    let mut head = format!("{}\r\n", req.line);
    for (k, v) in req.headers.iter().filter(|(k, _)| k != "connection" && k != "content-length") {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", req.body.len()));
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw)?;
    let (head, body) = split(&raw);
    Ok(with_head(head, body, |l| !l.to_ascii_lowercase().starts_with("connection:"), "Connection: close"))
}

/// Replace the body of a whole answer (its `Content-Length` follows).
pub fn replace_body(raw: &[u8], body: &[u8]) -> Vec<u8> {
    let (head, _) = split(raw);
    let length = format!("Content-Length: {}", body.len());
    with_head(head, body, |l| !l.to_ascii_lowercase().starts_with("content-length:"), &length)
}

/// The head (through the blank line) and the body of a whole answer.
pub fn split(raw: &[u8]) -> (&[u8], &[u8]) {
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(raw.len());
    raw.split_at(at)
}

/// The body of a whole answer as text.
pub fn body_text(raw: &[u8]) -> String {
    String::from_utf8_lossy(split(raw).1).into_owned()
}

fn with_head(head: &[u8], body: &[u8], keep: impl Fn(&str) -> bool, extra: &str) -> Vec<u8> {
    let mut out: String = String::from_utf8_lossy(head)
        .lines()
        .filter(|l| !l.is_empty() && keep(l))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str(&format!("{extra}\r\n\r\n"));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A whole answer: `status`, `headers`, `Content-Length`, `Connection: close` and `body`.
pub fn response(status: u16, reason: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    head.into_bytes()
}

/// What a proxy answers when moto cannot be reached.
pub fn bad_gateway(who: &str, e: &std::io::Error) -> Vec<u8> {
    response(502, "Bad Gateway", &[], &format!("{who}: {e}"))
}
