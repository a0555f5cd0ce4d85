//! BambooHR: body followed by the raw timestamp, and the accepted timestamp forms.

use super::{NOW, header_map, source};
use crate::config::{Scheme, Secret};
use crate::signature::{SignatureError, sign, verify};

const SECRET: &str = "bamboo-private-key";
const BODY: &[u8] = br#"{"employees":[{"id":"1","action":"Updated"}]}"#;

/// hex(HMAC-SHA256(key, body ++ timestamp)), computed independently of the module's code path.
fn signature_for(timestamp: &str) -> String {
    let mut signed = BODY.to_vec();
    signed.extend_from_slice(timestamp.as_bytes());
    hex::encode(crate::signature::mac::hmac_sha256(SECRET.as_bytes(), &[&signed]).expect("hmac"))
}

fn check(timestamp: &str, signature: &str, now: i64) -> Result<(), SignatureError> {
    let map = header_map([
        ("X-BambooHR-Timestamp", timestamp),
        ("X-BambooHR-Signature", signature),
    ]);
    verify(&source(Scheme::Bamboohr, &[SECRET]), &map, BODY, now)
}

#[test]
fn sign_puts_the_timestamp_after_the_body_without_separator() {
    let source = source(Scheme::Bamboohr, &[SECRET]);
    let pairs = sign(&source, &Secret::new(SECRET), BODY, NOW, "").expect("sign");
    let ts = NOW.to_string();
    assert_eq!(
        pairs,
        vec![
            ("X-BambooHR-Timestamp".to_owned(), ts.clone()),
            ("X-BambooHR-Signature".to_owned(), signature_for(&ts)),
        ]
    );
}

#[test]
fn a_dot_separator_is_not_the_construction() {
    let ts = NOW.to_string();
    let parts: [&[u8]; 3] = [BODY, b".", ts.as_bytes()];
    let dotted =
        hex::encode(crate::signature::mac::hmac_sha256(SECRET.as_bytes(), &parts).expect("hmac"));
    assert_eq!(check(&ts, &dotted, NOW), Err(SignatureError::Mismatch));
}

#[test]
fn rfc3339_timestamps_are_signed_raw_and_windowed() {
    let ts = "2023-11-14T22:13:20Z"; // == NOW
    let sig = signature_for(ts);
    assert_eq!(check(ts, &sig, NOW), Ok(()));
    assert_eq!(check(ts, &sig, NOW + 300), Ok(()));
    assert_eq!(check(ts, &sig, NOW + 301), Err(SignatureError::Expired));
    assert_eq!(check(ts, &sig, NOW - 301), Err(SignatureError::Future));
    let offset = "2023-11-15T00:13:20+02:00"; // the same instant
    assert_eq!(check(offset, &signature_for(offset), NOW), Ok(()));
}

#[test]
fn millisecond_timestamps_are_recognised() {
    let ts = format!("{NOW}500");
    let sig = signature_for(&ts);
    assert_eq!(check(&ts, &sig, NOW), Ok(()));
    assert_eq!(check(&ts, &sig, NOW + 301), Err(SignatureError::Expired));
}

#[test]
fn uppercase_hex_is_accepted_by_decoding() {
    let ts = NOW.to_string();
    assert_eq!(check(&ts, &signature_for(&ts).to_uppercase(), NOW), Ok(()));
}

#[test]
fn malformed_timestamps_and_signatures() {
    let ts = NOW.to_string();
    let sig = signature_for(&ts);
    for bad in ["yesterday", "2023-11-14 22:13:20", "-1700000000"] {
        let result = check(bad, &sig, NOW);
        assert!(
            matches!(result, Err(SignatureError::Malformed(_))),
            "{bad}: {result:?}"
        );
    }
    let result = check(&ts, "not-hex", NOW);
    assert!(matches!(result, Err(SignatureError::Malformed(_))));
    assert_eq!(check(&ts, "abcd", NOW), Err(SignatureError::Mismatch));
}
