//! A forwarding proxy in front of moto: a fixed delay per call (so a benchmark measures waiting on AWS, not moto's
//! CPU) and response rewrites for what moto never answers (a change set's `Replacement: True`, say), with every
//! request kept. One request per connection (`Connection: close` both ways), like [`crate::ReplyServer`].

use crate::Received;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Rewrites a response body: given the request and moto's body, the body to send instead.
pub type Rewrite = Arc<dyn Fn(&Received, &str) -> String + Send + Sync>;

/// A proxy on 127.0.0.1 forwarding to `upstream`, until the process ends.
pub struct Proxy {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Proxy {
    /// Forward every request to `upstream` after `delay`, passing moto's body through `rewrite` (if any).
    pub fn start(upstream: SocketAddr, delay: Duration, rewrite: Option<Rewrite>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a local port");
        let port = listener.local_addr().expect("the bound address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, rewrite) = (log.clone(), rewrite.clone());
                std::thread::spawn(move || {
                    let Some((req, body)) = read_raw(&stream) else { return };
                    std::thread::sleep(delay);
                    let answer = forward(upstream, &req, &body, rewrite.as_deref())
                        .unwrap_or_else(|e| error_response(&format!("proxy: {e}")));
                    log.lock().unwrap_or_else(|p| p.into_inner()).push(req);
                    let _ = (&stream).write_all(&answer);
                });
            }
        });
        Proxy { port, received }
    }

    /// A proxy in front of a [`crate::MotoServer`].
    pub fn moto(moto: &crate::MotoServer, delay: Duration, rewrite: Option<Rewrite>) -> Proxy {
        Proxy::start(moto.addr(), delay, rewrite)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request forwarded so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn error_response(message: &str) -> Vec<u8> {
    format!("HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{message}", message.len())
        .into_bytes()
}

/// One request: its line and headers (body as text, for the log) and the body's exact bytes (zips are binary).
fn read_raw(stream: &TcpStream) -> Option<(Received, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let text = String::from_utf8_lossy(&body).into_owned();
    Some((Received { request_line: request_line.trim_end().to_string(), headers, body: text }, body))
}

type RewriteFn = dyn Fn(&Received, &str) -> String + Send + Sync;

fn forward(upstream: SocketAddr, req: &Received, body: &[u8], rewrite: Option<&RewriteFn>) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream)?;
    let mut head = format!("{}\r\n", req.request_line);
    for (k, v) in req.headers.iter().filter(|(k, _)| k != "connection" && k != "content-length") {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    up.write_all(head.as_bytes())?;
    up.write_all(body)?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw)?;
    let Some(rewrite) = rewrite else { return Ok(raw) };
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(raw.len());
    let (head, body) = raw.split_at(split);
    let body = rewrite(req, &String::from_utf8_lossy(body));
    let head = String::from_utf8_lossy(head);
    let mut out: String = head
        .lines()
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("content-length:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    Ok(bytes)
}
