//! api: the user REST API; its one event is an API Gateway REST proxy request with Cognito claims.
//!
//! Only API Gateway may invoke it (its one Lambda permission names the REST API's stage). [`Api::handle`] parses
//! the event strictly (`http::Request::parse`): a top-level field API Gateway does not send, or a missing
//! `requestContext` of a real request, is refused with 400, logged and counted (`EventRefused`), never routed.
//! The device side of binding is another function (binding-confirm).
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
mod readings;
mod route;
mod shares;

pub use binding::generate_code;
pub use config::{iot_data_endpoint_url, Settings};
pub use error::ApiError;
pub use readings::{node_readings_in, range as readings_range, DEFAULT_WINDOW_MS, MAX_DEVICE_LAG_MS, MAX_WINDOW_MS};
pub use route::{percent_decode, route, Route};

use aws_config::SdkConfig;
use rainmaker_model::contract::ENV_IOT_DATA_ENDPOINT;
use rainmaker_model::{emf, ModelError, TableNames};
use serde_json::Value;

/// The function: clients, table names and settings.
pub struct Api {
    pub(crate) ddb: aws_sdk_dynamodb::Client,
    pub(crate) iot: aws_sdk_iotdataplane::Client,
    pub(crate) tables: TableNames,
    pub(crate) settings: Settings,
    metrics: bool,
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
            metrics: true,
        }
    }

    /// Do not print the embedded-metric lines (tests and benches; the responses still say what happened).
    pub fn without_metrics(mut self) -> Self {
        self.metrics = false;
        self
    }

    /// Handle one API Gateway proxy request; the answer is always a proxy response.
    pub async fn handle(&self, event: Value) -> Value {
        let (result, origin) = match http::Request::parse(event) {
            Ok(req) => (self.dispatch(&req).await, req.origin),
            Err(http::Refusal::NotApiGateway(reason)) => {
                tracing::warn!(reason, "event refused: not an API Gateway proxy request");
                if self.metrics {
                    emf::emit("api", &[("EventRefused", 1)]);
                }
                (Err(ApiError::bad_request(format!("not an API Gateway proxy request: {reason}"))), None)
            }
            Err(http::Refusal::Request(e)) => (Err(e), None),
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
            Route::GetReadings(node) => self.get_readings(user, &node, &req.query).await,
            Route::PutParams(node) => self.put_params(user, &node, req.json_body()?).await,
            Route::Bind => self.start_binding(user, req.email.as_deref(), req.json_body()?).await,
            Route::Unbind(node) => self.unbind(user, &node).await,
            Route::Share(node) => self.share(user, &node, req.json_body()?).await,
            Route::Unshare { node_id, user_id } => self.unshare(user, &node_id, &user_id).await,
        }
    }
}
