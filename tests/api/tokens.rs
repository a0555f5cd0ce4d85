//! The internal API's bearer tokens every test app is configured with.

/// Bearer tokens of the internal API configured in every test app: one with every scope, and
/// one lacking each scope (scopes are independent).
pub const TOKEN_ALL: &str = "dgs-test-token-all";
pub const TOKEN_NO_READ: &str = "dgs-test-token-no-read";
pub const TOKEN_NO_WRITE: &str = "dgs-test-token-no-write";
pub const TOKEN_NO_ADMIN: &str = "dgs-test-token-no-admin";
/// A token with the `read` scope alone (the console's read-only operator).
pub const TOKEN_READ_ONLY: &str = "dgs-test-token-read-only";

/// The token that has every scope but `scope`.
pub fn token_without(scope: &str) -> &'static str {
    match scope {
        "read" => TOKEN_NO_READ,
        "write" => TOKEN_NO_WRITE,
        "admin" => TOKEN_NO_ADMIN,
        other => panic!("unknown scope {other}"),
    }
}

/// The `[[api.tokens]]` of the test config (hashes only, as in production).
pub fn api_tokens_toml() -> String {
    use sha2::Digest;
    [
        ("all", TOKEN_ALL, r#"["read", "write", "admin"]"#),
        ("no-read", TOKEN_NO_READ, r#"["write", "admin"]"#),
        ("no-write", TOKEN_NO_WRITE, r#"["read", "admin"]"#),
        ("no-admin", TOKEN_NO_ADMIN, r#"["read", "write"]"#),
        ("read-only", TOKEN_READ_ONLY, r#"["read"]"#),
    ]
    .iter()
    .map(|(name, token, scopes)| {
        let hash = hex::encode(sha2::Sha256::digest(token.as_bytes()));
        format!("[[api.tokens]]\nname = \"{name}\"\nsha256 = \"{hash}\"\nscopes = {scopes}\n")
    })
    .collect::<Vec<_>>()
    .join("\n")
}
