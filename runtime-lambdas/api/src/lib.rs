//! api: the user REST API (API Gateway REST proxy events with Cognito claims) and the device side of binding.
//!
//! One function receives two kinds of events and tells them apart by shape ([`Api::handle`]):
//! - an API Gateway proxy request (has `httpMethod`) → routed to the REST operations of the contract;
//! - a binding confirmation from the binding topic rule (`{"binding_code", "node_id", "received_at"}`).
//!
//! **Invariant:** every node operation first reads the caller's `user_nodes` item; a user who neither owns nor
//! was shared a node gets `NOT_FOUND` (the node's existence is not revealed), a shared user who tries an
//! owner-only operation gets `FORBIDDEN`.

mod authz;
mod binding;
mod config;
mod error;
mod http;
mod nodes;
mod params;
mod route;
mod shares;

pub use binding::{generate_code, BindingOutcome};
pub use config::{iot_data_endpoint_url, Settings};
pub use error::ApiError;
pub use route::{percent_decode, route, Route};

use aws_config::SdkConfig;
use rainmaker_model::contract::ENV_IOT_DATA_ENDPOINT;
use rainmaker_model::{ModelError, TableNames};
use serde_json::Value;

/// Failures that make the invocation fail (only for binding events, so Lambda retries them).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("binding confirmation failed, will be retried: {0}")]
    Binding(String),
}

/// The function: clients, table names and settings.
pub struct Api {
    pub(crate) ddb: aws_sdk_dynamodb::Client,
    pub(crate) iot: aws_sdk_iotdataplane::Client,
    pub(crate) tables: TableNames,
    pub(crate) settings: Settings,
}

impl Api {
    /// Configuration from the environment (`*_TABLE`, `IOT_DATA_ENDPOINT`, `BINDING_CODE_TTL_SECONDS`,
    /// `SHARING_ENABLED`, the AWS SDK's variables).
    pub async fn from_env() -> Result<Self, ModelError> {
        let sdk = aws_config::load_from_env().await;
        let lookup = |k: &str| std::env::var(k).ok();
        let iot = lookup(ENV_IOT_DATA_ENDPOINT);
        Ok(Self::new(&sdk, TableNames::from_lookup(lookup)?, Settings::from_lookup(lookup)?, iot.as_deref()))
    }

    /// A function with explicit configuration; `iot_data_endpoint` is the IoT data host name (see
    /// [`iot_data_endpoint_url`]).
    pub fn new(sdk: &SdkConfig, tables: TableNames, settings: Settings, iot_data_endpoint: Option<&str>) -> Self {
        let mut iot = aws_sdk_iotdataplane::config::Builder::from(sdk);
        if let Some(url) = iot_data_endpoint_url(sdk.endpoint_url(), iot_data_endpoint) {
            iot = iot.endpoint_url(url);
        }
        Api {
            ddb: aws_sdk_dynamodb::Client::new(sdk),
            iot: aws_sdk_iotdataplane::Client::from_conf(iot.build()),
            tables,
            settings,
        }
    }

    /// Handle one event of either kind.
    pub async fn handle(&self, event: Value) -> Result<Value, HandlerError> {
        if event.get("httpMethod").is_some() {
            return Ok(self.handle_http(event).await);
        }
        if event.get("binding_code").is_some() {
            let outcome = self.confirm_binding(&event).await.map_err(|e| HandlerError::Binding(e.message))?;
            return Ok(serde_json::to_value(outcome).unwrap_or(Value::Null));
        }
        tracing::warn!("unrecognised event: neither an API Gateway request nor a binding confirmation");
        Ok(serde_json::json!({"status": "ignored", "reason": "unrecognised event"}))
    }

    async fn handle_http(&self, event: Value) -> Value {
        let (result, origin) = match http::Request::parse(event) {
            Ok(req) => (self.dispatch(&req).await, req.origin),
            Err(e) => (Err(e), None),
        };
        let cors = self.settings.cors_origin(origin.as_deref());
        match result {
            Ok((status, body)) => http::respond(status, &body, cors.as_deref()),
            Err(e) => http::respond(e.code.http_status(), &e.body(), cors.as_deref()),
        }
    }

    async fn dispatch(&self, req: &http::Request) -> Result<(u16, Value), ApiError> {
        let user = req.user_id.as_str();
        match route(&req.method, &req.path)? {
            Route::ListNodes => self.list_nodes(user).await,
            Route::GetNode(node) => self.get_node(user, &node).await,
            Route::GetParams(node) => self.get_params(user, &node).await,
            Route::PutParams(node) => self.put_params(user, &node, req.json_body()?).await,
            Route::Bind => self.start_binding(user, req.email.as_deref(), req.json_body()?).await,
            Route::Unbind(node) => self.unbind(user, &node).await,
            Route::Share(node) => self.share(user, &node, req.json_body()?).await,
            Route::Unshare { node_id, user_id } => self.unshare(user, &node_id, &user_id).await,
        }
    }
}
