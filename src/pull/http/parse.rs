//! Reading providers' answers: how long a 429 asks to wait, the `next` link, a short and safe
//! error detail. Pure.

use std::time::Duration;

use axum::http::HeaderMap;
use reqwest::header::RETRY_AFTER;

/// Longest part of an error body quoted in a message.
const DETAIL_CHARS: usize = 200;

/// Seconds from `now_secs` to an epoch-seconds reset time, within reason: a reset in the past
/// is now, and one more than ten minutes ahead (clock skew) counts as a minute.
pub(super) fn reset_in(reset: u64, now_secs: i64) -> Duration {
    let delta = i64::try_from(reset)
        .unwrap_or(i64::MAX)
        .saturating_sub(now_secs);
    match delta {
        d if d <= 0 => Duration::ZERO,
        d if d > 600 => Duration::from_secs(60),
        d => Duration::from_secs(d.unsigned_abs()),
    }
}

/// How long a 429 or 503 asks to wait: `Retry-After` (seconds or an HTTP date), else Okta's
/// `X-Rate-Limit-Reset` (epoch seconds; at least one second).
pub fn retry_wait(headers: &HeaderMap, now_secs: i64) -> Option<Duration> {
    if let Some(v) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(v) {
            let delta = at.timestamp().saturating_sub(now_secs).max(0);
            return Some(Duration::from_secs(delta.unsigned_abs()));
        }
    }
    headers
        .get("x-rate-limit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|reset| reset_in(reset, now_secs).max(Duration::from_secs(1)))
}

/// The `rel="next"` target of the `Link` headers.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            });
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| target.to_owned())
        })
}

/// A short, single-line summary of an error answer: the provider's summary from the body, or,
/// for a bodiless answer, BambooHR's `X-BambooHR-Error-Message` header.
pub(super) fn detail(headers: &HeaderMap, body: &[u8]) -> String {
    let from_body = body_detail(body);
    if from_body != NO_BODY {
        return from_body;
    }
    headers
        .get("x-bamboohr-error-message")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .map_or(from_body, |v| cut(v.trim()))
}

const NO_BODY: &str = "(no body)";

/// A short, single-line part of an error body (the provider's summary).
fn body_detail(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    // Okta: {"errorCode","errorSummary","errorCauses":[{"errorSummary"}]}; OAuth:
    // {"error","error_description"}; else the text.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let field = |k: &str| v.get(k).and_then(|s| s.as_str());
        let mut parts: Vec<String> = Vec::new();
        for k in [
            "errorCode",
            "errorSummary",
            "error",
            "error_description",
            "message",
        ] {
            if let Some(s) = field(k) {
                parts.push(s.to_owned());
            }
        }
        if let Some(causes) = v.get("errorCauses").and_then(|c| c.as_array()) {
            for c in causes {
                if let Some(s) = c.get("errorSummary").and_then(|s| s.as_str()) {
                    parts.push(s.to_owned());
                }
            }
        }
        // WorkOS: {"code","message","errors":[{"field","code"}]}.
        if let Some(errors) = v.get("errors").and_then(|c| c.as_array()) {
            for e in errors {
                let part = |k: &str| e.get(k).and_then(|s| s.as_str());
                if let (Some(field), Some(code)) = (part("field"), part("code")) {
                    parts.push(format!("{field} {code}"));
                }
            }
        }
        if !parts.is_empty() {
            return cut(&parts.join(": "));
        }
    }
    if text.trim().is_empty() {
        NO_BODY.to_owned()
    } else {
        cut(text.trim())
    }
}

fn cut(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > DETAIL_CHARS {
        let head: String = one_line.chars().take(DETAIL_CHARS).collect();
        format!("{head}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn retry_after_wins_then_the_okta_reset_time() {
        let now = 1_800_000_000;
        assert_eq!(
            retry_wait(
                &headers(&[("retry-after", "7"), ("x-rate-limit-reset", "1800000030")]),
                now
            ),
            Some(Duration::from_secs(7))
        );
        let date = chrono::DateTime::from_timestamp(now + 10, 0)
            .expect("time")
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        assert_eq!(
            retry_wait(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(10)),
            "an HTTP date: {date}"
        );
        assert_eq!(
            retry_wait(&headers(&[("x-rate-limit-reset", "1800000030")]), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_wait(&headers(&[("x-rate-limit-reset", "1700000000")]), now),
            Some(Duration::from_secs(1)),
            "a reset in the past still waits a second"
        );
        assert_eq!(
            retry_wait(&headers(&[("x-rate-limit-reset", "1900000000")]), now),
            Some(Duration::from_secs(60)),
            "a reset far ahead is clock skew: a minute"
        );
        assert_eq!(retry_wait(&headers(&[]), now), None);
    }

    #[test]
    fn the_next_link_is_found_among_several_links() {
        let h = headers(&[
            (
                "link",
                "<https://o.example/api/v1/logs?after=1>; rel=\"self\"",
            ),
            (
                "link",
                "<https://o.example/api/v1/logs?after=2&limit=5>; rel=\"next\"",
            ),
        ]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://o.example/api/v1/logs?after=2&limit=5")
        );
        let joined = headers(&[(
            "link",
            "<https://a/self>; rel=\"self\", <https://a/next>; rel=next",
        )]);
        assert_eq!(next_link(&joined).as_deref(), Some("https://a/next"));
        assert_eq!(
            next_link(&headers(&[("link", "<https://a>; rel=\"self\"")])),
            None
        );
    }

    #[test]
    fn error_details_quote_the_provider_summary_briefly() {
        let okta = br#"{"errorCode":"E0000001","errorSummary":"Api validation failed: after","errorCauses":[{"errorSummary":"after: not a bookmark this server issued"}]}"#;
        let none = HeaderMap::new();
        assert_eq!(
            detail(&none, okta),
            "E0000001: Api validation failed: after: after: not a bookmark this server issued"
        );
        assert_eq!(detail(&none, b""), "(no body)");
        let long = "x".repeat(1000);
        assert!(detail(&none, long.as_bytes()).chars().count() <= DETAIL_CHARS + 1);
        assert_eq!(detail(&none, b"line\nbreak"), "line break");
        let workos = br#"{"code":"invalid_request_parameters","message":"Validation failed","errors":[{"field":"after","code":"invalid_cursor"}]}"#;
        assert_eq!(
            detail(&none, workos),
            "Validation failed: after invalid_cursor"
        );
        // BambooHR answers errors with an empty body and the reason in a header.
        let bamboo = headers(&[("x-bamboohr-error-message", "Invalid API key")]);
        assert_eq!(detail(&bamboo, b""), "Invalid API key");
        assert_eq!(detail(&bamboo, b"{\"message\":\"m\"}"), "m", "a body wins");
    }
}
