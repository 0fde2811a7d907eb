//! A canned HTTP endpoint: every request gets the same response (an AWS error in its service's shape, say), or the
//! first of several whose pattern it contains, and what was asked is kept, so CLI tests can show how each AWS
//! failure reads. Plus a port nothing listens on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request as received: the request line, the headers and the body.
#[derive(Debug, Clone)]
pub struct Received {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// A server on 127.0.0.1 answering every request with `status`, `headers` and `body`, until dropped.
pub struct ReplyServer {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

/// One canned answer of a [`ReplyServer`]: given to requests whose request line or body contains `when` (every
/// request when `None`).
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a> {
    pub when: Option<&'a str>,
    pub status: u16,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a str,
}

impl ReplyServer {
    /// Start answering on a free port.
    pub fn start(status: u16, headers: &[(&str, &str)], body: &str) -> ReplyServer {
        Self::start_routes(&[Reply { when: None, status, headers, body }])
    }

    /// Start answering on a free port, each request with the first reply whose `when` it contains (e.g.
    /// `Action=GetCallerIdentity`); a request no reply matches gets HTTP 500 with an empty body.
    pub fn start_routes(replies: &[Reply<'_>]) -> ReplyServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a local port");
        let port = listener.local_addr().expect("the bound address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let routes: Vec<(Option<String>, String)> =
            replies.iter().map(|r| (r.when.map(str::to_string), response(r.status, r.headers, r.body))).collect();
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let request = read_request(&stream);
                let answer = routes
                    .iter()
                    .find(|(when, _)| match (when, &request) {
                        (None, _) => true,
                        (Some(w), Some(r)) => r.request_line.contains(w.as_str()) || r.body.contains(w.as_str()),
                        (Some(_), None) => false,
                    })
                    .map(|(_, a)| a.clone())
                    .unwrap_or_else(|| response(500, &[], ""));
                if let Some(r) = request {
                    log.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                }
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        ReplyServer { port, received }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> String {
    let mut response = format!("HTTP/1.1 {status} Canned\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        response.push_str(&format!("{k}: {v}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(body);
    response
}

fn read_request(stream: &TcpStream) -> Option<Received> {
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
    Some(Received {
        request_line: request_line.trim_end().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into(),
    })
}

/// `http://127.0.0.1:<port>` of a port that was free a moment ago and has no listener now (connections refused).
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a local port");
    let port = listener.local_addr().expect("the bound address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
