//! Faults a [`crate::Proxy`] injects in front of moto, the way AWS and networks fail: HTTP 503, throttling in each
//! service's own protocol shape, a connection dropped before the call reaches the service, and an answer lost
//! after the service did the work. Which request gets which fault is decided by a seed, so a failing run can be
//! repeated.

use crate::wire::{response, RawRequest};

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `503 Service Unavailable` with an empty body; the request does not reach moto.
    Unavailable,
    /// The service's throttling error in its protocol's shape (query XML, JSON, REST-JSON, S3 `SlowDown`); the
    /// request does not reach moto.
    Throttle,
    /// The connection is closed before the request is forwarded: nothing reached moto.
    Drop,
    /// The request is forwarded and moto does the work, then the connection is closed without an answer.
    LoseResponse,
    /// The request is forwarded and moto does the work, then no answer comes and the connection stays open until the
    /// client goes away (at most 5 minutes) or the test calls [`crate::Proxy::release`]: the moment after a call, for a
    /// test that kills or interrupts the client there. An error answer from moto is passed on instead, and the
    /// client's retry of the same request is the one stalled.
    Stall,
}

impl Fault {
    /// Every kind, in a fixed order.
    pub const ALL: [Fault; 4] = [Fault::Unavailable, Fault::Throttle, Fault::Drop, Fault::LoseResponse];
}

/// Which requests fail: `percent` of them (0-100), with kinds drawn from `kinds`, decided by `seed` and the
/// request's arrival number; and, once each, the first request whose [`call_name`] contains a targeted call pattern
/// (`cloudformation ExecuteChangeSet`, say) and whose body contains its body pattern.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub seed: u64,
    pub percent: u64,
    pub kinds: Vec<Fault>,
    pub targeted: Vec<Targeted>,
}

impl Faults {
    /// `percent` % of requests, every kind of fault.
    pub fn every_kind(seed: u64, percent: u64) -> Faults {
        Faults { seed, percent, kinds: Fault::ALL.to_vec(), targeted: Vec::new() }
    }

    /// These faults plus `fault` on the first call whose name contains `call`.
    pub fn and_first(self, call: &str, fault: Fault) -> Faults {
        self.and_first_with(call, "", fault)
    }

    /// These faults plus `fault` on the first call whose name contains `call` and whose body contains `body`.
    pub fn and_first_with(mut self, call: &str, body: &str, fault: Fault) -> Faults {
        self.targeted.push(Targeted { call: call.to_string(), body: body.to_string(), fault });
        self
    }

    /// The fault for the `n`-th request (0-based), if any.
    pub fn pick(&self, n: u64) -> Option<Fault> {
        if self.kinds.is_empty() {
            return None;
        }
        let r = splitmix64(self.seed ^ splitmix64(n));
        ((r % 100) < self.percent).then(|| self.kinds[((r >> 32) % self.kinds.len() as u64) as usize])
    }
}

/// A fault for the first request matching both patterns.
#[derive(Debug, Clone)]
pub struct Targeted {
    pub call: String,
    pub body: String,
    pub fault: Fault,
}

impl Targeted {
    /// Whether the request named `call` with `body` is the one.
    pub fn matches(&self, call: &str, body: &[u8]) -> bool {
        call.contains(self.call.as_str()) && String::from_utf8_lossy(body).contains(self.body.as_str())
    }
}

/// One fault as injected: the request it hit and what was done.
#[derive(Debug, Clone)]
pub struct Injected {
    pub fault: Fault,
    /// `cloudformation CreateChangeSet`, `s3 PUT /bucket/key`, ...
    pub call: String,
}

/// The throttling error of `req`'s service in its protocol's shape (the SDK's retry classifier reads the code).
pub fn throttle_answer(req: &RawRequest) -> Vec<u8> {
    let json_target = req.header("x-amz-target").is_some();
    let form = req.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    match req.service() {
        Some("s3") => response(
            503,
            "Slow Down",
            &[("Content-Type", "application/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your \
             request rate.</Message><RequestId>FAULT</RequestId></Error>",
        ),
        _ if json_target => response(
            400,
            "Bad Request",
            &[("Content-Type", "application/x-amz-json-1.0")],
            "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}",
        ),
        _ if form => response(
            400,
            "Bad Request",
            &[("Content-Type", "text/xml")],
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>\
             </Error><RequestId>FAULT</RequestId></ErrorResponse>",
        ),
        // REST-JSON (IoT, Lambda, API Gateway, IoT data): the code travels in x-amzn-ErrorType
        _ => response(
            429,
            "Too Many Requests",
            &[("Content-Type", "application/json"), ("x-amzn-ErrorType", "ThrottlingException")],
            "{\"message\":\"Rate exceeded\"}",
        ),
    }
}

/// `<service> <operation or method path>` of a request, for the record of injected faults.
pub fn call_name(req: &RawRequest) -> String {
    let service = req.service().unwrap_or("unsigned");
    if let Some(t) = req.header("x-amz-target") {
        return format!("{service} {}", t.rsplit('.').next().unwrap_or(t));
    }
    let body = String::from_utf8_lossy(&req.body);
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return format!("{service} {action}");
    }
    let mut parts = req.line.split(' ');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default().split('?').next().unwrap_or_default();
    format!("{service} {method} {path}")
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], body: &str) -> RawRequest {
        RawRequest {
            line: "POST /things/x?y=1 HTTP/1.1".into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/SERVICE/aws4_request, SignedHeaders=host";

    #[test]
    fn the_share_of_faults_follows_the_percentage_and_the_seed() {
        let f = Faults::every_kind(7, 10);
        let hits = (0..10_000).filter(|n| f.pick(*n).is_some()).count();
        assert!((900..1100).contains(&hits), "{hits} of 10000 at 10 %");
        assert_eq!((0..100).map(|n| f.pick(n)).collect::<Vec<_>>(), (0..100).map(|n| f.pick(n)).collect::<Vec<_>>());
        let other = Faults::every_kind(8, 10);
        assert_ne!(
            (0..200).map(|n| f.pick(n)).collect::<Vec<_>>(),
            (0..200).map(|n| other.pick(n)).collect::<Vec<_>>()
        );
        for kind in Fault::ALL {
            assert!((0..10_000).any(|n| f.pick(n) == Some(kind)), "{kind:?} is drawn");
        }
        assert_eq!((0..1000).filter(|n| Faults::every_kind(7, 0).pick(*n).is_some()).count(), 0);
    }

    #[test]
    fn throttling_takes_each_protocols_shape() {
        let auth = |s: &str| AUTH.replace("SERVICE", s);
        let s3 = String::from_utf8(throttle_answer(&req(&[("authorization", &auth("s3"))], ""))).unwrap();
        assert!(s3.starts_with("HTTP/1.1 503") && s3.contains("<Code>SlowDown</Code>"), "{s3}");
        let json = throttle_answer(&req(
            &[("authorization", &auth("dynamodb")), ("x-amz-target", "DynamoDB_20120810.Query")],
            "{}",
        ));
        let json = String::from_utf8(json).unwrap();
        assert!(json.starts_with("HTTP/1.1 400") && json.contains("\"__type\":\"ThrottlingException\""), "{json}");
        let query = throttle_answer(&req(
            &[("authorization", &auth("cloudformation")), ("content-type", "application/x-www-form-urlencoded")],
            "Action=DescribeStacks",
        ));
        let query = String::from_utf8(query).unwrap();
        assert!(query.starts_with("HTTP/1.1 400") && query.contains("<Code>Throttling</Code>"), "{query}");
        let rest = String::from_utf8(throttle_answer(&req(&[("authorization", &auth("iot"))], ""))).unwrap();
        assert!(rest.starts_with("HTTP/1.1 429") && rest.contains("x-amzn-ErrorType: ThrottlingException"), "{rest}");
    }

    #[test]
    fn calls_are_named_by_service_and_operation() {
        let auth = |s: &str| AUTH.replace("SERVICE", s);
        let q = req(&[("authorization", &auth("cloudformation"))], "Action=CreateChangeSet&Version=2010-05-15");
        assert_eq!(call_name(&q), "cloudformation CreateChangeSet");
        let j = req(&[("authorization", &auth("dynamodb")), ("x-amz-target", "DynamoDB_20120810.PutItem")], "{}");
        assert_eq!(call_name(&j), "dynamodb PutItem");
        assert_eq!(call_name(&req(&[("authorization", &auth("iot"))], "")), "iot POST /things/x");
    }
}
