//! `SignatureError`: why a request was not accepted as coming from its configured sender.
//!
//! Messages name headers and describe what was wrong, never a value: no secret, signature,
//! timestamp value or body byte ever appears in an error.

/// Why a request failed authentication. The HTTP layer answers every variant except
/// [`SignatureError::Misconfigured`] with a plain 401 and logs [`SignatureError::reason`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header the scheme requires is absent (the header name, as the scheme spells it).
    #[error("missing header {0}")]
    MissingHeader(String),
    /// A header is present but cannot be parsed (a short description of what is wrong).
    #[error("malformed signature headers: {0}")]
    Malformed(&'static str),
    /// The signed timestamp is older than the source's tolerance allows.
    #[error("timestamp is older than the allowed window")]
    Expired,
    /// The signed timestamp is further in the future than the source's tolerance allows.
    #[error("timestamp is too far in the future")]
    Future,
    /// No signature matched any configured secret (or the static header matched no secret).
    #[error("no signature matches a configured secret")]
    Mismatch,
    /// Every secret of the source is outside its `not_before` / `not_after` at this moment.
    #[error("no secret of the source is live now")]
    NoLiveSecret,
    /// The source itself cannot verify anything: no usable secret, or a `hmac` scheme without
    /// a complete profile. Config validation should have refused it; this is a server fault.
    #[error("source is misconfigured: {0}")]
    Misconfigured(&'static str),
}

impl SignatureError {
    /// A stable snake_case label for logs and metrics: `missing_header`, `malformed`, `expired`,
    /// `future`, `mismatch`, `no_live_secret` or `misconfigured`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) => "missing_header",
            Self::Malformed(_) => "malformed",
            Self::Expired => "expired",
            Self::Future => "future",
            Self::Mismatch => "mismatch",
            Self::NoLiveSecret => "no_live_secret",
            Self::Misconfigured(_) => "misconfigured",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_stable_snake_case_labels() {
        let cases = [
            (SignatureError::MissingHeader("x".into()), "missing_header"),
            (SignatureError::Malformed("x"), "malformed"),
            (SignatureError::Expired, "expired"),
            (SignatureError::Future, "future"),
            (SignatureError::Mismatch, "mismatch"),
            (SignatureError::NoLiveSecret, "no_live_secret"),
            (SignatureError::Misconfigured("x"), "misconfigured"),
        ];
        for (error, reason) in cases {
            assert_eq!(error.reason(), reason);
        }
    }

    #[test]
    fn missing_header_message_names_the_header() {
        let error = SignatureError::MissingHeader("webhook-id".into());
        assert_eq!(error.to_string(), "missing header webhook-id");
    }
}
