//! `private_key_jwt` client assertions (RFC 7523): a JWT signed with the client's private key,
//! sent instead of a client secret to get an access token (Okta service apps require it;
//! Entra accepts it for certificate credentials).
//!
//! Keys are PEM: PKCS#8 (`BEGIN PRIVATE KEY`, RSA or P-256) or PKCS#1 (`BEGIN RSA PRIVATE
//! KEY`). RSA keys sign RS256, P-256 keys ES256. The signatures come from `ring`, which the
//! TLS stack already builds: no new C code. Pure apart from the random generator ring uses for
//! ECDSA nonces and RSA blinding; the clock is a parameter.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};

/// A private key that signs client assertions. Its `Debug` never shows the key.
pub struct SigningKey {
    key: Key,
    rng: SystemRandom,
}

enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.alg())
    }
}

impl SigningKey {
    /// Reads a PEM private key. The error says what is wrong and how to fix it, never the key.
    pub fn from_pem(pem: &str) -> Result<SigningKey, String> {
        let (label, der) = pem_block(pem)?;
        let rng = SystemRandom::new();
        let key = match label.as_str() {
            "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(&der) {
                Ok(k) => Key::Rsa(k),
                Err(rsa) => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
                    .map(Key::Ec)
                    .map_err(|ec| {
                        format!(
                            "a PKCS#8 key that is neither RSA ({rsa}) nor P-256 ({ec}); use an \
                             RSA (2048 bits or more) or P-256 key"
                        )
                    })?,
            },
            "RSA PRIVATE KEY" => Key::Rsa(RsaKeyPair::from_der(&der).map_err(|e| {
                format!("not a usable PKCS#1 RSA key ({e}); RSA keys need 2048 bits or more")
            })?),
            "EC PRIVATE KEY" => {
                return Err(
                    "a SEC1 EC key: convert it to PKCS#8 with `openssl pkcs8 -topk8 \
                            -nocrypt -in key.pem`"
                        .into(),
                );
            }
            "ENCRYPTED PRIVATE KEY" => {
                return Err(
                    "an encrypted key: give it decrypted (`openssl pkcs8 -in key.pem`), \
                            kept in a file: or env: secret"
                        .into(),
                );
            }
            other => return Err(format!("a PEM `{other}` block, not a private key")),
        };
        Ok(SigningKey { key, rng })
    }

    /// The JWS algorithm: `RS256` or `ES256`.
    pub fn alg(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
        }
    }

    /// A client assertion for `client_id` at the token endpoint `audience`, valid from `now`
    /// (unix seconds) for five minutes, with a fresh `jti`.
    pub fn client_assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
    ) -> Result<String, String> {
        self.client_assertion_with(client_id, audience, now, None)
    }

    /// [`Self::client_assertion`] with the certificate's `x5t` in the header when given.
    pub fn client_assertion_with(
        &self,
        client_id: &str,
        audience: &str,
        now: i64,
        x5t: Option<&str>,
    ) -> Result<String, String> {
        let mut header = serde_json::json!({ "alg": self.alg(), "typ": "JWT" });
        if let Some(t) = x5t {
            header["x5t"] = serde_json::Value::String(t.to_owned());
        }
        let claims = serde_json::json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.sign(signing_input.as_bytes())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match &self.key {
            Key::Rsa(k) => {
                let mut out = vec![0; k.public().modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut out)
                    .map_err(|_| "RSA signing failed".to_owned())?;
                Ok(out)
            }
            Key::Ec(k) => k
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".to_owned()),
        }
    }

    /// The public key, as `ring` verifies with it (tests).
    #[cfg(test)]
    fn public_key(&self) -> Vec<u8> {
        use ring::signature::KeyPair as _;
        match &self.key {
            Key::Rsa(k) => k.public_key().as_ref().to_vec(),
            Key::Ec(k) => k.public_key().as_ref().to_vec(),
        }
    }
}

/// The label and the decoded body of the first PEM block.
fn pem_block(pem: &str) -> Result<(String, Vec<u8>), String> {
    let blocks = pem_blocks(pem)?;
    // A certificate given with its key (Entra's certificate credentials) is not the key.
    let mut first = None;
    for (label, der) in blocks {
        if label != "CERTIFICATE" {
            return Ok((label, der));
        }
        first.get_or_insert((label, der));
    }
    first.ok_or_else(|| "not PEM: no block".to_owned())
}

/// Every PEM block of `pem`, in order: (label, DER).
fn pem_blocks(pem: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut text = pem.trim();
    if !text.starts_with("-----BEGIN ") {
        return Err(
            "not PEM: expected `-----BEGIN PRIVATE KEY-----` (give the key's PEM text, e.g. \
             private_key = \"file:/run/secrets/okta-key.pem\")"
                .into(),
        );
    }
    let mut out = Vec::new();
    while let Some(start) = text.find("-----BEGIN ") {
        let rest = &text[start + "-----BEGIN ".len()..];
        let (label, body) = rest
            .split_once("-----")
            .ok_or("not PEM: the BEGIN line is not closed")?;
        let end = format!("-----END {label}-----");
        let (body, after) = body
            .split_once(&end)
            .ok_or_else(|| format!("not PEM: no `{end}` line"))?;
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(b64)
            .map_err(|_| "not PEM: the body is not base64".to_owned())?;
        out.push((label.to_owned(), der));
        text = after;
    }
    Ok(out)
}

/// The `x5t` of the first `CERTIFICATE` block in `pem`: the base64url SHA-1 thumbprint of the
/// certificate's DER, which Entra needs in the header of a certificate credential's assertion
/// to find the certificate registered with the app. `None` without a certificate block.
pub fn certificate_thumbprint(pem: &str) -> Option<String> {
    pem_blocks(pem)
        .ok()?
        .into_iter()
        .find(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| {
            let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
            URL_SAFE_NO_PAD.encode(digest.as_ref())
        })
}

#[cfg(test)]
mod tests {
    use ring::signature::{ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    use serde_json::Value;

    use super::*;

    const RSA: &str = include_str!("../../tests/fixtures/test-only-rsa-key.pem");
    const RSA_PKCS1: &str = include_str!("../../tests/fixtures/test-only-rsa-pkcs1-key.pem");
    const P256: &str = include_str!("../../tests/fixtures/test-only-p256-key.pem");

    fn part(jwt: &str, i: usize) -> Value {
        let p = jwt.split('.').nth(i).expect("part");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("base64url")).expect("json")
    }

    #[test]
    fn assertions_carry_the_claims_okta_checks_and_verify_with_the_public_key() {
        for (pem, alg) in [(RSA, "RS256"), (RSA_PKCS1, "RS256"), (P256, "ES256")] {
            let key = SigningKey::from_pem(pem).expect("key");
            assert_eq!(key.alg(), alg);
            let aud = "https://acme.okta.com/oauth2/v1/token";
            let jwt = key
                .client_assertion("0oa1", aud, 1_800_000_000)
                .expect("signs");
            let header = part(&jwt, 0);
            assert_eq!(header["alg"], alg);
            let claims = part(&jwt, 1);
            assert_eq!(claims["iss"], "0oa1");
            assert_eq!(claims["sub"], "0oa1");
            assert_eq!(claims["aud"], aud);
            assert_eq!(claims["exp"], 1_800_000_300_i64);
            assert!(claims["jti"].as_str().is_some_and(|j| j.len() == 36));

            let (input, sig) = jwt.rsplit_once('.').expect("three parts");
            let sig = URL_SAFE_NO_PAD.decode(sig).expect("signature");
            let public = key.public_key();
            let verified = if alg == "RS256" {
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
                    .verify(input.as_bytes(), &sig)
            } else {
                assert_eq!(sig.len(), 64, "ES256 is r||s, not DER");
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
                    .verify(input.as_bytes(), &sig)
            };
            assert!(verified.is_ok(), "{alg} signature verifies");
            let mut tampered = input.to_owned();
            tampered.push('x');
            let forged = UnparsedPublicKey::new(
                if alg == "RS256" {
                    &RSA_PKCS1_2048_8192_SHA256
                } else {
                    &ECDSA_P256_SHA256_FIXED
                },
                &public,
            )
            .verify(tampered.as_bytes(), &sig);
            assert!(forged.is_err(), "{alg}: a changed input does not verify");
            let second = key
                .client_assertion("0oa1", aud, 1_800_000_000)
                .expect("signs");
            assert_ne!(
                part(&second, 1)["jti"],
                claims["jti"],
                "a fresh jti each time"
            );
        }
    }

    #[test]
    fn unusable_keys_are_refused_with_a_fix_and_without_the_key() {
        let cases = [
            ("not a key", "not PEM"),
            (
                "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----",
                "not base64",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n",
                "no `-----END PRIVATE KEY-----`",
            ),
            (
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
                "openssl pkcs8 -topk8",
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
                "encrypted",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                "not a private key",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                "neither RSA",
            ),
        ];
        for (pem, want) in cases {
            let err = SigningKey::from_pem(pem).expect_err(pem);
            assert!(err.contains(want), "{pem}: {err}");
            assert!(!err.contains("AAAA"), "the key text is never echoed: {err}");
        }
        let debug = format!("{:?}", SigningKey::from_pem(RSA).expect("key"));
        assert_eq!(debug, "SigningKey(RS256)");
    }
}
