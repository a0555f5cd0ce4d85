//! The console's request guards: the response headers every console answer carries (a strict
//! CSP and friends), and the origin check every POST passes before its handler runs.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ConsoleError;
use crate::api::AppState;

/// The Content-Security-Policy of every console answer: scripts, styles and fetches from this
/// origin only, nothing inline, no frames, forms post here only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every console answer; pages are never cached (assets set
/// their own long cache).
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static(
            "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), \
             microphone=(), payment=(), usb=()",
        ),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Refuses a POST that a browser says came from another site, or whose `Origin` is not this
/// service's (403). Requests without either header (not from a browser) pass to the CSRF
/// token check, which every POST handler makes.
pub async fn same_origin_posts(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let h = req.headers();
    let ok = origin_allowed(
        text(h, "sec-fetch-site"),
        text(h, header::ORIGIN.as_str()),
        text(h, header::HOST.as_str()),
        state.public_url.as_ref(),
    );
    if ok {
        next.run(req).await
    } else {
        tracing::info!(
            origin = text(h, header::ORIGIN.as_str()).unwrap_or(""),
            "console: a POST from another origin was refused"
        );
        super::actions::count("post", "refused");
        ConsoleError::forbidden("This form was not sent from this site, so it was refused.")
            .into_response()
    }
}

fn text<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a state-changing request may proceed, from its `Sec-Fetch-Site` and `Origin`
/// (the OWASP and Go `CrossOriginProtection` algorithm): a browser's `Sec-Fetch-Site` must be
/// `same-origin` (or `none`, typed by the user); an `Origin` must equal `public` when that is
/// configured, else name the request's own `Host`. With neither header the request is not a
/// browser's cross-site form, and passes (the CSRF token still decides).
pub fn origin_allowed(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
    public: Option<&url::Url>,
) -> bool {
    if let Some(site) = sec_fetch_site
        && !matches!(site.trim(), "same-origin" | "none")
    {
        return false;
    }
    let Some(origin) = origin.map(str::trim) else {
        return true;
    };
    let Ok(o) = url::Url::parse(origin) else {
        return false; // includes the opaque `null`
    };
    match public {
        Some(p) => o.origin() == p.origin(),
        None => {
            let Some(host) = host.and_then(|h| url::Url::parse(&format!("http://{h}")).ok()) else {
                return false;
            };
            // `Host` carries no scheme (a proxy may have ended TLS): compare host and port.
            let same_host = o.host_str().map(str::to_ascii_lowercase)
                == host.host_str().map(str::to_ascii_lowercase);
            let same_port = match host.port() {
                Some(p) => o.port_or_known_default() == Some(p),
                None => o.port().is_none(),
            };
            same_host && same_port
        }
    }
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn foreign_origins_and_cross_site_fetches_are_refused() {
        let host = Some("localhost:8080");
        let cases: [(Option<&str>, Option<&str>, bool, &str); 10] = [
            (
                Some("same-origin"),
                Some("http://localhost:8080"),
                true,
                "a same-origin form",
            ),
            (
                None,
                Some("http://localhost:8080"),
                true,
                "an older browser, same origin",
            ),
            (None, None, true, "not a browser: the CSRF token decides"),
            (Some("none"), None, true, "typed by the user"),
            (
                Some("cross-site"),
                Some("http://localhost:8080"),
                false,
                "cross-site fetch metadata",
            ),
            (
                Some("same-site"),
                Some("http://localhost:8080"),
                false,
                "a sibling subdomain",
            ),
            (None, Some("http://evil.example"), false, "a foreign origin"),
            (None, Some("http://localhost:9999"), false, "another port"),
            (
                Some("same-origin"),
                Some("http://evil.example"),
                false,
                "a foreign origin even when fetch metadata agree",
            ),
            (None, Some("null"), false, "an opaque origin"),
        ];
        for (site, origin, want, why) in cases {
            assert_eq!(origin_allowed(site, origin, host, None), want, "{why}");
        }
    }

    #[test]
    fn a_configured_public_url_is_the_only_origin_accepted() {
        let public = url::Url::parse("https://sync.example.com").expect("url");
        let p = Some(&public);
        assert!(origin_allowed(
            None,
            Some("https://sync.example.com"),
            Some("10.0.0.5:8080"),
            p
        ));
        assert!(!origin_allowed(
            None,
            Some("http://sync.example.com"),
            Some("sync.example.com"),
            p
        ));
        assert!(!origin_allowed(
            None,
            Some("https://10.0.0.5:8080"),
            Some("10.0.0.5:8080"),
            p
        ));
    }
}
