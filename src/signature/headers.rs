//! Reading header values for verification: presence, and text that can be parsed.
//!
//! Lookups are case-insensitive (`HeaderMap` stores names in lower case). When a header is
//! repeated, the first value is used.

use axum::http::HeaderMap;

use super::SignatureError;

/// The value of header `name` as text, or `MissingHeader(name)` when it is absent or empty,
/// or `Malformed` when it is not visible ASCII.
pub(super) fn required<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, SignatureError> {
    let value = headers
        .get(name)
        .ok_or_else(|| SignatureError::MissingHeader(name.to_owned()))?;
    let text = value
        .to_str()
        .map_err(|_| SignatureError::Malformed("a signature header is not visible ASCII"))?
        .trim();
    if text.is_empty() {
        return Err(SignatureError::MissingHeader(name.to_owned()));
    }
    Ok(text)
}

/// Like [`required`], but tries each name in turn and reports the first name when none is
/// present (Svix senders may use `svix-*` or the unbranded `webhook-*` names).
pub(super) fn first_of<'a>(
    headers: &'a HeaderMap,
    names: &[&str],
) -> Result<&'a str, SignatureError> {
    let mut first_error = None;
    for name in names {
        match required(headers, name) {
            Ok(text) => return Ok(text),
            Err(SignatureError::MissingHeader(missing)) => {
                first_error.get_or_insert(SignatureError::MissingHeader(missing));
            }
            Err(other) => return Err(other),
        }
    }
    Err(first_error.unwrap_or_else(|| SignatureError::MissingHeader(String::new())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn lookup_is_case_insensitive_and_trims() {
        let headers = map(&[("webhook-id", " msg_1 ")]);
        assert_eq!(required(&headers, "Webhook-Id"), Ok("msg_1"));
    }

    #[test]
    fn absent_or_empty_is_missing() {
        let headers = map(&[("webhook-id", "")]);
        assert_eq!(
            required(&headers, "webhook-id"),
            Err(SignatureError::MissingHeader("webhook-id".into()))
        );
        assert_eq!(
            required(&headers, "webhook-timestamp"),
            Err(SignatureError::MissingHeader("webhook-timestamp".into()))
        );
    }

    #[test]
    fn non_ascii_is_malformed() {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_bytes("t=1,v1=\u{e9}".as_bytes()).expect("header value");
        headers.insert("stripe-signature", value);
        assert!(matches!(
            required(&headers, "stripe-signature"),
            Err(SignatureError::Malformed(_))
        ));
    }

    #[test]
    fn first_of_prefers_earlier_names_and_reports_the_first_missing() {
        let headers = map(&[("svix-id", "a"), ("webhook-id", "b")]);
        assert_eq!(first_of(&headers, &["svix-id", "webhook-id"]), Ok("a"));
        let headers = map(&[("webhook-id", "b")]);
        assert_eq!(first_of(&headers, &["svix-id", "webhook-id"]), Ok("b"));
        assert_eq!(
            first_of(&HeaderMap::new(), &["svix-id", "webhook-id"]),
            Err(SignatureError::MissingHeader("svix-id".into()))
        );
    }
}
