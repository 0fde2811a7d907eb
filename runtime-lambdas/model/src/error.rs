//! Errors of the model crate and the API's stable error codes.

use serde::{Deserialize, Serialize};

/// What can go wrong reading configuration or converting items.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    InvalidEnv { name: &'static str, reason: String },
    #[error("item attribute `{0}` is missing or has the wrong type")]
    BadAttribute(&'static str),
}

/// The stable error codes of the REST API: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    NotFound,
    Forbidden,
    BadRequest,
    Conflict,
    SharingDisabled,
    /// Too many outstanding requests of the caller (e.g. binding codes, [`crate::contract::MAX_OUTSTANDING_BINDING_CODES`]).
    TooManyRequests,
    Internal,
}

impl ErrorCode {
    /// Every code, in the contract's order.
    pub const ALL: [ErrorCode; 7] = [
        ErrorCode::NotFound,
        ErrorCode::Forbidden,
        ErrorCode::BadRequest,
        ErrorCode::Conflict,
        ErrorCode::SharingDisabled,
        ErrorCode::TooManyRequests,
        ErrorCode::Internal,
    ];

    /// The code as it appears in JSON (`NOT_FOUND`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::SharingDisabled => "SHARING_DISABLED",
            ErrorCode::TooManyRequests => "TOO_MANY_REQUESTS",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The HTTP status the API answers with.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::NotFound => 404,
            ErrorCode::Forbidden | ErrorCode::SharingDisabled => 403,
            ErrorCode::BadRequest => 400,
            ErrorCode::Conflict => 409,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::Internal => 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_names() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(code.as_str()));
        }
    }
}
