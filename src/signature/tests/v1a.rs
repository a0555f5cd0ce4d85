//! Standard Webhooks `v1a` (Ed25519). No official `v1a` vector exists (the Standard Webhooks
//! libraries do not implement it), so the cases are constructed: the key is RFC 8032's test 1
//! key, the primitive is checked against RFC 8032's own signature, and the `v1a` signatures
//! below were computed independently with python `cryptography` 48 (`Ed25519PrivateKey.sign`
//! over `{id}.{timestamp}.{body}`). The official `v1` vectors are read from the shared files.

use super::{header_map, source, vectors};
use crate::config::{Scheme, Secret, SourceSecret};
use crate::signature::{
    SignatureError, asymmetric, check_secret, check_signing_secret, public_key_of, sign, verify,
    verify_matched,
};

/// RFC 8032 §7.1 test 1: the seed, and the public key, in the Standard Webhooks spellings.
const PRIVATE: &str = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const PRIVATE_PAIR: &str =
    "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==";
const PUBLIC: &str = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
/// RFC 8032 test 1's signature of the empty message.
const RFC_EMPTY_SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
/// A second key (seed 00 01 … 1f) and its public key.
const OTHER_PUBLIC: &str = "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";

const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS: i64 = 1_614_265_330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
/// `v1a` of (ID, TS, BODY) under the RFC key, computed with python `cryptography`.
const SIG: &str =
    "v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmAb2ADpkJK7zgPePmPsle0zV9jSeGlHFG2NVAw==";
/// The same message signed with the other key.
const OTHER_SIG: &str =
    "v1a,yoUrgEkc12aGqm0n4Sydmdz55xJfTz4AsAgieHFjmkR7LJtqVCZOQYzvvHjI5kAey+r4iaBGxTFRrl2iBQxtDQ==";

fn headers(signature: &str) -> axum::http::HeaderMap {
    header_map([
        ("webhook-id", ID.to_owned()),
        ("webhook-timestamp", TS.to_string()),
        ("webhook-signature", signature.to_owned()),
    ])
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64")
}

#[test]
fn the_primitive_gives_rfc_8032_test_1() {
    let key = asymmetric::public_key(&Secret::new(PUBLIC)).expect("public key");
    let sig = hex::decode(RFC_EMPTY_SIG).expect("hex");
    assert!(asymmetric::verify(&key, &[b""], &sig));
    assert!(!asymmetric::verify(&key, &[b"x"], &sig));
    let signing = asymmetric::private_key(&Secret::new(PRIVATE)).expect("private key");
    assert_eq!(asymmetric::sign(&signing, &[b""]).to_vec(), sig);
}

#[test]
fn a_v1a_signature_verifies_with_the_pinned_public_key() {
    let src = source(Scheme::StandardWebhooks, &[PUBLIC]);
    assert_eq!(verify_matched(&src, &headers(SIG), BODY, TS), Ok(0));
}

#[test]
fn sign_with_a_private_key_reproduces_the_independent_signature() {
    let src = source(Scheme::StandardWebhooks, &[PUBLIC]);
    for private in [PRIVATE, PRIVATE_PAIR] {
        let pairs = sign(&src, &Secret::new(private), BODY, TS, ID).expect("sign");
        let signature = pairs
            .iter()
            .find(|(n, _)| n == "webhook-signature")
            .map(|(_, v)| v.as_str());
        assert_eq!(signature, Some(SIG), "{private}");
        assert_eq!(public_key_of(&Secret::new(private)).as_deref(), Ok(PUBLIC));
    }
}

#[test]
fn v1_and_v1a_entries_mix_in_one_header_and_either_kind_of_secret_matches() {
    let hmac_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let src_hmac = source(Scheme::StandardWebhooks, &[hmac_secret]);
    let v1 = sign(&src_hmac, &Secret::new(hmac_secret), BODY, TS, ID).expect("sign")[2]
        .1
        .clone();
    let mixed = format!("{OTHER_SIG} {v1} {SIG}");
    // The position of the secret that matched is reported, whichever kind it is.
    let both = source(
        Scheme::StandardWebhooks,
        &[OTHER_PUBLIC, hmac_secret, PUBLIC],
    );
    assert_eq!(verify_matched(&both, &headers(&mixed), BODY, TS), Ok(0));
    let hmac_first = source(Scheme::StandardWebhooks, &[hmac_secret, PUBLIC]);
    assert_eq!(
        verify_matched(&hmac_first, &headers(&mixed), BODY, TS),
        Ok(0)
    );
    let only_public = source(Scheme::StandardWebhooks, &[PUBLIC]);
    assert_eq!(
        verify_matched(&only_public, &headers(&mixed), BODY, TS),
        Ok(0)
    );
    // A v1 entry never satisfies a public key, nor a v1a entry an HMAC secret.
    assert_eq!(
        verify(&only_public, &headers(&v1), BODY, TS),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(&src_hmac, &headers(SIG), BODY, TS),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn forgeries_are_refused() {
    let src = source(Scheme::StandardWebhooks, &[PUBLIC]);
    let raw = b64_decode(SIG.trim_start_matches("v1a,"));
    let mut flipped = raw.clone();
    flipped[10] ^= 0x01;
    // The same signature with S + L (the group order): valid under lax verification,
    // refused by strict verification (signature malleability).
    let mut malleated = raw.clone();
    let order: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (byte, add) in malleated[32..].iter_mut().zip(order) {
        let sum = u16::from(*byte) + u16::from(add) + carry;
        *byte = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    let cases = [
        ("another key's signature", OTHER_SIG.to_owned()),
        ("a flipped bit", format!("v1a,{}", b64(&flipped))),
        ("S + L", format!("v1a,{}", b64(&malleated))),
        ("truncated", format!("v1a,{}", b64(&raw[..63]))),
        (
            "the v1a signature tagged v1",
            SIG.replacen("v1a,", "v1,", 1),
        ),
        ("all zeros", format!("v1a,{}", b64(&[0u8; 64]))),
        ("not base64", "v1a,%%%".to_owned()),
    ];
    for (what, header) in cases {
        assert_eq!(
            verify(&src, &headers(&header), BODY, TS),
            Err(SignatureError::Mismatch),
            "{what}"
        );
    }
    // The right signature over other bytes, or with another id or time.
    assert!(verify(&src, &headers(SIG), br#"{"test": 2432232315}"#, TS).is_err());
    let moved = header_map([
        ("webhook-id", ID.to_owned()),
        ("webhook-timestamp", (TS + 1).to_string()),
        ("webhook-signature", SIG.to_owned()),
    ]);
    assert!(verify(&src, &moved, BODY, TS).is_err());
    let svix = source(Scheme::Svix, &[PUBLIC]);
    assert!(verify(&svix, &headers(SIG), BODY, TS).is_err());
}

#[test]
fn the_official_v1_vectors_keep_their_verdicts_beside_a_v1a_key() {
    let cases = vectors::load("standard-webhooks.json");
    let mut checked = 0;
    for case in cases.as_array().expect("array") {
        let (Some(secret), Some(body), Some(now)) = (
            case["secret"].as_str(),
            case["body"].as_str(),
            case["timestamp_now"].as_i64(),
        ) else {
            continue;
        };
        let name = case["name"].as_str().unwrap_or_default();
        let valid = case["expect"] == "valid";
        let map = header_map(
            case["headers"]
                .as_object()
                .expect("headers")
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str().unwrap_or_default())),
        );
        // A public key beside the secret changes nothing: no v1a entry is in these headers.
        let src = source(Scheme::StandardWebhooks, &[PUBLIC, secret]);
        let verdict = verify(&src, &map, body.as_bytes(), now);
        assert_eq!(verdict.is_ok(), valid, "{name}: {verdict:?}");
        if valid {
            assert_eq!(
                verify_matched(&src, &map, body.as_bytes(), now),
                Ok(1),
                "{name}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} cases read");
}

#[test]
fn key_checks_say_which_key_belongs_where_without_echoing_it() {
    assert_eq!(
        check_secret(Scheme::StandardWebhooks, &Secret::new(PUBLIC)),
        Ok(())
    );
    let e = check_secret(Scheme::StandardWebhooks, &Secret::new(PRIVATE)).expect_err("private");
    assert!(e.contains("whpk_") && !e.contains(PRIVATE), "{e}");
    assert_eq!(
        check_signing_secret(Scheme::StandardWebhooks, &Secret::new(PRIVATE)),
        Ok(())
    );
    let e = check_signing_secret(Scheme::StandardWebhooks, &Secret::new(PUBLIC)).expect_err("pub");
    assert!(!e.contains(PUBLIC), "{e}");
    // The identity point (small order) would accept forged signatures: refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = format!("whpk_{}", b64(&identity));
    assert!(check_secret(Scheme::StandardWebhooks, &Secret::new(weak)).is_err());
    for bad in ["whpk_", "whpk_AAAA", "whpk_!!!", "whsk_AAAA"] {
        assert!(
            check_secret(Scheme::StandardWebhooks, &Secret::new(bad)).is_err(),
            "{bad}"
        );
    }
    let mut mismatched = b64_decode(PRIVATE_PAIR.trim_start_matches("whsk_"));
    mismatched[40] ^= 1;
    let bad_pair = format!("whsk_{}", b64(&mismatched));
    assert!(check_signing_secret(Scheme::StandardWebhooks, &Secret::new(bad_pair)).is_err());
}

#[test]
fn an_expired_key_no_longer_verifies_and_a_future_one_not_yet() {
    let mut src = source(Scheme::StandardWebhooks, &[PUBLIC]);
    src.secrets[0] = SourceSecret {
        not_after: Some(TS),
        ..SourceSecret::new(PUBLIC)
    };
    assert_eq!(
        verify(&src, &headers(SIG), BODY, TS),
        Err(SignatureError::NoLiveSecret)
    );
    assert_eq!(verify_matched(&src, &headers(SIG), BODY, TS - 1), Ok(0));
    src.secrets[0] = SourceSecret {
        not_before: Some(TS + 1),
        ..SourceSecret::new(PUBLIC)
    };
    assert_eq!(
        verify(&src, &headers(SIG), BODY, TS),
        Err(SignatureError::NoLiveSecret)
    );
    // An expired secret beside a live one is skipped: the live one must match.
    src.secrets = vec![
        SourceSecret {
            not_after: Some(TS),
            ..SourceSecret::new(PUBLIC)
        },
        SourceSecret::new(OTHER_PUBLIC),
    ];
    assert_eq!(
        verify(&src, &headers(SIG), BODY, TS),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(verify_matched(&src, &headers(OTHER_SIG), BODY, TS), Ok(1));
}
