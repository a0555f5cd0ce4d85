//! The console's stylesheet and script, embedded in the binary and served under a path that
//! names their content's hash, so they can be cached for a year and never go stale.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CSS: &str = include_str!("../../static/console/console.css");
const JS: &str = include_str!("../../static/console/console.js");

/// The first 12 hex digits of the SHA-256 of both files: the version in their paths.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    h.update(CSS.as_bytes());
    h.update(JS.as_bytes());
    hex::encode(h.finalize())[..12].to_owned()
});

/// The stylesheet's path.
pub fn css_path() -> String {
    format!("/console/static/{}/console.css", *VERSION)
}

/// The script's path.
pub fn js_path() -> String {
    format!("/console/static/{}/console.js", *VERSION)
}

/// `GET /console/static/{version}/{file}`: the file, cached for a year when the version is
/// current (an old version's page gets today's file, uncached).
pub async fn serve(Path((version, file)): Path<(String, String)>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let cache = if version == *VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}
