//! A forwarding proxy in front of moto: a fixed delay per call (so a benchmark measures waiting on AWS, not moto's
//! CPU), response rewrites for what moto never answers (a change set's `Replacement: True`, say), whole answers for
//! calls moto cannot make (an AssumeRole refused, drift detection: [`Respond`]), and injected faults
//! ([`crate::Faults`]), with every request and every fault kept. One request per connection (`Connection: close`
//! both ways), like [`crate::ReplyServer`].

use crate::faults::{call_name, throttle_answer, Fault, Faults, Injected, Targeted};
use crate::wire::{self, RawRequest};
use crate::Received;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Rewrites a response body: given the request and moto's body, the body to send instead.
pub type Rewrite = Arc<dyn Fn(&Received, &str) -> String + Send + Sync>;

/// Answers a request in moto's place: `Some` is sent back and the request never reaches moto (it is still kept in
/// [`Proxy::received`]); `None` forwards it.
pub type Respond = Arc<dyn Fn(&Received) -> Option<Canned> + Send + Sync>;

/// A whole HTTP answer given by the proxy itself.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Canned {
    /// An XML answer (`text/xml`, as the query-protocol services send): CloudFormation, STS, ...
    pub fn xml(status: u16, body: impl Into<String>) -> Canned {
        Canned { status, content_type: "text/xml".into(), body: body.into() }
    }
}

/// Everything a proxy can do besides forwarding, for [`Proxy::with`].
#[derive(Clone, Default)]
pub struct Hooks {
    pub delay: Duration,
    pub rewrite: Option<Rewrite>,
    pub answer: Option<Respond>,
    pub faults: Option<Faults>,
}

/// A proxy on 127.0.0.1 forwarding to `upstream`, until the process ends.
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

struct Shared {
    upstream: SocketAddr,
    delay: Duration,
    rewrite: Option<Rewrite>,
    answer: Option<Respond>,
    faults: Option<Faults>,
    arrivals: AtomicU64,
    /// Set once a [`Fault::Stall`]'s request has been done by moto.
    stalled: AtomicBool,
    /// Set by [`Proxy::release`]: stalled answers are sent after all.
    released: AtomicBool,
    /// The targeted faults not yet injected.
    targeted: Mutex<Vec<Targeted>>,
    /// The answers of calls that carried an idempotency token, by operation and token (see [`idempotency_key`]).
    tokens: Mutex<HashMap<String, Vec<u8>>>,
    received: Mutex<Vec<Received>>,
    injected: Mutex<Vec<Injected>>,
}

impl Proxy {
    /// Forward every request to `upstream` after `delay`, passing moto's body through `rewrite` (if any).
    pub fn start(upstream: SocketAddr, delay: Duration, rewrite: Option<Rewrite>) -> Proxy {
        Self::spawn(upstream, Hooks { delay, rewrite, ..Hooks::default() })
    }

    /// A proxy in front of a [`crate::MotoServer`] with any of the hooks at once.
    pub fn with(moto: &crate::MotoServer, hooks: Hooks) -> Proxy {
        Self::spawn(moto.addr(), hooks)
    }

    /// A proxy in front of a [`crate::MotoServer`].
    pub fn moto(moto: &crate::MotoServer, delay: Duration, rewrite: Option<Rewrite>) -> Proxy {
        Proxy::start(moto.addr(), delay, rewrite)
    }

    /// A proxy in front of a [`crate::MotoServer`] that injects `faults` (no delay, no rewrite).
    pub fn faulty(moto: &crate::MotoServer, faults: Faults) -> Proxy {
        Self::spawn(moto.addr(), Hooks { faults: Some(faults), ..Hooks::default() })
    }

    fn spawn(upstream: SocketAddr, hooks: Hooks) -> Proxy {
        let shared = Shared {
            upstream,
            delay: hooks.delay,
            rewrite: hooks.rewrite,
            answer: hooks.answer,
            targeted: Mutex::new(hooks.faults.as_ref().map(|f| f.targeted.clone()).unwrap_or_default()),
            faults: hooks.faults,
            arrivals: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            released: AtomicBool::new(false),
            tokens: Mutex::default(),
            received: Mutex::default(),
            injected: Mutex::default(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a local port");
        let port = listener.local_addr().expect("the bound address").port();
        let shared = Arc::new(shared);
        let s = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || s.serve(stream));
            }
        });
        Proxy { port, shared }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Let every [`Fault::Stall`]ed call (and any later one) have its answer after all: the client goes on.
    pub fn release(&self) {
        self.shared.released.store(true, Ordering::SeqCst);
    }

    /// Every request that reached moto so far (a dropped one did not; one whose answer was lost did), and every
    /// one answered by the [`Respond`] hook.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How many requests arrived (forwarded or faulted): with the client's own count of calls, the retries.
    pub fn arrivals(&self) -> u64 {
        self.shared.arrivals.load(Ordering::SeqCst)
    }

    /// Whether a [`Fault::Stall`]ed request has been done by moto (its client now waits for an answer that never
    /// comes).
    pub fn stalled(&self) -> bool {
        self.shared.stalled.load(Ordering::SeqCst)
    }

    /// Every fault injected so far, in order.
    pub fn injected(&self) -> Vec<Injected> {
        self.shared.injected.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Shared {
    fn serve(&self, stream: TcpStream) {
        let Some(req) = wire::read_request(&stream) else { return };
        std::thread::sleep(self.delay);
        let n = self.arrivals.fetch_add(1, Ordering::SeqCst);
        let call = call_name(&req);
        let targeted = {
            let mut t = self.targeted.lock().unwrap_or_else(|p| p.into_inner());
            t.iter().position(|x| x.matches(&call, &req.body)).map(|i| t.remove(i).fault)
        };
        let fault = targeted.or_else(|| self.faults.as_ref().and_then(|f| f.pick(n)));
        if let Some(fault) = fault {
            self.injected.lock().unwrap_or_else(|p| p.into_inner()).push(Injected { fault, call });
        }
        let answer = match fault {
            Some(Fault::Unavailable) => wire::response(503, "Service Unavailable", &[], ""),
            Some(Fault::Throttle) => throttle_answer(&req),
            Some(Fault::Drop) => return hang_up(&stream),
            Some(Fault::LoseResponse) => {
                let _ = self.forward(&req);
                return hang_up(&stream);
            }
            Some(Fault::Stall) => {
                let answer = self.forward(&req);
                if answer.starts_with(b"HTTP/1.1 2") {
                    self.stalled.store(true, Ordering::SeqCst);
                    if self.hold(&stream) {
                        let _ = (&stream).write_all(&answer);
                    }
                    return hang_up(&stream);
                }
                // not done (moto answered an error the client will retry): the next matching call is the one
                let t = Targeted {
                    call: String::new(),
                    body: String::from_utf8_lossy(&req.body).into_owned(),
                    fault: Fault::Stall,
                };
                self.targeted.lock().unwrap_or_else(|p| p.into_inner()).push(t);
                answer
            }
            None => self.forward(&req),
        };
        let _ = (&stream).write_all(&answer);
    }

    /// Hold a stalled answer until [`Proxy::release`] (true: send it) or until the client goes (killed, say; at
    /// most 5 minutes).
    fn hold(&self, stream: &TcpStream) -> bool {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
        let until = std::time::Instant::now() + Duration::from_secs(300);
        let mut byte = [0u8; 1];
        while std::time::Instant::now() < until {
            if self.released.load(Ordering::SeqCst) {
                return true;
            }
            match (&*stream).read(&mut byte) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => return false,
            }
        }
        false
    }

    fn forward(&self, req: &RawRequest) -> Vec<u8> {
        if let Some(c) = self.answer.as_ref().and_then(|a| a(&req.received())) {
            self.received.lock().unwrap_or_else(|p| p.into_inner()).push(req.received());
            let headers = [("Content-Type", c.content_type.as_str())];
            return wire::response(c.status, "Canned", &headers, &c.body);
        }
        let token = idempotency_key(req);
        if let Some(first) =
            token.as_ref().and_then(|k| self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(k).cloned())
        {
            return first;
        }
        let answer = match wire::forward(self.upstream, req) {
            Ok(a) => a,
            Err(e) => return wire::bad_gateway("proxy", &e),
        };
        if let Some(k) = token.filter(|_| answer.starts_with(b"HTTP/1.1 2")) {
            self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(k, answer.clone());
        }
        let received = req.received();
        self.received.lock().unwrap_or_else(|p| p.into_inner()).push(received.clone());
        match &self.rewrite {
            Some(rewrite) => wire::replace_body(&answer, rewrite(&received, &wire::body_text(&answer)).as_bytes()),
            None => answer,
        }
    }
}

/// Close the connection without an answer (the client sees the connection end mid-call).
fn hang_up(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Both);
}

/// CloudFormation answers a repeated call that carries the same idempotency token (`ClientToken` on
/// `CreateChangeSet`, `ClientRequestToken` on `ExecuteChangeSet`, `DeleteStack`, ...) with the first call's result
/// instead of doing the work again; moto ignores the tokens (a retried `CreateChangeSet` of a new stack makes a
/// second stack of the same name there). So the proxy keeps that promise for moto: the key of such a call is its
/// action, stack and token, and a repeated key is answered from the first answer.
fn idempotency_key(req: &RawRequest) -> Option<String> {
    if req.service() != Some("cloudformation") {
        return None;
    }
    let body = String::from_utf8_lossy(&req.body);
    let field = |k: &str| body.split('&').find_map(|kv| kv.strip_prefix(k)).map(str::to_string);
    let token = field("ClientToken=").or_else(|| field("ClientRequestToken="))?;
    Some(format!("{} {} {token}", field("Action=")?, field("StackName=").unwrap_or_default()))
}
