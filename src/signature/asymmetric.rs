//! Standard Webhooks' asymmetric scheme `v1a`: Ed25519 over the same `{id}.{timestamp}.{body}`
//! as `v1`. A receiver pins the sender's public key, shown as `whpk_` + base64 of its 32
//! bytes; the sender signs with its private key, `whsk_` + base64 of the 32-byte seed (or of
//! the 64-byte seed-and-public-key pair that libsodium-style tools print; the public half must
//! then match the seed).
//!
//! Verification is `verify_strict` (RFC 8032 with the checks that refuse small-order keys and
//! non-canonical signatures), so one message has one accepted signature per key.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::mac;
use crate::config::Secret;

/// The prefix of a public (verifying) key.
pub(super) const PUBLIC_PREFIX: &str = "whpk_";
/// The prefix of a private (signing) key.
pub(super) const PRIVATE_PREFIX: &str = "whsk_";

/// The verifying key of a `whpk_` secret.
pub(super) fn public_key(secret: &Secret) -> Result<VerifyingKey, String> {
    let encoded = secret
        .expose()
        .strip_prefix(PUBLIC_PREFIX)
        .ok_or("a v1a public key starts with whpk_")?;
    let bytes: [u8; 32] = mac::decode_secret_base64(encoded)
        .and_then(|b| b.try_into().ok())
        .ok_or(
            "the whpk_ public key is not base64 of 32 bytes; copy the sender's public key exactly",
        )?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "the whpk_ public key is not a valid Ed25519 key".to_owned())?;
    if key.is_weak() {
        return Err("the whpk_ public key is a small-order point and verifies anything".into());
    }
    Ok(key)
}

/// The signing key of a `whsk_` secret.
pub(super) fn private_key(secret: &Secret) -> Result<SigningKey, String> {
    let encoded = secret
        .expose()
        .strip_prefix(PRIVATE_PREFIX)
        .ok_or("a v1a private key starts with whsk_")?;
    let bad = || {
        "the whsk_ private key is not base64 of a 32-byte seed (or a 64-byte seed and public key)"
            .to_owned()
    };
    let bytes = mac::decode_secret_base64(encoded).ok_or_else(bad)?;
    match bytes.len() {
        32 => {
            let seed: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
            Ok(SigningKey::from_bytes(&seed))
        }
        64 => {
            let (seed, public) = bytes.split_at(32);
            let seed: [u8; 32] = seed.try_into().map_err(|_| bad())?;
            let key = SigningKey::from_bytes(&seed);
            if key.verifying_key().as_bytes().as_slice() != public {
                return Err("the whsk_ private key's public half does not match its seed".into());
            }
            Ok(key)
        }
        _ => Err(bad()),
    }
}

/// The `whpk_` form of a signing key's public key (what the receiver configures).
pub fn public_key_of(secret: &Secret) -> Result<String, String> {
    let key = private_key(secret)?;
    Ok(format!(
        "{PUBLIC_PREFIX}{}",
        mac::encode_base64(key.verifying_key().as_bytes())
    ))
}

/// Whether `signature` (64 bytes) is a strict Ed25519 signature of the parts' concatenation.
pub(super) fn verify(key: &VerifyingKey, parts: &[&[u8]], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    key.verify_strict(&parts.concat(), &signature).is_ok()
}

/// The Ed25519 signature of the parts' concatenation.
pub(super) fn sign(key: &SigningKey, parts: &[&[u8]]) -> [u8; 64] {
    key.sign(&parts.concat()).to_bytes()
}
