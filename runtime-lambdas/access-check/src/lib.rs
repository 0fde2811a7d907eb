//! A call-recording HTTP client for the AWS SDK, and the comparison of recorded DynamoDB calls with the
//! declarations in `rainmaker_model::access` (what `estimate` prices).
//!
//! [`Recorder`] wraps the SDK's HTTP client: every request whose `X-Amz-Target` is a DynamoDB operation is kept
//! (target and JSON body) before it goes on to moto unchanged. [`calls`] turns the recorded requests into
//! [`Call`]s (a `TransactWriteItems` into one call per item, a `BatchGetItem` into one per key), in the same shape
//! as a declared [`rainmaker_model::access::Access`], so a test can compare them as multisets.
//!
//! The recorder also keeps every other request (any service: the SigV4 credential scope names it), which
//! [`iam`] turns into IAM actions to compare with the role a rendered template grants each function.

pub mod iam;

pub mod log_volume;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use rainmaker_model::access::Access;
use rainmaker_model::{Table, TableNames};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// One request as it went on the wire.
#[derive(Debug, Clone)]
pub struct Request {
    /// The SigV4 signing name from the `Authorization` header's credential scope (`dynamodb`, `iotdata`, ...).
    pub service: String,
    /// The `X-Amz-Target` header (JSON protocols), if any.
    pub target: Option<String>,
    pub method: String,
    /// The request's path (without the query).
    pub path: String,
    /// The JSON body (`Null` when the body is not JSON).
    pub body: Value,
}

impl Request {
    /// The DynamoDB operation, if this is a DynamoDB request.
    pub fn dynamodb_op(&self) -> Option<&str> {
        self.target.as_deref()?.strip_prefix("DynamoDB_20120810.")
    }
}

/// Recorded requests.
pub type Log = Arc<Mutex<Vec<Request>>>;

/// An HTTP client that records DynamoDB requests and forwards everything to `inner`.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: SharedHttpClient,
    log: Log,
}

impl Recorder {
    pub fn new(inner: SharedHttpClient) -> Self {
        Recorder { inner, log: Log::default() }
    }

    /// The shared log (clear it between events with [`Recorder::take`]).
    pub fn log(&self) -> Log {
        self.log.clone()
    }

    /// The DynamoDB requests recorded so far as (operation, JSON body), emptying the log (of every service).
    pub fn take(&self) -> Vec<(String, Value)> {
        self.take_requests()
            .into_iter()
            .filter_map(|r| r.dynamodb_op().map(str::to_string).map(|op| (op, r.body)))
            .collect()
    }

    /// Every request recorded so far, emptying the log.
    pub fn take_requests(&self) -> Vec<Request> {
        std::mem::take(&mut *self.log.lock().expect("recorder log poisoned"))
    }

    /// `sdk` (pointing at a plain-HTTP endpoint such as moto) with a recorder as its HTTP client.
    pub fn wrap(sdk: &aws_config::SdkConfig) -> (aws_config::SdkConfig, Recorder) {
        let inner = sdk.http_client().unwrap_or_else(|| aws_smithy_http_client::Builder::new().build_http());
        let rec = Recorder::new(inner);
        (sdk.to_builder().http_client(rec.clone()).build(), rec)
    }
}

impl HttpClient for Recorder {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            inner: self.inner.http_connector(settings, components),
            log: self.log.clone(),
        })
    }
}

#[derive(Debug)]
struct RecordingConnector {
    inner: SharedHttpConnector,
    log: Log,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let headers = request.headers();
        let service = headers.get("authorization").and_then(signing_name).unwrap_or("unsigned").to_string();
        let target = headers.get("x-amz-target").map(str::to_string);
        let body = request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        let uri = request.uri();
        let path = uri.split_once("://").map_or(uri, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
        let path = path.split('?').next().unwrap_or(path).to_string();
        let method = request.method().to_string();
        self.log.lock().expect("recorder log poisoned").push(Request { service, target, method, path, body });
        self.inner.call(request)
    }
}

/// The service of a SigV4 `Authorization` header: `Credential=KEY/DATE/REGION/SERVICE/aws4_request`.
fn signing_name(auth: &str) -> Option<&str> {
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    scope.split('/').nth(3)
}

/// One DynamoDB item call as the wire shows it: the observable part of an [`Access`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Call {
    pub op: String,
    pub table: String,
    pub index: Option<String>,
    pub strong: bool,
    pub conditional: bool,
    pub transaction: bool,
}

/// The call a declared access makes.
pub fn expected(a: &Access) -> Call {
    Call {
        op: format!("{:?}", a.op),
        table: format!("{:?}", a.table),
        index: a.index.map(str::to_string),
        strong: a.strong,
        conditional: a.conditional,
        transaction: a.transaction,
    }
}

fn table_of(name: &str, tables: &TableNames) -> String {
    Table::ALL
        .iter()
        .find(|t| tables.get(**t) == name)
        .map_or_else(|| format!("unknown table {name}"), |t| format!("{t:?}"))
}

fn has(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

/// The recorded requests as item calls.
pub fn calls(recorded: &[(String, Value)], tables: &TableNames) -> Vec<Call> {
    let mut out = Vec::new();
    for (op, body) in recorded {
        let strong = body.get("ConsistentRead").and_then(Value::as_bool).unwrap_or(false);
        let table = |v: &Value| table_of(v.get("TableName").and_then(Value::as_str).unwrap_or(""), tables);
        let one = |op: &str, v: &Value, strong: bool, transaction: bool| Call {
            op: op.to_string(),
            table: table(v),
            index: v.get("IndexName").and_then(Value::as_str).map(str::to_string),
            strong,
            conditional: has(v, "ConditionExpression"),
            transaction,
        };
        match op.as_str() {
            "TransactWriteItems" => {
                for item in body.get("TransactItems").and_then(Value::as_array).into_iter().flatten() {
                    for (kind, name) in [("Put", "PutItem"), ("Update", "UpdateItem"), ("Delete", "DeleteItem")] {
                        if let Some(v) = item.get(kind) {
                            out.push(one(name, v, false, true));
                        }
                    }
                    if item.get("ConditionCheck").is_some() {
                        out.push(one("ConditionCheck", &item["ConditionCheck"], false, true));
                    }
                }
            }
            "BatchGetItem" => {
                for (name, req) in body.get("RequestItems").and_then(Value::as_object).into_iter().flatten() {
                    let strong = req.get("ConsistentRead").and_then(Value::as_bool).unwrap_or(false);
                    for _ in req.get("Keys").and_then(Value::as_array).into_iter().flatten() {
                        out.push(Call {
                            op: "BatchGetItem".into(),
                            table: table_of(name, tables),
                            index: None,
                            strong,
                            conditional: false,
                            transaction: false,
                        });
                    }
                }
            }
            _ => out.push(one(op, body, strong, false)),
        }
    }
    out.sort();
    out
}

/// The declared calls for one event with `readings` readings (per-reading accesses repeat), sorted.
pub fn declared_calls(accesses: &[Access], readings: usize) -> Vec<Call> {
    declared_calls_for(accesses, readings, 1)
}

/// The declared calls for one event with `readings` readings making `items` items of the batched or the packed
/// layout (per-reading accesses repeat per reading, per-node and per-packed-item ones per item), sorted.
pub fn declared_calls_for(accesses: &[Access], readings: usize, items: usize) -> Vec<Call> {
    let times = |a: &Access| {
        if a.per_reading {
            readings
        } else if a.per_node || a.per_packed_item {
            items
        } else {
            1
        }
    };
    let mut out: Vec<Call> = accesses.iter().flat_map(|a| std::iter::repeat_n(expected(a), times(a))).collect();
    out.sort();
    out
}
