//! API errors: a stable code, a message for the caller, and the JSON body `{"error": {"code", "message"}}`.

use rainmaker_model::ErrorCode;
use serde_json::{json, Value};

/// An error answered to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    pub fn too_many_requests(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TooManyRequests, message)
    }

    /// An internal failure: the detail goes to the log, the caller sees a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error, please retry")
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code.as_str(), "message": self.message}})
    }
}

/// Map any AWS SDK error to [`ApiError::internal`].
pub fn sdk<E: std::error::Error + 'static>(e: E) -> ApiError {
    ApiError::internal(aws_sdk_dynamodb::error::DisplayErrorContext(e))
}
