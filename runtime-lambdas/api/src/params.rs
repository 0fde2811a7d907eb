//! `GET`/`PUT /nodes/{node_id}/params`: the device shadow (classic, unnamed) through the IoT data plane.

use crate::error::{sdk, ApiError};
use crate::Api;
use aws_sdk_iotdataplane::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iotdataplane::operation::update_thing_shadow::UpdateThingShadowError;
use aws_sdk_iotdataplane::primitives::Blob;
use serde_json::{json, Map, Value};

fn state_part(doc: &Value, part: &str) -> Value {
    doc.get("state").and_then(|s| s.get(part)).cloned().unwrap_or_else(|| json!({}))
}

impl Api {
    pub(crate) async fn get_params(&self, user_id: &str, node_id: &str) -> Result<(u16, Value), ApiError> {
        self.require_access(user_id, node_id).await?;
        let out = match self.iot.get_thing_shadow().thing_name(node_id).send().await {
            Ok(out) => out,
            Err(SdkError::ServiceError(e)) if e.err().is_resource_not_found_exception() => {
                return Ok((200, json!({"node_id": node_id, "reported": {}, "desired": {}, "version": null})));
            }
            Err(e) => return Err(sdk(e)),
        };
        let doc: Value = out.payload().and_then(|p| serde_json::from_slice(p.as_ref()).ok()).unwrap_or(Value::Null);
        Ok((
            200,
            json!({
                "node_id": node_id,
                "reported": state_part(&doc, "reported"),
                "desired": state_part(&doc, "desired"),
                "version": doc.get("version").cloned().unwrap_or(Value::Null),
            }),
        ))
    }

    pub(crate) async fn put_params(
        &self,
        user_id: &str,
        node_id: &str,
        body: Map<String, Value>,
    ) -> Result<(u16, Value), ApiError> {
        self.require_access(user_id, node_id).await?;
        if body.is_empty() {
            return Err(ApiError::bad_request("body must be a non-empty object of parameters"));
        }
        let payload = json!({"state": {"desired": body}}).to_string();
        let result = self.iot.update_thing_shadow().thing_name(node_id).payload(Blob::new(payload)).send().await;
        let out = match result {
            Ok(out) => out,
            Err(SdkError::ServiceError(e)) => {
                return Err(match e.err() {
                    UpdateThingShadowError::InvalidRequestException(x) => {
                        ApiError::bad_request(x.message().unwrap_or("invalid parameters").to_string())
                    }
                    UpdateThingShadowError::RequestEntityTooLargeException(_) => {
                        ApiError::bad_request("parameters are too large for the shadow")
                    }
                    UpdateThingShadowError::ConflictException(_) => {
                        ApiError::conflict("the shadow changed meanwhile; retry")
                    }
                    other if other.code() == Some("ResourceNotFoundException") => {
                        ApiError::not_found(format!("no thing {node_id:?}"))
                    }
                    _ => sdk(SdkError::ServiceError(e)),
                })
            }
            Err(e) => return Err(sdk(e)),
        };
        let doc: Value = out.payload().and_then(|p| serde_json::from_slice(p.as_ref()).ok()).unwrap_or(Value::Null);
        Ok((
            200,
            json!({
                "node_id": node_id,
                "desired": state_part(&doc, "desired"),
                "version": doc.get("version").cloned().unwrap_or(Value::Null),
            }),
        ))
    }

    /// Forget the previous owner's desired and reported state (best effort: a missing shadow or an error is only
    /// logged). Every key is set to null (AWS deletes null keys); this also works where `"desired": null` is not
    /// understood (moto). The device reports its state again when it next connects.
    pub(crate) async fn clear_state(&self, node_id: &str) {
        let doc = match self.iot.get_thing_shadow().thing_name(node_id).send().await {
            Ok(out) => out.payload().and_then(|p| serde_json::from_slice(p.as_ref()).ok()).unwrap_or(Value::Null),
            Err(e) => {
                tracing::debug!(node_id, error = %aws_sdk_iotdataplane::error::DisplayErrorContext(e), "no shadow to clear");
                return;
            }
        };
        let nulls = |part: &str| -> Map<String, Value> {
            state_part(&doc, part).as_object().into_iter().flatten().map(|(k, _)| (k.clone(), Value::Null)).collect()
        };
        let (desired, reported) = (nulls("desired"), nulls("reported"));
        if desired.is_empty() && reported.is_empty() {
            return;
        }
        let mut state = Map::new();
        for (part, keys) in [("desired", desired), ("reported", reported)] {
            if !keys.is_empty() {
                state.insert(part.into(), Value::Object(keys));
            }
        }
        let payload = json!({ "state": state }).to_string();
        if let Err(e) = self.iot.update_thing_shadow().thing_name(node_id).payload(Blob::new(payload)).send().await {
            tracing::warn!(node_id, error = %aws_sdk_iotdataplane::error::DisplayErrorContext(e), "could not clear the shadow state");
        }
    }
}
