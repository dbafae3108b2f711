//! Zoom's REST error body: `{"code": <int>, "message": "...", "errors"?: [{field, message}]}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
    pub errors: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 300,
            message: "Validation Failed.".into(),
            errors,
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn bad_json() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            300,
            "Request Body should be a valid JSON object.",
        )
    }

    pub fn meeting_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            3001,
            format!("Meeting does not exist: {id}."),
        )
    }

    pub fn user_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            1001,
            format!("User does not exist: {id}."),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({"code": self.code, "message": self.message});
        if !self.errors.is_empty() {
            body["errors"] = serde_json::json!(self.errors);
        }
        (self.status, Json(body)).into_response()
    }
}
