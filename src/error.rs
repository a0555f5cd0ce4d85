//! The HTTP error boundary: every error answer is `application/problem+json` (RFC 9457) with
//! a stable `type` URI. Messages never carry a secret, a signature, a token or a body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The problem types this service answers with. The `type` URIs are a public contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// 401: missing, wrong, expired or malformed signature (no detail that helps a forger).
    InvalidSignature,
    /// 401: no or unknown bearer token on the internal API.
    Unauthorized,
    /// 403: the token lacks the scope.
    Forbidden,
    /// 403: the client address is not in the source's `allow_ips` (no detail).
    AddressNotAllowed,
    /// 404: no source of that name.
    UnknownSource,
    /// 404: no such resource.
    NotFound,
    /// 400: the body could not be read as the source's format (after a good signature).
    MalformedPayload,
    /// 400: a path, query or JSON body of the internal API that cannot be read.
    BadRequest,
    /// 422: well-formed but not acceptable (e.g. a canonical event that fails validation).
    InvalidRequest,
    /// 409: conflicts with the current state.
    Conflict,
    /// 413: the body is larger than `server.max_body_bytes`.
    PayloadTooLarge,
    /// 408: the request (or its body) took too long.
    RequestTimeout,
    /// 503: the store cannot commit; nothing was acknowledged.
    StoreUnavailable,
    /// 500: a bug; details are in the log, not the answer.
    Internal,
}

impl ProblemKind {
    /// The stable `type` URI.
    pub fn type_uri(self) -> &'static str {
        match self {
            Self::InvalidSignature => "urn:domo-group-sync:problem:invalid-signature",
            Self::Unauthorized => "urn:domo-group-sync:problem:unauthorized",
            Self::Forbidden => "urn:domo-group-sync:problem:forbidden",
            Self::AddressNotAllowed => "urn:domo-group-sync:problem:address-not-allowed",
            Self::UnknownSource => "urn:domo-group-sync:problem:unknown-source",
            Self::NotFound => "urn:domo-group-sync:problem:not-found",
            Self::MalformedPayload => "urn:domo-group-sync:problem:malformed-payload",
            Self::InvalidRequest => "urn:domo-group-sync:problem:invalid-request",
            Self::BadRequest => "urn:domo-group-sync:problem:bad-request",
            Self::Conflict => "urn:domo-group-sync:problem:conflict",
            Self::PayloadTooLarge => "urn:domo-group-sync:problem:payload-too-large",
            Self::RequestTimeout => "urn:domo-group-sync:problem:request-timeout",
            Self::StoreUnavailable => "urn:domo-group-sync:problem:store-unavailable",
            Self::Internal => "urn:domo-group-sync:problem:internal",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidSignature | Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::AddressNotAllowed => StatusCode::FORBIDDEN,
            Self::UnknownSource | Self::NotFound => StatusCode::NOT_FOUND,
            Self::MalformedPayload | Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::InvalidRequest => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The short human title.
    pub fn title(self) -> &'static str {
        match self {
            Self::InvalidSignature => "The request's signature could not be verified",
            Self::Unauthorized => "A valid bearer token is required",
            Self::Forbidden => "The token does not have the scope this operation needs",
            Self::AddressNotAllowed => {
                "Requests from this address are not accepted for this source"
            }
            Self::UnknownSource => "No webhook source has this name",
            Self::NotFound => "Not found",
            Self::MalformedPayload => "The body could not be read as the source's format",
            Self::InvalidRequest => "The request is not acceptable",
            Self::BadRequest => "The request could not be read",
            Self::Conflict => "The request conflicts with the current state",
            Self::PayloadTooLarge => "The body is larger than the configured limit",
            Self::RequestTimeout => "The request took too long",
            Self::StoreUnavailable => "The event store cannot commit right now; retry later",
            Self::Internal => "Internal error",
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A stable URI naming the kind of problem.
    #[serde(rename = "type")]
    #[schema(example = "urn:domo-group-sync:problem:invalid-signature")]
    pub type_uri: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, when that is safe to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ProblemKind,
    pub detail: Option<String>,
}

impl ApiError {
    /// An error of this kind with no detail.
    pub fn new(kind: ProblemKind) -> Self {
        Self { kind, detail: None }
    }
    /// An error of this kind with a detail (must be safe to show).
    pub fn with_detail(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
        }
    }
    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            type_uri: self.kind.type_uri().to_owned(),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(self.kind.status(), &self.problem())
    }
}

/// Serialises a problem with its content type.
pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "store unavailable");
            ApiError::new(ProblemKind::StoreUnavailable)
        } else {
            tracing::error!(error = %e, "store error");
            ApiError::new(ProblemKind::Internal)
        }
    }
}
