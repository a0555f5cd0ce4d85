//! Stripe: header parsing, several `v1`, `v0` ignored, raw `whsec_` key, past-only window.

use super::{NOW, header_map, source};
use crate::config::{Scheme, Secret};
use crate::signature::{SignatureError, sign, verify};

// typeclasses/stripe fixed vector.
const SECRET: &str = "secret";
const BODY: &[u8] = b"hello";
const HEX: &str = "f89c0a0e96fa6304a7ebd5ecaf13bc1beb859577cd7cafb7bdbc43c3bc2f6afa";

fn check(value: &str) -> Result<(), SignatureError> {
    let map = header_map([("Stripe-Signature", value)]);
    verify(&source(Scheme::Stripe, &[SECRET]), &map, BODY, 123)
}

#[test]
fn fixed_vector_signs_and_verifies() {
    let source = source(Scheme::Stripe, &[SECRET]);
    let pairs = sign(&source, &Secret::new(SECRET), BODY, 123, "").expect("sign");
    assert_eq!(
        pairs,
        vec![("Stripe-Signature".to_owned(), format!("t=123,v1={HEX}"))]
    );
    assert_eq!(check(&format!("t=123,v1={HEX}")), Ok(()));
}

#[test]
fn several_v1_entries_any_may_match_and_v0_is_ignored() {
    assert_eq!(check(&format!("t=123,v1=bad,v1={HEX},v0=abc")), Ok(()));
    assert_eq!(
        check(&format!("t=123, v1=bad, v1={HEX}")),
        Ok(()),
        "spaces are trimmed"
    );
    assert_eq!(
        check("t=123,v1=bad,v1=worse"),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        check(&format!("t=123,v0={HEX}")),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn malformed_headers() {
    for bad in [
        "i'm not even a real signature header",
        &format!("v1={HEX}"),
        &format!("t=abc,v1={HEX}"),
        &format!("t=-123,v1={HEX}"),
        "t=123",
    ] {
        assert!(
            matches!(check(bad), Err(SignatureError::Malformed(_))),
            "{bad}"
        );
    }
}

#[test]
fn uppercase_hex_does_not_match() {
    assert_eq!(
        check(&format!("t=123,v1={}", HEX.to_uppercase())),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn key_includes_the_whsec_prefix() {
    let secret = "whsec_test_secret";
    let source = source(Scheme::Stripe, &[secret]);
    // Signed with the prefix stripped, as a Standard-Webhooks habit would: must not match.
    let stripped = sign(&source, &Secret::new("test_secret"), BODY, NOW, "").expect("sign");
    let result = verify(&source, &header_map(stripped), BODY, NOW);
    assert_eq!(result, Err(SignatureError::Mismatch));
    let full = sign(&source, &Secret::new(secret), BODY, NOW, "").expect("sign");
    assert_eq!(verify(&source, &header_map(full), BODY, NOW), Ok(()));
}

#[test]
fn future_timestamps_are_accepted_old_ones_are_not() {
    let source = source(Scheme::Stripe, &[SECRET]);
    let map = header_map(sign(&source, &Secret::new(SECRET), BODY, NOW, "").expect("sign"));
    assert_eq!(verify(&source, &map, BODY, NOW - 3600), Ok(()));
    assert_eq!(
        verify(&source, &map, BODY, NOW + 301),
        Err(SignatureError::Expired)
    );
}
