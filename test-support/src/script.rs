//! A scripted HTTP endpoint for replaying a whole command run against every service at once (`--endpoint-url`):
//! each request gets the first answer whose patterns it all contains (request line, headers as `name: value`
//! lines, body) and that is not used up yet, so one call can be answered differently on its first and later
//! polls, and pages told apart by their `NextToken`. An answer may quote what an earlier request sent: `${Field}`
//! in a body is the value of form field `Field` in the latest request that had one (the change set name a
//! CreateChangeSet chose, say), and `${t+N}` / `${t-N}` a time N seconds from the anchor (the server's start, or
//! the arrival of the first request matching [`ScriptServer::start_anchored`]'s pattern), formatted as the AWS APIs
//! do, so that events can be stamped relative to the operation they belong to. Every request is kept, with the
//! answer it got.

use crate::wire::{read_request, response};
use crate::Received;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Every one of these must occur in the request (line, headers or body).
    pub when: Vec<String>,
    /// How many requests it answers (`None`: every one that matches, for ever).
    pub times: Option<usize>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// Answers requests containing every pattern of `when` with HTTP 200 and `body`, for ever.
    pub fn new(when: &[&str], body: impl Into<String>) -> Answer {
        Answer {
            when: when.iter().map(|w| w.to_string()).collect(),
            times: None,
            status: 200,
            headers: vec![],
            body: body.into(),
        }
    }

    /// Only the next `n` matching requests.
    pub fn times(mut self, n: usize) -> Answer {
        self.times = Some(n);
        self
    }

    /// Only the next matching request.
    pub fn once(self) -> Answer {
        self.times(1)
    }

    pub fn status(mut self, status: u16) -> Answer {
        self.status = status;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    fn matches(&self, haystack: &str) -> bool {
        self.when.iter().all(|w| haystack.contains(w.as_str()))
    }
}

/// One request as received and the index (in the script) of the answer it got (`None`: nothing matched, HTTP 400).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub request: Received,
    pub answer: Option<usize>,
}

/// The server; answers until dropped (the listening thread ends with the test process).
pub struct ScriptServer {
    port: u16,
    log: Arc<Mutex<Vec<Exchange>>>,
    /// Per answer: how many more requests it may answer (`None`: unlimited).
    left: Arc<Mutex<Vec<Option<usize>>>>,
}

impl ScriptServer {
    /// Start answering on a free port of 127.0.0.1 from `script`; `${t±N}` counts from now.
    pub fn start(script: Vec<Answer>) -> ScriptServer {
        Self::start_anchored(script, None)
    }

    /// [`ScriptServer::start`], with `${t±N}` counting from the arrival of the first request containing `anchor`
    /// (from the server's start until then).
    pub fn start_anchored(script: Vec<Answer>, anchor: Option<&str>) -> ScriptServer {
        let anchor = anchor.map(str::to_string);
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a local port");
        let port = listener.local_addr().expect("the bound address").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let left = Arc::new(Mutex::new(script.iter().map(|a| a.times).collect::<Vec<_>>()));
        let (kept, counts) = (log.clone(), left.clone());
        std::thread::spawn(move || {
            let mut seen: Vec<(String, String)> = Vec::new();
            let (mut t0, mut anchored) = (SystemTime::now(), false);
            for stream in listener.incoming().flatten() {
                let Some(raw) = read_request(&stream) else { continue };
                let request = raw.received();
                let headers: String = request.headers.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
                let haystack = format!("{}\n{headers}\n{}", request.request_line, request.body);
                let form =
                    raw.header("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
                for (k, v) in request.body.split('&').filter_map(|kv| kv.split_once('=')).filter(|_| form) {
                    seen.retain(|(s, _)| s != k);
                    seen.push((k.to_string(), v.to_string()));
                }
                if !anchored && anchor.as_deref().is_some_and(|a| haystack.contains(a)) {
                    (t0, anchored) = (SystemTime::now(), true);
                }
                let mut left = counts.lock().unwrap_or_else(|p| p.into_inner());
                let found = (0..script.len()).find(|i| left[*i] != Some(0) && script[*i].matches(&haystack));
                let bytes = match found {
                    Some(i) => {
                        if let Some(n) = left[i].as_mut() {
                            *n -= 1;
                        }
                        let a = &script[i];
                        let headers: Vec<(&str, &str)> =
                            a.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                        let body = seen.iter().fold(a.body.clone(), |b, (k, v)| b.replace(&format!("${{{k}}}"), v));
                        let body = times(&body, t0);
                        response(a.status, "Scripted", &headers, &body)
                    }
                    // 400, not 500: the SDK retries a 500 for a minute before the test sees the gap in the script
                    None => response(400, "Not Scripted", &[], "not scripted"),
                };
                drop(left);
                kept.lock().unwrap_or_else(|p| p.into_inner()).push(Exchange { request, answer: found });
                let _ = (&stream).write_all(&bytes);
            }
        });
        ScriptServer { port, log, left }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every exchange so far, in the order the requests arrived.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The answers limited to some requests (`once`, `times`) that were not all used: a full run uses them up.
    pub fn left_over(&self) -> Vec<usize> {
        let left = self.left.lock().unwrap_or_else(|p| p.into_inner());
        (0..left.len()).filter(|i| left[*i].is_some_and(|n| n > 0)).collect()
    }
}

/// Replace each `${t+N}` / `${t-N}` with the time N seconds after / before `t0` (`2026-12-07T14:20:01.500Z`).
fn times(body: &str, t0: SystemTime) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(at) = rest.find("${t") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 3..];
        let end = tail.find('}').filter(|e| *e > 1 && matches!(tail.as_bytes()[0], b'+' | b'-'));
        let secs = end.and_then(|e| tail[1..e].parse::<u64>().ok().map(|n| (e, n)));
        match secs {
            Some((e, n)) => {
                let d = Duration::from_secs(n);
                let t = if tail.starts_with('+') { t0 + d } else { t0 - d };
                let t = aws_sdk_dynamodb::primitives::DateTime::from(t);
                out.push_str(&t.fmt(aws_sdk_dynamodb::primitives::DateTimeFormat::DateTime).unwrap_or_default());
                rest = &tail[e + 1..];
            }
            None => {
                out.push_str("${t");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_counted_from_the_anchor() {
        let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_765_117_200);
        assert_eq!(
            super::times("<T>${t+2}</T><T>${t-30}</T>${ChangeSetName}${t}", t0),
            "<T>2025-12-07T14:20:02Z</T><T>2025-12-07T14:19:30Z</T>${ChangeSetName}${t}"
        );
    }
}
