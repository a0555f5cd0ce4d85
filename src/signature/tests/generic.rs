//! The generic HMAC profile: algorithms, encodings, prefix, signed content, configuration.

use super::common::full_profile;
use super::{NOW, header_map, signed_with, source, value, with};
use crate::config::{
    HmacAlgorithm, HmacEncoding, HmacProfile, Scheme, SignedContent, SourceConfig,
};
use crate::signature::{SignatureError, verify};

const SECRET: &str = "generic-secret";
const BODY: &[u8] = b"{\"a\":1}";

fn generic(profile: HmacProfile) -> SourceConfig {
    let mut source = source(Scheme::Hmac, &[SECRET]);
    source.hmac = Some(profile);
    source
}

/// A Keycloak-like profile: lowercase hex SHA-256 of the body, no prefix.
fn body_hex() -> HmacProfile {
    HmacProfile {
        header: "X-Keycloak-Signature".into(),
        algorithm: HmacAlgorithm::Sha256,
        encoding: HmacEncoding::Hex,
        prefix: None,
        signed: SignedContent::Body,
        timestamp_header: None,
        id_header: None,
    }
}

fn mac(algorithm: HmacAlgorithm, parts: &[&[u8]]) -> Vec<u8> {
    crate::signature::mac::hmac(algorithm, SECRET.as_bytes(), parts).expect("hmac")
}

#[test]
fn body_hex_matches_an_independent_hmac_in_either_case() {
    let source = generic(body_hex());
    let digest = hex::encode(mac(HmacAlgorithm::Sha256, &[BODY]));
    let map = header_map([("X-Keycloak-Signature", digest.clone())]);
    assert_eq!(verify(&source, &map, BODY, NOW), Ok(()));
    let map = header_map([("X-Keycloak-Signature", digest.to_uppercase())]);
    assert_eq!(verify(&source, &map, BODY, NOW), Ok(()));
    let map = header_map([("X-Keycloak-Signature", "zz")]);
    assert!(matches!(
        verify(&source, &map, BODY, NOW),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn sha512_base64_over_id_timestamp_body() {
    let source = generic(full_profile());
    let map = signed_with(&source, SECRET, BODY, NOW);
    let ts = NOW.to_string();
    let parts: [&[u8]; 5] = [b"msg_1", b".", ts.as_bytes(), b".", BODY];
    let expected = crate::signature::mac::encode_base64(&mac(HmacAlgorithm::Sha512, &parts));
    assert_eq!(value(&map, "X-Signature"), format!("sha512={expected}"));
    assert_eq!(value(&map, "X-Id"), "msg_1");
    assert_eq!(value(&map, "X-Timestamp"), ts);
    // The id is signed.
    let changed = with(map.clone(), "X-Id", "msg_2");
    assert_eq!(
        verify(&source, &changed, BODY, NOW),
        Err(SignatureError::Mismatch)
    );
    // Padding may be omitted.
    let unpadded = with(map, "X-Signature", value_unpadded(&expected).as_str());
    assert_eq!(verify(&source, &unpadded, BODY, NOW), Ok(()));
}

fn value_unpadded(encoded: &str) -> String {
    format!("sha512={}", encoded.trim_end_matches('='))
}

#[test]
fn a_configured_prefix_is_required() {
    let source = generic(full_profile());
    let map = signed_with(&source, SECRET, BODY, NOW);
    let bare = value(&map, "X-Signature").replacen("sha512=", "", 1);
    let result = verify(&source, &with(map, "X-Signature", &bare), BODY, NOW);
    assert!(matches!(result, Err(SignatureError::Malformed(_))));
}

#[test]
fn timestamp_body_signs_timestamp_dot_body() {
    let source = generic(HmacProfile {
        signed: SignedContent::TimestampBody,
        timestamp_header: Some("X-Timestamp".into()),
        ..body_hex()
    });
    let ts = NOW.to_string();
    let digest = hex::encode(mac(HmacAlgorithm::Sha256, &[ts.as_bytes(), b".", BODY]));
    let map = header_map([
        ("X-Keycloak-Signature", digest.as_str()),
        ("X-Timestamp", &ts),
    ]);
    assert_eq!(verify(&source, &map, BODY, NOW), Ok(()));
    let map = with(map, "X-Timestamp", "soon");
    assert!(matches!(
        verify(&source, &map, BODY, NOW),
        Err(SignatureError::Malformed(_))
    ));
}

#[test]
fn incomplete_profiles_are_misconfigured() {
    let mut no_profile = source(Scheme::Hmac, &[SECRET]);
    no_profile.hmac = None;
    let no_ts = generic(HmacProfile {
        signed: SignedContent::TimestampBody,
        ..body_hex()
    });
    let no_id = generic(HmacProfile {
        id_header: None,
        ..full_profile()
    });
    let map = header_map([("X-Keycloak-Signature", "00")]);
    for source in [no_profile, no_ts, no_id] {
        let result = verify(&source, &map, BODY, NOW);
        assert!(
            matches!(result, Err(SignatureError::Misconfigured(_))),
            "{result:?}"
        );
    }
}
