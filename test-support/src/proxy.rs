//! A forwarding proxy in front of moto: a fixed delay per call (so a benchmark measures waiting on AWS, not moto's
//! CPU), response rewrites for what moto never answers (a change set's `Replacement: True`, say), and injected
//! faults ([`crate::Faults`]), with every request and every fault kept. One request per connection
//! (`Connection: close` both ways), like [`crate::ReplyServer`].

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

/// A proxy on 127.0.0.1 forwarding to `upstream`, until the process ends.
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

struct Shared {
    upstream: SocketAddr,
    delay: Duration,
    rewrite: Option<Rewrite>,
    faults: Option<Faults>,
    arrivals: AtomicU64,
    /// Set once a [`Fault::Stall`]'s request has been done by moto.
    stalled: AtomicBool,
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
        Self::spawn(Shared {
            upstream,
            delay,
            rewrite,
            faults: None,
            arrivals: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            targeted: Mutex::default(),
            tokens: Mutex::default(),
            received: Mutex::default(),
            injected: Mutex::default(),
        })
    }

    /// A proxy in front of a [`crate::MotoServer`].
    pub fn moto(moto: &crate::MotoServer, delay: Duration, rewrite: Option<Rewrite>) -> Proxy {
        Proxy::start(moto.addr(), delay, rewrite)
    }

    /// A proxy in front of a [`crate::MotoServer`] that injects `faults` (no delay, no rewrite).
    pub fn faulty(moto: &crate::MotoServer, faults: Faults) -> Proxy {
        Self::spawn(Shared {
            upstream: moto.addr(),
            delay: Duration::ZERO,
            rewrite: None,
            targeted: Mutex::new(faults.targeted.clone()),
            faults: Some(faults),
            arrivals: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            tokens: Mutex::default(),
            received: Mutex::default(),
            injected: Mutex::default(),
        })
    }

    fn spawn(shared: Shared) -> Proxy {
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

    /// Every request that reached moto so far (a dropped one did not; one whose answer was lost did).
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
                    return wait_for_the_client_to_go(&stream);
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

    fn forward(&self, req: &RawRequest) -> Vec<u8> {
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

/// Keep the connection open, unanswered, until the client closes it (killed, say), at most 5 minutes.
fn wait_for_the_client_to_go(stream: &TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(300)));
    let mut byte = [0u8; 1];
    while matches!((&*stream).read(&mut byte), Ok(n) if n > 0) {}
    hang_up(stream);
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
