//! Unit tests of the status mapping, `Retry-After` parsing and error messages.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0)
        .single()
        .expect("valid date")
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).expect("valid status")
}

fn classify_plain(code: u16, body: &str) -> DomoError {
    classify(status(code), &HeaderMap::new(), body.as_bytes(), now(), &[])
}

#[test]
fn retry_after_in_seconds() {
    assert_eq!(parse_retry_after("7", now()), Some(Duration::from_secs(7)));
    assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
}

#[test]
fn retry_after_as_an_http_date_in_each_form() {
    let cases = [
        "Sat, 28 Nov 2026 10:02:00 GMT",
        "Saturday, 28-Nov-26 10:02:00 GMT",
        "Sat Nov 28 10:02:00 2026",
    ];
    for value in cases {
        assert_eq!(
            parse_retry_after(value, now()),
            Some(Duration::from_secs(120)),
            "value {value}"
        );
    }
}

#[test]
fn retry_after_in_the_past_means_now() {
    let value = "Sat, 28 Nov 2026 09:00:00 GMT";
    assert_eq!(parse_retry_after(value, now()), Some(Duration::ZERO));
}

#[test]
fn unreadable_retry_after_is_ignored() {
    for value in ["", "soon", "-5", "1.5", "Sat, 99 Nov 2026 10:02:00 GMT"] {
        assert_eq!(parse_retry_after(value, now()), None, "value {value:?}");
    }
}

/// A check of the kind of error a status maps to.
type Expect = fn(&DomoError) -> bool;

#[test]
fn status_mapping_table() {
    let cases: [(u16, Expect); 12] = [
        (400, |e| {
            matches!(e, DomoError::Rejected { status: 400, .. })
        }),
        (401, |e| matches!(e, DomoError::Unauthorized { .. })),
        (403, |e| {
            matches!(e, DomoError::Rejected { status: 403, .. })
        }),
        (404, |e| {
            matches!(e, DomoError::Rejected { status: 404, .. })
        }),
        (409, |e| {
            matches!(e, DomoError::Rejected { status: 409, .. })
        }),
        (408, |e| {
            matches!(
                e,
                DomoError::Unavailable {
                    status: Some(408),
                    ..
                }
            )
        }),
        (429, |e| {
            matches!(e, DomoError::RateLimited { retry_after: None })
        }),
        (500, |e| {
            matches!(
                e,
                DomoError::Unavailable {
                    status: Some(500),
                    ..
                }
            )
        }),
        (502, |e| {
            matches!(
                e,
                DomoError::Unavailable {
                    status: Some(502),
                    ..
                }
            )
        }),
        (503, |e| {
            matches!(
                e,
                DomoError::Unavailable {
                    status: Some(503),
                    ..
                }
            )
        }),
        (504, |e| {
            matches!(
                e,
                DomoError::Unavailable {
                    status: Some(504),
                    ..
                }
            )
        }),
        (302, |e| {
            matches!(e, DomoError::Rejected { status: 302, .. })
        }),
    ];
    for (code, expected) in cases {
        let err = classify_plain(code, "");
        assert!(expected(&err), "status {code} gave {err:?}");
    }
}

#[test]
fn rate_limit_carries_retry_after() {
    let mut headers = HeaderMap::new();
    headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    let err = classify(status(429), &headers, b"", now(), &[]);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.status(), Some(429));
}

#[test]
fn is_retryable_table() {
    let cases = [
        (DomoError::RateLimited { retry_after: None }, true),
        (
            DomoError::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
            },
            true,
        ),
        (
            DomoError::Unavailable {
                status: Some(503),
                message: String::new(),
            },
            true,
        ),
        (
            DomoError::Unavailable {
                status: None,
                message: "timed out".into(),
            },
            true,
        ),
        (
            DomoError::Unauthorized {
                message: String::new(),
            },
            false,
        ),
        (
            DomoError::Rejected {
                status: 400,
                message: String::new(),
            },
            false,
        ),
        (
            DomoError::Rejected {
                status: 404,
                message: String::new(),
            },
            false,
        ),
        (
            DomoError::Decode {
                message: String::new(),
            },
            false,
        ),
    ];
    for (err, retryable) in cases {
        assert_eq!(err.is_retryable(), retryable, "{err:?}");
    }
}

#[test]
fn status_and_retry_after_accessors() {
    let unavailable = DomoError::Unavailable {
        status: None,
        message: String::new(),
    };
    assert_eq!(unavailable.status(), None);
    assert_eq!(unavailable.retry_after(), None);
    let unauthorized = DomoError::Unauthorized {
        message: String::new(),
    };
    assert_eq!(unauthorized.status(), Some(401));
    let decode = DomoError::Decode {
        message: String::new(),
    };
    assert_eq!(decode.status(), None);
}

#[test]
fn message_from_a_bedrock_body() {
    let body = r#"{"status":400,"statusReason":"Bad Request","message":"Group name already exists","toe":"8VGVLIN8CI-EODB4-G3CUS","path":"/v1/groups"}"#;
    assert_eq!(
        error_message(status(400), body.as_bytes(), &[]),
        "Group name already exists (toe 8VGVLIN8CI-EODB4-G3CUS)"
    );
}

#[test]
fn message_from_a_bedrock_body_without_message_uses_the_reason() {
    let body = r#"{"status":404,"statusReason":"Not Found","toe":""}"#;
    assert_eq!(
        error_message(status(404), body.as_bytes(), &[]),
        "Not Found"
    );
}

#[test]
fn message_from_an_oauth_body() {
    let body = r#"{"error":"insufficient_scope","error_description":"Insufficient scope for this resource","scope":"dashboard"}"#;
    assert_eq!(
        error_message(status(403), body.as_bytes(), &[]),
        "insufficient_scope: Insufficient scope for this resource"
    );
}

#[test]
fn message_from_an_empty_or_foreign_body() {
    assert_eq!(
        error_message(status(404), b"", &[]),
        "HTTP 404 Not Found (empty body)"
    );
    assert_eq!(
        error_message(status(502), b"<html>Bad gateway</html>", &[]),
        "HTTP 502 Bad Gateway"
    );
    assert_eq!(
        error_message(status(400), br#"{"unrelated":1}"#, &[]),
        "HTTP 400 Bad Request"
    );
}

#[test]
fn messages_never_carry_the_token_or_a_jwt() {
    let token = "abc123-opaque-token-value";
    let body = format!(
        r#"{{"error":"invalid_token","error_description":"Access token expired: {token}"}}"#
    );
    let message = error_message(status(401), body.as_bytes(), &[token]);
    assert_eq!(message, "invalid_token: Access token expired: ***");

    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDB9.c2lnbmF0dXJlLXZhbHVl";
    let body = format!(r#"{{"message":"bad token {jwt}."}}"#);
    let message = error_message(status(401), body.as_bytes(), &[]);
    assert!(!message.contains("eyJ"), "{message}");
    assert_eq!(message, "bad token ***.");
}

#[test]
fn long_messages_are_cut() {
    let body = format!(r#"{{"message":"{}"}}"#, "x".repeat(1_000));
    let message = error_message(status(400), body.as_bytes(), &[]);
    assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
    assert!(message.ends_with('…'));
}

#[test]
fn decode_errors_do_not_quote_the_body() {
    let err = serde_json::from_str::<Vec<u32>>(r#"["secret-value"]"#).expect_err("bad shape");
    let DomoError::Decode { message } = decode_error("list", &err) else {
        panic!("not a decode error");
    };
    assert!(!message.contains("secret-value"), "{message}");
    assert!(message.starts_with("list: unexpected shape"), "{message}");
}
