//! Wire types of the Domo Platform API, decoded leniently.
//!
//! Domo's documentation and its answers disagree on types (`creatorId` is a numeric string,
//! `roleId` is `"1"` in one sample and `1` in another, pydomo sends `"active": "true"`), and
//! each endpoint returns a different subset of fields (reference/domo-api.md §3.1, §4.1). So:
//! only `id` is required; ids are numbers or numeric strings; booleans are booleans or
//! `"true"`/`"false"`; a field of an unexpected type is treated as absent; unknown fields are
//! ignored. This module only describes shapes; it does no I/O.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A Domo group as any of the group endpoints returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// Domo's group id.
    #[serde(deserialize_with = "id")]
    pub id: i64,
    /// The group's name (unique per instance, as far as is known).
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    /// Whether the group is active; members cannot be added to an inactive group.
    #[serde(default, deserialize_with = "opt_bool")]
    pub active: Option<bool>,
    /// Whether this is the instance's default group (the service never touches it).
    #[serde(default, deserialize_with = "opt_bool")]
    pub default: Option<bool>,
    /// How many members the group has (only some endpoints say).
    #[serde(default, deserialize_with = "opt_id")]
    pub member_count: Option<i64>,
    /// Present and true for a group of a deleted customer.
    #[serde(default, deserialize_with = "opt_bool")]
    pub deleted: Option<bool>,
    /// The id of the user who created the group (a numeric string on the wire).
    #[serde(default, deserialize_with = "opt_id")]
    pub creator_id: Option<i64>,
}

/// A Domo user as the user endpoints return it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Domo's user id.
    #[serde(deserialize_with = "id")]
    pub id: i64,
    /// Primary email, the login identity.
    #[serde(default, deserialize_with = "opt_string")]
    pub email: Option<String>,
    /// Full name.
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
    /// Role name, e.g. `Admin`, `Privileged`, `Participant`.
    #[serde(default, deserialize_with = "opt_string")]
    pub role: Option<String>,
    /// True when the user was deleted: Domo answers 200 with a subset of fields, not 404.
    #[serde(default, deserialize_with = "opt_bool")]
    pub deleted: Option<bool>,
    /// The user's groups (only `GET /v1/users/{id}` and create return them).
    #[serde(default, deserialize_with = "opt_group_refs")]
    pub groups: Option<Vec<GroupRef>>,
    /// The role's id (`"1"` or `1` on the wire).
    #[serde(default, deserialize_with = "opt_id")]
    pub role_id: Option<i64>,
}

/// A group as listed inside a user object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupRef {
    /// Domo's group id (a string before 2019, a number since).
    #[serde(deserialize_with = "id")]
    pub id: i64,
    /// The group's name.
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
}

/// The body of `POST /v1/users`: the three required fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NewUser<'a> {
    /// Full name.
    pub name: &'a str,
    /// Email address (the login).
    pub email: &'a str,
    /// Role name; must match an existing Domo role exactly.
    pub role: &'a str,
}

/// The body of `POST /v1/groups`.
#[derive(Debug, Serialize)]
pub(crate) struct NewGroup<'a> {
    pub name: &'a str,
}

/// One element of `GET /v1/groups/{id}/users`: a user id, number or numeric string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct UserId(#[serde(deserialize_with = "id")] pub i64);

/// The token endpoint's answer; only what we use. `Debug` is not derived: it holds a token.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    #[serde(default, deserialize_with = "opt_id")]
    pub expires_in: Option<i64>,
    /// The Domo user the client acts as (reference §1.3); absent or unusable counts as unknown.
    #[serde(default, rename = "userId", deserialize_with = "opt_id")]
    pub user_id: Option<i64>,
}

/// Either Domo error shape: bedrock `{status, statusReason, message, toe, path}` or OAuth
/// `{error, error_description}`. Every field optional, any type tolerated.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    #[serde(default, deserialize_with = "opt_string")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status_reason: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub toe: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub error: Option<String>,
    #[serde(default, deserialize_with = "opt_string", rename = "error_description")]
    pub error_description: Option<String>,
}

/// An id: a JSON integer, or a string holding one (`"87659738"`).
fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(d)?;
    id_from_value(&value).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "expected an integer id or a numeric string, found {}",
            kind(&value)
        ))
    })
}

/// An optional integer in either form; anything else counts as absent.
fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.and_then(|v| id_from_value(&v)))
}

/// An optional boolean: `true`, `"true"`, `"True"`, `1` and their opposites.
fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Some(Value::Number(n)) => n.as_i64().and_then(|n| match n {
            1 => Some(true),
            0 => Some(false),
            _ => None,
        }),
        _ => None,
    })
}

/// An optional string; a number is kept as its text, anything else counts as absent.
fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// An optional list of `{id, name}`; entries without a usable id are skipped.
fn opt_group_refs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<GroupRef>>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => Some(
            items
                .into_iter()
                .filter_map(|item| serde_json::from_value(item).ok())
                .collect(),
        ),
        _ => None,
    })
}

fn id_from_value(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The JSON type of a value, for messages that must not quote the value.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a non-integer number",
        Value::String(_) => "a non-numeric string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
