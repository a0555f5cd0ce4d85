//! The cryptographic primitives every scheme shares: HMAC over a sequence of byte parts,
//! constant-time comparison, and the encodings senders use for keys and digests.
//!
//! Nothing here knows about headers or schemes; the scheme files decide what is signed.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::config::HmacAlgorithm;

use super::SignatureError;

/// Standard-alphabet base64 for secrets: accepts input with or without `=` padding and ignores
/// non-zero trailing bits, as the python Standard Webhooks library does (it appends `==`
/// before a lenient decode). Encoding with it always pads.
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Standard-alphabet base64 for incoming signatures: padding optional, but trailing bits must
/// be zero, so one digest has exactly one accepted spelling (apart from the padding).
const SIGNATURE_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// HMAC of the concatenation of `parts` under `key`.
pub(super) fn hmac(
    algorithm: HmacAlgorithm,
    key: &[u8],
    parts: &[&[u8]],
) -> Result<Vec<u8>, SignatureError> {
    match algorithm {
        HmacAlgorithm::Sha256 => hmac_with::<Hmac<Sha256>>(key, parts),
        HmacAlgorithm::Sha512 => hmac_with::<Hmac<Sha512>>(key, parts),
    }
}

fn hmac_with<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, SignatureError> {
    // HMAC takes keys of any length; the error path exists only because `KeyInit` is generic.
    let mut mac = <M as KeyInit>::new_from_slice(key)
        .map_err(|_| SignatureError::Misconfigured("the HMAC key was rejected"))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

/// HMAC-SHA256, the algorithm of every named scheme.
pub(super) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, SignatureError> {
    hmac(HmacAlgorithm::Sha256, key, parts)
}

/// Constant-time equality. Lengths are not secret (every digest of one algorithm has the
/// same length), so unequal lengths return `false` at once.
pub(super) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Constant-time equality of two values of any length that leaks neither length: both are
/// hashed with SHA-256 first, and the digests compared.
pub(super) fn ct_eq_hashed(a: &[u8], b: &[u8]) -> bool {
    let a = Sha256::digest(a);
    let b = Sha256::digest(b);
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

/// Decodes a base64 secret, with or without padding (see [`SECRET_BASE64`]).
pub(super) fn decode_secret_base64(text: &str) -> Option<Vec<u8>> {
    SECRET_BASE64.decode(text).ok()
}

/// Decodes a base64 signature, with or without padding (see [`SIGNATURE_BASE64`]).
pub(super) fn decode_signature_base64(text: &str) -> Option<Vec<u8>> {
    SIGNATURE_BASE64.decode(text).ok()
}

/// Encodes bytes as padded standard base64.
pub(super) fn encode_base64(bytes: &[u8]) -> String {
    SIGNATURE_BASE64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]).expect("hmac");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_sha512_matches_rfc_4231_case_2() {
        let mac = hmac(
            HmacAlgorithm::Sha512,
            b"Jefe",
            &[b"what do ya want for nothing?"],
        )
        .expect("hmac");
        assert_eq!(
            hex::encode(mac),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a\
             6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
    }

    #[test]
    fn ct_eq_compares_content_and_length() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(ct_eq_hashed(b"Basic x", b"Basic x"));
        assert!(!ct_eq_hashed(b"Basic x", b"Basic xy"));
    }

    #[test]
    fn secret_base64_accepts_missing_padding_and_trailing_bits() {
        assert_eq!(decode_secret_base64("YWI="), Some(b"ab".to_vec()));
        assert_eq!(decode_secret_base64("YWI"), Some(b"ab".to_vec()));
        // `YWJ` has non-zero trailing bits; python's lenient decoder ignores them too.
        assert_eq!(decode_secret_base64("YWJ"), Some(b"ab".to_vec()));
        assert_eq!(decode_secret_base64("not base64!"), None);
    }

    #[test]
    fn signature_base64_accepts_missing_padding_but_not_trailing_bits() {
        assert_eq!(decode_signature_base64("YWI="), Some(b"ab".to_vec()));
        assert_eq!(decode_signature_base64("YWI"), Some(b"ab".to_vec()));
        assert_eq!(decode_signature_base64("YWJ"), None);
        assert_eq!(encode_base64(b"ab"), "YWI=");
    }
}
