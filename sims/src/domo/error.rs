//! The simulator's error responses, in the two shapes Domo uses (reference §2.1):
//! "bedrock" bodies `{status, statusReason, message, toe[, path]}` from the API layer, and
//! Spring-OAuth bodies `{error, error_description[, scope]}` from the token layer.
//!
//! This is the one error type of the simulator's HTTP boundary. It never echoes a token or a
//! client secret.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer of the simulated Domo API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// A Domo "bedrock" error: `{status, statusReason, message, toe}` (plus `path` when set).
    #[error("{status}: {message}")]
    Bedrock {
        /// HTTP status.
        status: StatusCode,
        /// `statusReason`; Domo does not always use the canonical reason phrase.
        reason: String,
        /// `message`.
        message: String,
        /// `path`, present on some Domo errors (the missing-authentication 401).
        path: Option<String>,
    },
    /// A Spring-OAuth style error: `{error, error_description[, scope]}`.
    #[error("{status}: {error}: {description}")]
    OAuth {
        /// HTTP status.
        status: StatusCode,
        /// `error`, e.g. `invalid_token`.
        error: String,
        /// `error_description`.
        description: String,
        /// `scope`, set on `insufficient_scope` and `invalid_scope`.
        scope: Option<String>,
    },
}

impl SimError {
    /// A bedrock error whose `statusReason` is the canonical phrase of `status`.
    pub fn bedrock(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Bedrock {
            status,
            reason: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: message.into(),
            path: None,
        }
    }

    /// 400 bedrock error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::bedrock(StatusCode::BAD_REQUEST, message)
    }

    /// 404 bedrock error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::bedrock(StatusCode::NOT_FOUND, message)
    }

    /// 401 for a request without a usable `Authorization: bearer` header, exactly as observed
    /// on `/v1/users` (reference §1.4), including the odd "Internal Server Error" reason.
    pub fn authentication_required(path: &str) -> Self {
        Self::Bedrock {
            status: StatusCode::UNAUTHORIZED,
            reason: "Internal Server Error".to_owned(),
            message: "com.domo.bedrock.service.exception.UnauthorizedException: \
                      Full authentication is required to access this resource"
                .to_owned(),
            path: Some(path.to_owned()),
        }
    }

    /// An OAuth-shaped error.
    pub fn oauth(status: StatusCode, error: &str, description: impl Into<String>) -> Self {
        Self::OAuth {
            status,
            error: error.to_owned(),
            description: description.into(),
            scope: None,
        }
    }

    /// 401 `invalid_token` for an unknown, undecodable or expired bearer token.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::oauth(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    /// 403 `insufficient_scope` for a token that lacks `scope` (reference §1.4).
    pub fn insufficient_scope(scope: &str) -> Self {
        Self::OAuth {
            status: StatusCode::FORBIDDEN,
            error: "insufficient_scope".to_owned(),
            description: "Insufficient scope for this resource".to_owned(),
            scope: Some(scope.to_owned()),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Bedrock { status, .. } | Self::OAuth { status, .. } => *status,
        }
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Value {
        match self {
            Self::Bedrock {
                status,
                reason,
                message,
                path,
            } => {
                let mut body = json!({
                    "status": status.as_u16(),
                    "statusReason": reason,
                    "message": message,
                    "toe": new_toe(),
                });
                if let (Some(path), Some(map)) = (path, body.as_object_mut()) {
                    map.insert("path".to_owned(), Value::String(path.clone()));
                }
                body
            }
            Self::OAuth {
                error,
                description,
                scope,
                ..
            } => {
                let mut body = json!({ "error": error, "error_description": description });
                if let (Some(scope), Some(map)) = (scope, body.as_object_mut()) {
                    map.insert("scope".to_owned(), Value::String(scope.clone()));
                }
                body
            }
        }
    }
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        if self.status() == StatusCode::UNAUTHORIZED {
            // RFC 7235 §4.1: a 401 names the scheme to use: Basic for the token endpoint's
            // client authentication, Bearer (RFC 6750 §3) for the API.
            let challenge = match &self {
                Self::OAuth { error, .. } if error == "unauthorized" => {
                    "Basic realm=\"oauth2/client\""
                }
                _ => "Bearer realm=\"domo-sim\"",
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// A Domo-style trace id ("toe") such as `O6Q67O9N7H-U3ALR-NVA7L`: 10, 5 and 5 upper-case
/// alphanumerics. Not seeded: toes carry no meaning and are never asserted on.
pub fn new_toe() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let part = |n: usize| -> String {
        (0..n)
            .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
            .collect()
    };
    format!("{}-{}-{}", part(10), part(5), part(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bedrock_body_has_domo_fields() {
        let body = SimError::not_found("Group not found").body();
        assert_eq!(body["status"], 404);
        assert_eq!(body["statusReason"], "Not Found");
        assert_eq!(body["message"], "Group not found");
        assert_eq!(body["toe"].as_str().map(str::len), Some(22));
        assert!(body.get("path").is_none());
    }

    #[test]
    fn oauth_body_carries_scope_only_when_set() {
        let body = SimError::insufficient_scope("user").body();
        assert_eq!(body["error"], "insufficient_scope");
        assert_eq!(body["scope"], "user");
        let body = SimError::invalid_token("x").body();
        assert!(body.get("scope").is_none());
    }
}
