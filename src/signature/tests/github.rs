//! GitHub: the docs test value, prefix and case rules, no SHA-1 fallback.

use super::{header_map, source};
use crate::config::{Scheme, Secret};
use crate::signature::{SignatureError, sign, verify};

// GitHub docs, "Testing the webhook payload validation".
const SECRET: &str = "It's a Secret to Everybody";
const BODY: &[u8] = b"Hello, World!";
const HEX: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn check(header: &str, value: &str) -> Result<(), SignatureError> {
    verify(
        &source(Scheme::Github, &[SECRET]),
        &header_map([(header, value)]),
        BODY,
        0,
    )
}

#[test]
fn docs_test_value_signs_and_verifies() {
    let pairs = sign(
        &source(Scheme::Github, &[SECRET]),
        &Secret::new(SECRET),
        BODY,
        0,
        "",
    )
    .expect("sign");
    assert_eq!(
        pairs,
        vec![("X-Hub-Signature-256".to_owned(), format!("sha256={HEX}"))]
    );
    assert_eq!(
        check("x-hub-signature-256", &format!("sha256={HEX}")),
        Ok(())
    );
}

#[test]
fn prefix_is_required_and_hex_must_be_lowercase() {
    assert!(matches!(
        check("X-Hub-Signature-256", HEX),
        Err(SignatureError::Malformed(_))
    ));
    let upper = format!("sha256={}", HEX.to_uppercase());
    assert_eq!(
        check("X-Hub-Signature-256", &upper),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        check("X-Hub-Signature-256", "sha256=abc"),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn legacy_sha1_header_is_not_a_fallback() {
    let result = check(
        "X-Hub-Signature",
        "sha1=d03207e4b030cf234e3447bac4d93add4c6643d8",
    );
    assert_eq!(
        result,
        Err(SignatureError::MissingHeader("X-Hub-Signature-256".into()))
    );
}

#[test]
fn trailing_newline_in_the_body_breaks_the_signature() {
    let source = source(Scheme::Github, &[SECRET]);
    let map = header_map([("X-Hub-Signature-256", format!("sha256={HEX}"))]);
    assert_eq!(
        verify(&source, &map, b"Hello, World!\n", 0),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn key_is_the_secret_verbatim_even_with_whsec_prefix() {
    // A GitHub secret that happens to look like a Standard Webhooks secret is not decoded.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let source = source(Scheme::Github, &[secret]);
    let pairs = sign(&source, &Secret::new(secret), BODY, 0, "").expect("sign");
    let expected =
        hex::encode(crate::signature::mac::hmac_sha256(secret.as_bytes(), &[BODY]).expect("hmac"));
    assert_eq!(pairs[0].1, format!("sha256={expected}"));
}
