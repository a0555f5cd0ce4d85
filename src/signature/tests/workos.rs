//! WorkOS: milliseconds, tolerant parsing, raw key, 180 s default.

use super::{NOW, header_map, source};
use crate::config::{Scheme, Secret};
use crate::signature::{SignatureError, default_tolerance_secs, sign, verify};

const SECRET: &str = "whsec_test_secret_key";
const BODY: &[u8] = br#"{"id":"event_1","event":"dsync.group.user_added"}"#;

fn signature_for(t: &str) -> String {
    let parts: [&[u8]; 3] = [t.as_bytes(), b".", BODY];
    hex::encode(crate::signature::mac::hmac_sha256(SECRET.as_bytes(), &parts).expect("hmac"))
}

fn check(value: &str, now: i64) -> Result<(), SignatureError> {
    let map = header_map([("WorkOS-Signature", value)]);
    verify(&source(Scheme::Workos, &[SECRET]), &map, BODY, now)
}

#[test]
fn sign_sends_milliseconds_with_comma_space() {
    let source = source(Scheme::Workos, &[SECRET]);
    let pairs = sign(&source, &Secret::new(SECRET), BODY, NOW, "").expect("sign");
    let t = format!("{NOW}000");
    let expected = format!("t={t}, v1={}", signature_for(&t));
    assert_eq!(pairs, vec![("WorkOS-Signature".to_owned(), expected)]);
}

#[test]
fn parsing_is_tolerant_of_spacing_and_order() {
    let t = "1700000000123";
    let sig = signature_for(t);
    for header in [
        format!("t={t}, v1={sig}"),
        format!("t={t},v1={sig}"),
        format!(" v1={sig} ,  t={t} "),
    ] {
        assert_eq!(check(&header, NOW), Ok(()), "{header}");
    }
}

#[test]
fn missing_or_empty_parts_are_malformed() {
    let t = "1700000000123";
    let sig = signature_for(t);
    for header in [
        format!("v1={sig}"),
        format!("t={t}"),
        format!("t={t}, v1="),
        format!("t=, v1={sig}"),
        format!("t=abc, v1={sig}"),
        "garbage".to_owned(),
    ] {
        assert!(
            matches!(check(&header, NOW), Err(SignatureError::Malformed(_))),
            "{header}"
        );
    }
}

#[test]
fn uppercase_hex_and_garbage_do_not_match() {
    let t = "1700000000123";
    let upper = signature_for(t).to_uppercase();
    assert_eq!(
        check(&format!("t={t}, v1={upper}"), NOW),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        check(&format!("t={t}, v1=99999"), NOW),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn window_is_180_seconds_by_default_measured_in_milliseconds() {
    assert_eq!(default_tolerance_secs(Scheme::Workos), 180);
    let t = "1700000000000";
    let header = format!("t={t}, v1={}", signature_for(t));
    assert_eq!(check(&header, NOW + 180), Ok(()));
    assert_eq!(check(&header, NOW + 181), Err(SignatureError::Expired));
    assert_eq!(check(&header, NOW - 181), Err(SignatureError::Future));
    // One millisecond past the bound is already outside.
    let t = "1699999819999";
    let header = format!("t={t}, v1={}", signature_for(t));
    assert_eq!(check(&header, NOW), Err(SignatureError::Expired));
}

#[test]
fn seconds_sent_as_t_are_far_in_the_past() {
    let t = NOW.to_string();
    let header = format!("t={t}, v1={}", signature_for(&t));
    assert_eq!(check(&header, NOW), Err(SignatureError::Expired));
}
