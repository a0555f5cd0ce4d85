//! Behaviour every scheme shares, checked through `sign` then `verify`: round trip, rotation,
//! wrong secret, tampered body, the window at and beyond its bounds, and each missing header.

use super::{NOW, header_map, signed_with, source, without};
use crate::config::{
    HmacAlgorithm, HmacEncoding, HmacProfile, Scheme, Secret, SignedContent, SourceConfig,
};
use crate::signature::{SignatureError, sign, verify};

const BODY: &[u8] = br#"{"id":"evt_1","type":"user.onboarded"}"#;

/// Three secrets usable by every scheme (base64, so Standard Webhooks can decode them): the
/// source holds the first two, the third is a stranger's.
const FIRST: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECOND: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const STRANGER: &str = "whsec_plJ3nmyCDGBKInavdOK15jsl";

/// A generic profile that signs `id.timestamp.body` with SHA-512 in base64 behind a prefix.
pub(super) fn full_profile() -> HmacProfile {
    HmacProfile {
        header: "X-Signature".into(),
        algorithm: HmacAlgorithm::Sha512,
        encoding: HmacEncoding::Base64,
        prefix: Some("sha512=".into()),
        signed: SignedContent::IdTimestampBody,
        timestamp_header: Some("X-Timestamp".into()),
        id_header: Some("X-Id".into()),
    }
}

/// Every scheme, the generic one in each `signed` shape, holding [`FIRST`] and [`SECOND`].
fn all_sources() -> Vec<SourceConfig> {
    let mut sources: Vec<SourceConfig> = [
        Scheme::StandardWebhooks,
        Scheme::Svix,
        Scheme::Github,
        Scheme::Stripe,
        Scheme::Workos,
        Scheme::Bamboohr,
        Scheme::Okta,
    ]
    .into_iter()
    .map(|scheme| source(scheme, &[FIRST, SECOND]))
    .collect();
    for (signed, encoding) in [
        (SignedContent::Body, HmacEncoding::Hex),
        (SignedContent::TimestampBody, HmacEncoding::Hex),
        (SignedContent::IdTimestampBody, HmacEncoding::Base64),
    ] {
        let mut generic = source(Scheme::Hmac, &[FIRST, SECOND]);
        generic.hmac = Some(HmacProfile {
            signed,
            encoding,
            ..full_profile()
        });
        sources.push(generic);
    }
    sources
}

fn label(source: &SourceConfig) -> String {
    match &source.hmac {
        Some(profile) => format!("{:?}/{:?}", source.scheme, profile.signed),
        None => format!("{:?}", source.scheme),
    }
}

fn has_timestamp(source: &SourceConfig) -> bool {
    match source.scheme {
        Scheme::Github | Scheme::Okta => false,
        Scheme::Hmac => source
            .hmac
            .as_ref()
            .is_some_and(|p| p.signed != SignedContent::Body),
        _ => true,
    }
}

#[test]
fn sign_then_verify_round_trips_for_every_scheme() {
    for source in all_sources() {
        let map = signed_with(&source, FIRST, BODY, NOW);
        assert_eq!(
            verify(&source, &map, BODY, NOW),
            Ok(()),
            "{}",
            label(&source)
        );
    }
}

#[test]
fn second_secret_matches_for_rotation() {
    for source in all_sources() {
        let map = signed_with(&source, SECOND, BODY, NOW);
        assert_eq!(
            verify(&source, &map, BODY, NOW),
            Ok(()),
            "{}",
            label(&source)
        );
    }
}

#[test]
fn a_stranger_secret_is_a_mismatch() {
    for source in all_sources() {
        let map = signed_with(&source, STRANGER, BODY, NOW);
        assert_eq!(
            verify(&source, &map, BODY, NOW),
            Err(SignatureError::Mismatch),
            "{}",
            label(&source)
        );
    }
}

#[test]
fn a_tampered_body_is_a_mismatch() {
    let tampered = br#"{"id":"evt_1","type":"user.offboarded"}"#;
    for source in all_sources()
        .into_iter()
        .filter(|s| s.scheme != Scheme::Okta)
    {
        let map = signed_with(&source, FIRST, BODY, NOW);
        assert_eq!(
            verify(&source, &map, tampered, NOW),
            Err(SignatureError::Mismatch),
            "{}",
            label(&source)
        );
    }
}

#[test]
fn window_is_inclusive_at_the_bound_and_rejects_beyond_it() {
    for source in all_sources().into_iter().filter(has_timestamp) {
        let name = label(&source);
        let tol = i64::try_from(source.tolerance_secs).expect("small tolerance");
        let map = signed_with(&source, FIRST, BODY, NOW);
        let at = |now| verify(&source, &map, BODY, now);
        assert_eq!(at(NOW + tol), Ok(()), "{name}: exactly at the past bound");
        assert_eq!(at(NOW + tol + 1), Err(SignatureError::Expired), "{name}");
        assert_eq!(at(NOW - tol), Ok(()), "{name}: exactly at the future bound");
        let future = if source.scheme == Scheme::Stripe {
            Ok(()) // Stripe's policy: only old timestamps are rejected.
        } else {
            Err(SignatureError::Future)
        };
        assert_eq!(at(NOW - tol - 1), future, "{name}");
    }
}

#[test]
fn schemes_without_timestamp_ignore_the_clock() {
    for source in all_sources().into_iter().filter(|s| !has_timestamp(s)) {
        let map = signed_with(&source, FIRST, BODY, NOW);
        assert_eq!(verify(&source, &map, BODY, 0), Ok(()), "{}", label(&source));
        assert_eq!(
            verify(&source, &map, BODY, i64::MAX),
            Ok(()),
            "{}",
            label(&source)
        );
    }
}

#[test]
fn each_missing_header_is_reported_by_name() {
    for source in all_sources() {
        let map = signed_with(&source, FIRST, BODY, NOW);
        for name in map.keys() {
            let result = verify(&source, &without(map.clone(), name.as_str()), BODY, NOW);
            match result {
                Err(SignatureError::MissingHeader(missing)) => assert!(
                    missing.eq_ignore_ascii_case(name.as_str()),
                    "{}: removed {name}, reported {missing}",
                    label(&source)
                ),
                other => panic!("{}: removed {name}, got {other:?}", label(&source)),
            }
        }
        let empty = verify(&source, &header_map::<&str, &str>([]), BODY, NOW);
        assert_eq!(empty.map_err(|e| e.reason()), Err("missing_header"));
    }
}

#[test]
fn a_source_without_secrets_is_misconfigured() {
    for mut source in all_sources() {
        let map = signed_with(&source, FIRST, BODY, NOW);
        source.secrets.clear();
        let result = verify(&source, &map, BODY, NOW);
        assert_eq!(result.map_err(|e| e.reason()), Err("misconfigured"));
    }
}

#[test]
fn sign_refuses_unusable_secrets() {
    for source in all_sources() {
        let result = sign(&source, &Secret::new(""), BODY, NOW, "msg_1");
        assert!(
            matches!(result, Err(SignatureError::Misconfigured(_))),
            "{}",
            label(&source)
        );
    }
}

#[test]
fn errors_never_contain_secrets_or_signatures() {
    for source in all_sources() {
        let map = signed_with(&source, STRANGER, BODY, NOW);
        let error = verify(&source, &map, BODY, NOW).expect_err("stranger secret");
        let message = format!("{error} {error:?}");
        for secret in [FIRST, SECOND, STRANGER] {
            assert!(!message.contains(secret), "{message}");
        }
        for value in map.values() {
            let value = value.to_str().expect("ascii");
            assert!(!message.contains(value), "{}: {message}", label(&source));
        }
    }
}

#[test]
fn empty_secrets_are_never_used() {
    // A request "signed" with an empty key, or an empty Okta header, must not pass even if
    // an empty secret slipped past config validation.
    let github = source(Scheme::Github, &["", FIRST]);
    let empty_key = hex::encode(crate::signature::mac::hmac_sha256(b"", &[BODY]).expect("hmac"));
    let map = header_map([("X-Hub-Signature-256", format!("sha256={empty_key}"))]);
    assert_eq!(
        verify(&github, &map, BODY, NOW),
        Err(SignatureError::Mismatch)
    );

    let okta = source(Scheme::Okta, &[""]);
    let map = header_map([("Authorization", "")]);
    let result = verify(&okta, &map, BODY, NOW);
    assert!(
        matches!(result, Err(SignatureError::Misconfigured(_))),
        "{result:?}"
    );
}
