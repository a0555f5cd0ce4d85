//! What a console request that cannot be served answers: a redirect to the sign-in form, or
//! an HTML page saying what went wrong (never a secret; askama escapes the text).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::{ApiError, ProblemKind};

/// A console failure.
#[derive(Debug)]
pub enum ConsoleError {
    /// Not signed in (or the session ended): to the sign-in form, then back to `next`.
    SignIn { next: String },
    /// A page saying what went wrong, with its status.
    Page {
        status: StatusCode,
        title: String,
        detail: Option<String>,
    },
}

impl ConsoleError {
    /// 403 with a sentence.
    pub fn forbidden(detail: &str) -> Self {
        ConsoleError::Page {
            status: StatusCode::FORBIDDEN,
            title: "Not allowed".to_owned(),
            detail: Some(detail.to_owned()),
        }
    }

    /// 400 with a sentence about the input.
    pub fn bad_input(detail: impl Into<String>) -> Self {
        ConsoleError::Page {
            status: StatusCode::BAD_REQUEST,
            title: "That cannot be read".to_owned(),
            detail: Some(detail.into()),
        }
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        ConsoleError::Page {
            status: e.kind.status(),
            title: e.kind.title().to_owned(),
            detail: e.detail,
        }
    }
}

impl From<crate::store::StoreError> for ConsoleError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    detail: Option<&'a str>,
    status: u16,
    css: &'a str,
}

/// Renders a page, or a plain 500 when the template fails (it cannot, short of a bug).
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console: a template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignIn { next } => {
                let to = format!(
                    "/console/sign-in?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                see_other(&to)
            }
            ConsoleError::Page {
                status,
                title,
                detail,
            } => {
                let page = ErrorPage {
                    title: &title,
                    detail: detail.as_deref(),
                    status: status.as_u16(),
                    css: &super::assets::css_path(),
                };
                let mut resp = render(&page);
                if resp.status() == StatusCode::OK {
                    *resp.status_mut() = status;
                }
                resp
            }
        }
    }
}

/// A 303 to a path of this service.
pub fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Any other path under `/console`.
pub async fn not_found() -> ConsoleError {
    ApiError::with_detail(ProblemKind::NotFound, "There is no console page here.").into()
}
