//! Okta: the static header, its configured name, rotation.

use super::{header_map, source};
use crate::config::{Scheme, Secret};
use crate::signature::{SignatureError, check_secret, sign, verify};

const SECRET: &str = "Basic YWRtaW46c3VwZXJzZWNyZXQ=";

#[test]
fn the_configured_header_must_equal_a_secret() {
    let source = source(Scheme::Okta, &["Bearer old", SECRET]);
    let ok = header_map([("authorization", SECRET)]);
    assert_eq!(verify(&source, &ok, b"", 0), Ok(()));
    let wrong = header_map([("Authorization", "Basic d3Jvbmc6d3Jvbmc=")]);
    assert_eq!(
        verify(&source, &wrong, b"", 0),
        Err(SignatureError::Mismatch)
    );
    let prefix = header_map([("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ")]);
    assert_eq!(
        verify(&source, &prefix, b"", 0),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_custom_header_name_is_used_for_verify_and_sign() {
    let mut source = source(Scheme::Okta, &[SECRET]);
    source.header = "X-Okta-Secret".into();
    let pairs = sign(&source, &Secret::new(SECRET), b"{}", 0, "").expect("sign");
    assert_eq!(pairs, vec![("X-Okta-Secret".to_owned(), SECRET.to_owned())]);
    assert_eq!(verify(&source, &header_map(pairs), b"{}", 0), Ok(()));
    let result = verify(&source, &header_map([("Authorization", SECRET)]), b"{}", 0);
    assert_eq!(
        result,
        Err(SignatureError::MissingHeader("X-Okta-Secret".into()))
    );
}

#[test]
fn an_empty_header_setting_falls_back_to_authorization() {
    let mut source = source(Scheme::Okta, &[SECRET]);
    source.header = String::new();
    assert_eq!(
        verify(&source, &header_map([("Authorization", SECRET)]), b"", 0),
        Ok(())
    );
}

#[test]
fn check_secret_refuses_values_that_cannot_be_headers() {
    assert_eq!(check_secret(Scheme::Okta, &Secret::new(SECRET)), Ok(()));
    for bad in ["", "Basic abc\n", "a\u{7}b", " Basic abc"] {
        assert!(
            check_secret(Scheme::Okta, &Secret::new(bad)).is_err(),
            "{bad:?}"
        );
    }
}
