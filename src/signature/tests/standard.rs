//! Standard Webhooks and Svix: the official fixed vector, signature lists, header flavours,
//! secret decoding.

use super::{header_map, source, value, with};
use crate::config::{Scheme, Secret};
use crate::signature::{SignatureError, check_secret, sign, verify};

// The official fixed vector of the Standard Webhooks libraries' "sign" test.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS: i64 = 1_614_265_330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const OTHER: &str = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

fn official(prefix: &str, signature: &str) -> axum::http::HeaderMap {
    header_map([
        (format!("{prefix}-id"), ID.to_owned()),
        (format!("{prefix}-timestamp"), TS.to_string()),
        (format!("{prefix}-signature"), signature.to_owned()),
    ])
}

#[test]
fn sign_reproduces_the_official_vector() {
    let source = source(Scheme::StandardWebhooks, &[SECRET]);
    let pairs = sign(&source, &Secret::new(SECRET), BODY, TS, ID).expect("sign");
    let expected = [
        ("webhook-id", ID.to_owned()),
        ("webhook-timestamp", TS.to_string()),
        ("webhook-signature", SIGNATURE.to_owned()),
    ];
    assert_eq!(pairs.len(), expected.len());
    for ((name, value), (want_name, want_value)) in pairs.iter().zip(expected) {
        assert_eq!(
            (name.as_str(), value.as_str()),
            (want_name, want_value.as_str())
        );
    }
}

#[test]
fn official_vector_verifies_with_and_without_prefix() {
    for secret in [SECRET, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
        let source = source(Scheme::StandardWebhooks, &[secret]);
        assert_eq!(
            verify(&source, &official("webhook", SIGNATURE), BODY, TS),
            Ok(())
        );
    }
}

#[test]
fn any_v1_entry_may_match_and_other_versions_are_skipped() {
    let source = source(Scheme::StandardWebhooks, &[SECRET]);
    let list = format!("{OTHER} v2,{} {SIGNATURE} {OTHER}", &SIGNATURE[3..]);
    assert_eq!(
        verify(&source, &official("webhook", &list), BODY, TS),
        Ok(())
    );

    let only_v2 = format!("v2,{}", &SIGNATURE[3..]);
    let result = verify(&source, &official("webhook", &only_v2), BODY, TS);
    assert_eq!(result, Err(SignatureError::Mismatch));

    let none = format!("{OTHER} {OTHER}");
    let result = verify(&source, &official("webhook", &none), BODY, TS);
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn partial_and_garbled_signatures_do_not_match() {
    let source = source(Scheme::StandardWebhooks, &[SECRET]);
    for garbled in ["v1,", "v1,g0hM9", "v1,not base64!", "g0hM9SsE", "v1;abc"] {
        let result = verify(&source, &official("webhook", garbled), BODY, TS);
        assert_eq!(result, Err(SignatureError::Mismatch), "{garbled}");
    }
}

#[test]
fn unparseable_timestamps_are_malformed() {
    let source = source(Scheme::StandardWebhooks, &[SECRET]);
    for bad in ["hello", "-1614265330", "1614265330.0", "1e9"] {
        let map = with(official("webhook", SIGNATURE), "webhook-timestamp", bad);
        let result = verify(&source, &map, BODY, TS);
        assert!(
            matches!(result, Err(SignatureError::Malformed(_))),
            "{bad}: {result:?}"
        );
    }
}

#[test]
fn a_whitespace_only_signature_header_is_missing() {
    let source = source(Scheme::StandardWebhooks, &[SECRET]);
    let map = with(official("webhook", SIGNATURE), "webhook-signature", "   ");
    let result = verify(&source, &map, BODY, TS);
    assert_eq!(
        result,
        Err(SignatureError::MissingHeader("webhook-signature".into()))
    );
}

#[test]
fn id_and_timestamp_are_signed() {
    let source = source(Scheme::StandardWebhooks, &[SECRET]);
    let map = with(official("webhook", SIGNATURE), "webhook-id", "msg_other");
    assert_eq!(
        verify(&source, &map, BODY, TS),
        Err(SignatureError::Mismatch)
    );
    let map = with(
        official("webhook", SIGNATURE),
        "webhook-timestamp",
        "1614265331",
    );
    assert_eq!(
        verify(&source, &map, BODY, TS),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn standard_webhooks_does_not_read_svix_headers() {
    let source = source(Scheme::StandardWebhooks, &[SECRET]);
    let result = verify(&source, &official("svix", SIGNATURE), BODY, TS);
    assert_eq!(
        result,
        Err(SignatureError::MissingHeader("webhook-id".into()))
    );
}

#[test]
fn svix_accepts_both_header_names_and_prefers_svix() {
    let source = source(Scheme::Svix, &[SECRET]);
    assert_eq!(
        verify(&source, &official("svix", SIGNATURE), BODY, TS),
        Ok(())
    );
    assert_eq!(
        verify(&source, &official("webhook", SIGNATURE), BODY, TS),
        Ok(())
    );

    // Both present: the svix-* signature decides, even when webhook-* would match.
    let mut both = official("webhook", SIGNATURE);
    both.extend(official("svix", OTHER));
    assert_eq!(
        verify(&source, &both, BODY, TS),
        Err(SignatureError::Mismatch)
    );
    let mut both = official("webhook", OTHER);
    both.extend(official("svix", SIGNATURE));
    assert_eq!(verify(&source, &both, BODY, TS), Ok(()));
}

#[test]
fn svix_sign_uses_svix_names() {
    let source = source(Scheme::Svix, &[SECRET]);
    let map = header_map(sign(&source, &Secret::new(SECRET), BODY, TS, ID).expect("sign"));
    assert_eq!(value(&map, "svix-signature"), SIGNATURE);
    assert_eq!(value(&map, "svix-id"), ID);
    assert!(map.get("webhook-signature").is_none());
}

#[test]
fn unpadded_secrets_are_accepted() {
    // Vector "unpadded base64 secret (31 chars)": python pads and accepts; our policy too.
    let source = source(
        Scheme::StandardWebhooks,
        &["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"],
    );
    let signature = "v1,LVOXivKoo4FWasi/IaHvzhE/u+7/cu2AME+zS/nXqzk=";
    assert_eq!(
        verify(&source, &official("webhook", signature), BODY, TS),
        Ok(())
    );
}

#[test]
fn undecodable_secrets_are_skipped_and_all_undecodable_is_misconfigured() {
    let source = source(Scheme::StandardWebhooks, &["whsec_!!!", SECRET]);
    assert_eq!(
        verify(&source, &official("webhook", SIGNATURE), BODY, TS),
        Ok(())
    );
    let source = source_only_bad();
    let result = verify(&source, &official("webhook", SIGNATURE), BODY, TS);
    assert!(matches!(result, Err(SignatureError::Misconfigured(_))));
}

fn source_only_bad() -> crate::config::SourceConfig {
    source(Scheme::Svix, &["whsec_!!!", "whsec_"])
}

#[test]
fn check_secret_explains_unusable_secrets_without_echoing_them() {
    for scheme in [Scheme::StandardWebhooks, Scheme::Svix] {
        assert_eq!(check_secret(scheme, &Secret::new(SECRET)), Ok(()));
        assert_eq!(
            check_secret(scheme, &Secret::new("C2FVsBQIhrscChlQIMV+b5sSYspob7oD")),
            Ok(())
        );
        for bad in [
            "",
            "whsec_",
            "whsec_not*base64",
            "whsec_A",
            " whsec_abcd",
            "whsec_abcd\n",
        ] {
            let message = check_secret(scheme, &Secret::new(bad)).expect_err(bad);
            assert!(!message.is_empty());
            if bad.len() > 6 {
                assert!(!message.contains(bad.trim()), "{message}");
            }
        }
    }
}
