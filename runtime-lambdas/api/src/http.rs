//! API Gateway REST proxy events in and out: the caller's identity from the Cognito claims, JSON bodies.

use crate::error::ApiError;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::header::{HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, VARY};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Largest accepted request body, bytes (a shadow's desired state is limited to 8 KB anyway).
const MAX_BODY: usize = 16 * 1024;

/// What the operations need from a request.
#[derive(Debug)]
pub struct Request {
    pub user_id: String,
    pub email: Option<String>,
    pub method: String,
    pub path: String,
    /// The `Origin` header, for CORS.
    pub origin: Option<String>,
    /// The query string's parameters, every value of each (in the order API Gateway gives them).
    pub query: Vec<(String, String)>,
    body: Option<String>,
    base64: bool,
}

/// Why an event is not served.
#[derive(Debug)]
pub enum Refusal {
    /// Not an API Gateway REST proxy request at all (another invoker, or a crafted event): logged and counted.
    NotApiGateway(String),
    /// A request the API answers with an error (no user, ...).
    Request(ApiError),
}

/// The top level of a REST proxy request, exactly the documented fields: anything else (a rule's `node_id`, a
/// device payload's `binding_code`, ...) refuses the event.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)] // parsed for the check only; `ApiGatewayProxyRequest` reads the values
struct Envelope {
    resource: Option<Value>,
    path: Option<Value>,
    http_method: Value,
    headers: Option<Value>,
    multi_value_headers: Option<Value>,
    query_string_parameters: Option<Value>,
    multi_value_query_string_parameters: Option<Value>,
    path_parameters: Option<Value>,
    stage_variables: Option<Value>,
    request_context: Context,
    body: Option<Value>,
    is_base64_encoded: Option<Value>,
}

/// What every request API Gateway sends carries in `requestContext`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Context {
    request_id: String,
    api_id: String,
    stage: String,
    identity: Value,
}

impl Request {
    /// Parse a proxy event strictly; the user id is the `sub` claim of the Cognito user pool authorizer.
    pub fn parse(event: Value) -> Result<Request, Refusal> {
        if let Err(e) = Envelope::deserialize(&event) {
            return Err(Refusal::NotApiGateway(rainmaker_model::redact::parse_error(&e.to_string())));
        }
        let req: ApiGatewayProxyRequest = serde_json::from_value(event)
            .map_err(|e| Refusal::NotApiGateway(rainmaker_model::redact::parse_error(&e.to_string())))?;
        let claims = req.request_context.authorizer.fields.get("claims");
        let claim = |k: &str| claims.and_then(|c| c.get(k)).and_then(Value::as_str).filter(|s| !s.is_empty());
        let user_id = claim("sub")
            .ok_or_else(|| Refusal::Request(ApiError::forbidden("no authenticated user (missing `sub` claim)")))?;
        // `multiValueQueryStringParameters` holds every value of a repeated parameter; the single-value map only
        // the last one.
        let params = if req.multi_value_query_string_parameters.is_empty() {
            &req.query_string_parameters
        } else {
            &req.multi_value_query_string_parameters
        };
        let query = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Ok(Request {
            user_id: user_id.to_string(),
            // only an address Cognito verified is stored (an unverified one may not be the user's)
            email: claim("email").filter(|_| claim("email_verified") == Some("true")).map(str::to_string),
            method: req.http_method.as_str().to_string(),
            path: req.path.or(req.request_context.resource_path).unwrap_or_default(),
            origin: req.headers.get("origin").and_then(|v| v.to_str().ok()).map(str::to_string),
            query,
            body: req.body,
            base64: req.is_base64_encoded,
        })
    }

    /// The body as a JSON object.
    pub fn json_body(&self) -> Result<Map<String, Value>, ApiError> {
        if self.base64 {
            return Err(ApiError::bad_request("binary bodies are not accepted; send JSON"));
        }
        let body = self.body.as_deref().unwrap_or("");
        if body.len() > MAX_BODY {
            return Err(ApiError::bad_request(format!("body is larger than {MAX_BODY} bytes")));
        }
        match serde_json::from_str(body) {
            Ok(Value::Object(o)) => Ok(o),
            _ => Err(ApiError::bad_request("body must be a JSON object")),
        }
    }
}

/// A proxy response with a JSON body; `cors_origin` becomes `Access-Control-Allow-Origin`.
pub fn respond(status: u16, body: &Value, cors_origin: Option<&str>) -> Value {
    let mut resp = ApiGatewayProxyResponse::default();
    resp.status_code = i64::from(status);
    resp.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(origin) = cors_origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        resp.headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        resp.headers.insert(VARY, HeaderValue::from_static("Origin"));
    }
    resp.body = Some(Body::Text(body.to_string()));
    serde_json::to_value(resp).unwrap_or_else(|_| serde_json::json!({"statusCode": 500}))
}

/// A string field of a body, required and 1..=128 characters without control characters.
pub fn id_field(body: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match body.get(name) {
        Some(Value::String(s)) if valid_id(s) => Ok(s.clone()),
        _ => Err(ApiError::bad_request(format!("`{name}` must be a string of 1 to 128 characters"))),
    }
}

/// 1..=128 characters, none of them control characters or `/`.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 128 && !s.chars().any(|c| c.is_control() || c == '/')
}
