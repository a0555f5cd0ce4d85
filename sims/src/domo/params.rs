//! Lenient request parsing, as Domo is lenient: paging parameters, ids in paths, booleans
//! given as `true` or `"True"`, and JSON bodies with unknown keys. Every failure is a 400
//! bedrock error, never axum's plain-text rejection.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::SimError;

/// Default page size of every list (reference §3.4).
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size; larger values are silently clamped, as Domo's 500 cap silently
/// truncates (reference §5, pydomo #31).
pub const MAX_LIMIT: usize = 500;

/// A page of a list: `limit` rows after skipping `offset` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to return, 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Rows to skip.
    pub offset: usize,
}

impl Page {
    /// Reads `limit` and `offset` from a raw query string. Absent or empty values take the
    /// defaults (50, 0); `limit` above 500 becomes 500; a `limit` below 1, a negative
    /// `offset` or a value that is not an integer is a 400.
    pub fn from_query(query: Option<&str>) -> Result<Self, SimError> {
        let mut page = Self {
            limit: DEFAULT_LIMIT,
            offset: 0,
        };
        for (key, value) in query_pairs(query) {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key.as_str() {
                "limit" => {
                    let limit = parse_integer("limit", value)?;
                    if limit < 1 {
                        return Err(SimError::bad_request(format!(
                            "limit must be at least 1, got {limit}"
                        )));
                    }
                    page.limit = usize::try_from(limit).unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
                }
                "offset" => {
                    let offset = parse_integer("offset", value)?;
                    page.offset = usize::try_from(offset).map_err(|_| {
                        SimError::bad_request(format!("offset must not be negative, got {offset}"))
                    })?;
                }
                _ => {}
            }
        }
        Ok(page)
    }
}

fn parse_integer(name: &str, value: &str) -> Result<i64, SimError> {
    value
        .parse::<i64>()
        .map_err(|_| SimError::bad_request(format!("{name} must be an integer, got '{value}'")))
}

/// The decoded `key=value` pairs of a query string or form body.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A `true`/`false` flag given as a JSON boolean or a string in any case.
pub fn parse_bool(name: &str, value: &str) -> Result<bool, SimError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(SimError::bad_request(format!(
            "{name} must be true or false, got '{value}'"
        ))),
    }
}

/// Serde helper: an optional boolean that may be a JSON boolean or a string such as
/// `"true"` or `"False"` (pydomo and rdomo send strings, reference §3.2).
pub fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) => parse_bool("flag", &s)
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected true or false, got '{s}'"))),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected true or false, got {other}"
        ))),
    }
}

/// An id from a path segment; not a non-negative integer → 400.
pub fn parse_id(kind: &str, raw: &str) -> Result<u64, SimError> {
    raw.trim()
        .parse()
        .map_err(|_| SimError::bad_request(format!("Invalid {kind} id '{raw}'")))
}

/// Parses a JSON body; an empty body counts as `{}`.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, SimError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| SimError::bad_request(format!("Invalid request body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_defaults_clamps_and_rejects() {
        let page = |q: &str| Page::from_query(Some(q));
        assert_eq!(
            page("").ok(),
            Some(Page {
                limit: 50,
                offset: 0
            })
        );
        assert_eq!(
            page("limit=&offset=").ok(),
            Some(Page {
                limit: 50,
                offset: 0
            })
        );
        assert_eq!(
            page("limit=500&offset=10").ok(),
            Some(Page {
                limit: 500,
                offset: 10
            })
        );
        assert_eq!(
            page("limit=100000").ok(),
            Some(Page {
                limit: 500,
                offset: 0
            })
        );
        for bad in [
            "limit=0",
            "limit=-3",
            "limit=abc",
            "offset=-1",
            "offset=1.5",
        ] {
            let err = page(bad).expect_err(bad);
            assert_eq!(err.status().as_u16(), 400, "{bad}");
        }
    }

    #[test]
    fn booleans_accept_strings_in_any_case() {
        #[derive(Deserialize)]
        struct Flags {
            #[serde(default, deserialize_with = "lenient_bool")]
            active: Option<bool>,
        }
        for (body, want) in [
            (r#"{"active":true}"#, Some(true)),
            (r#"{"active":"False"}"#, Some(false)),
            (r#"{"active":"TRUE"}"#, Some(true)),
            (r#"{"active":null}"#, None),
            ("{}", None),
            ("", None),
        ] {
            let flags: Flags = json_body(body.as_bytes()).expect(body);
            assert_eq!(flags.active, want, "{body}");
        }
        assert!(json_body::<Flags>(br#"{"active":"yes"}"#).is_err());
        assert!(json_body::<Flags>(br#"{"active":1}"#).is_err());
    }
}
