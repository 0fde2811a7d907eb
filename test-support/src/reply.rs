//! A canned HTTP endpoint: every request gets the same response (an AWS error in its service's shape, say), or the
//! first of several whose pattern it contains, and what was asked is kept, so CLI tests can show how each AWS
//! failure reads. Plus a port nothing listens on.

use std::io::Write;
use std::net::TcpListener;
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
        let routes: Vec<(Option<String>, Vec<u8>)> =
            replies.iter().map(|r| (r.when.map(str::to_string), response(r.status, r.headers, r.body))).collect();
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let request = crate::wire::read_request(&stream).map(|r| r.received());
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
                let _ = (&stream).write_all(&answer);
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

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    crate::wire::response(status, "Canned", headers, body)
}

/// `http://127.0.0.1:<port>` of a port that was free a moment ago and has no listener now (connections refused).
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a local port");
    let port = listener.local_addr().expect("the bound address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
