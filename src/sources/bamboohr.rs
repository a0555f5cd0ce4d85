//! The `bamboohr` format: BambooHR employee webhooks, several employees per request.
//!
//! Body `{"employees": [{id, action, timestamp, changedFields, fields}]}`. Global webhooks use
//! English field names (`Work Email`), permissioned ones camelCase (`workEmail`) and wrap
//! values as `{"value": …}`; both are read by comparing names without case, spaces or
//! punctuation. BambooHR sends no event id, so the dedup id of an item is
//! `{employee id}:{timestamp}` as sent: a retry repeats both, a later change has a new
//! timestamp. HR systems have no groups (rules map the attributes), so `groups` is never set.
//!
//! Terminating an employee is an *update* in BambooHR, so an `Updated` item (or, to be safe,
//! a `Created` one) is an offboarding when `Status` is `Inactive`, `Employment Status` is
//! `Terminated`, or `Termination Date` is on or before the item's timestamp.
//!
//! The changed-employees pull (`crate::pull::bamboohr`) maps every change it reads through
//! [`map_employee`] too, as an item `{id, action, timestamp: lastChanged, fields}`: its dedup
//! id is then `{employee id}:{lastChanged}` (`backfill.md` §7.2), the webhook's own id when
//! BambooHR stamps the webhook item with the change's `lastChanged`, and the attributes and the
//! termination rule are the webhook's. Its directory pass reads employees through [`employee`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::json::{
    Object, array, bare_user, brief, email_like, finish, full_name, ignored, invalid, object,
    parse_date, parse_time, req_id, req_text, scalar,
};
use super::{AdapterError, Parsed};
use crate::event::{CanonicalEvent, EventType, EventUser};

/// How the error names the email field, in both naming styles.
const EMAIL_FIELD: &str = "fields.Work Email` or `fields.workEmail";

/// Parses a webhook body into one item per employee, in body order.
pub(super) fn parse(value: &Value) -> Result<Vec<Parsed>, AdapterError> {
    let root = object(value, "body")?;
    array(root, "employees", "body")?
        .iter()
        .enumerate()
        .map(|(i, employee)| parse_employee(employee, &format!("employees[{i}]")))
        .collect()
}

fn parse_employee(value: &Value, at: &str) -> Result<Parsed, AdapterError> {
    map_employee(value, at)
}

/// Maps one employee item `{id, action: Created|Updated|Deleted, timestamp, fields}` (a
/// webhook's `employees[]` element, or what the pull builds from a change and the employee's
/// fields); `at` names it in errors. The dedup id is `{id}:{timestamp}`.
pub fn map_employee(value: &Value, at: &str) -> Result<Parsed, AdapterError> {
    let employee = object(value, at)?;
    let employee_id = req_id(employee, "id", at)?;
    let action = req_text(employee, "action", at)?;
    let stamp = req_id(employee, "timestamp", at)?;
    let id = format!("{employee_id}:{stamp}");
    let base_type = match action.to_ascii_lowercase().as_str() {
        "created" => EventType::UserOnboarded,
        "updated" => EventType::UserUpdated,
        "deleted" => EventType::UserOffboarded,
        _ => return ignored(&id, action, at),
    };
    let occurred_at = parse_stamp(&stamp).ok_or_else(|| {
        invalid(
            at,
            format!("`timestamp` is not a time: {:?}", brief(&stamp)),
        )
    })?;
    let fields = fields(employee, at)?;
    let event_type =
        if base_type != EventType::UserOffboarded && terminated(&fields, occurred_at, at)? {
            EventType::UserOffboarded
        } else {
            base_type
        };
    let name = full_name(field(&fields, "firstname"), field(&fields, "lastname"));
    let work_email = field(&fields, "workemail");
    let user = if event_type == EventType::UserOffboarded {
        // A leaver is named by work email when it is usable, and always by employee id.
        bare_user(email_like(work_email), Some(employee_id), name)
    } else {
        EventUser {
            email: work_email.map(str::to_owned),
            id: Some(employee_id),
            name,
            attributes: attributes(&fields),
        }
    };
    let event = CanonicalEvent {
        id,
        event_type,
        occurred_at,
        user: Some(user),
        groups: None,
    };
    finish(event, at, EMAIL_FIELD)
}

/// The item recorded for an employee change that cannot be mapped (the pull keeps reading past
/// it): ignored, under the id the change would have had and its `action`.
pub fn unmappable(item: &Value) -> Option<Parsed> {
    let employee = item.as_object()?;
    let id = req_id(employee, "id", "employee").ok()?;
    let stamp = req_id(employee, "timestamp", "employee").ok()?;
    let action = employee
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    ignored(&format!("{id}:{stamp}"), action, "employee").ok()
}

/// `fields` with names folded (`Work Email`, `workEmail` → `workemail`) and values unwrapped
/// (`"x"`, `{"value": "x"}` → `x`); empty values are dropped. Absent `fields` is empty.
fn fields(employee: &Object, at: &str) -> Result<BTreeMap<String, String>, AdapterError> {
    match employee.get("fields") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(raw)) => Ok(folded(raw)),
        Some(_) => Err(invalid(at, "`fields` must be an object".to_owned())),
    }
}

/// An employee as the directory pass needs them, read by the webhook's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    /// The work email, when it is one.
    pub email: Option<String>,
    /// First and last name.
    pub name: Option<String>,
    /// Whether the employee has left by the time given: `Status` Inactive, employment status
    /// Terminated, or a termination date reached. An unreadable termination date counts as
    /// not reached (nobody is removed on data that cannot be read).
    pub left: bool,
    /// The termination date, when one is set (past or future).
    pub leaves_on: Option<chrono::NaiveDate>,
}

/// Reads an employee's fields (either naming style, plain or `{"value": …}`) as of `now`.
pub fn employee(fields: &Value, now: DateTime<Utc>) -> Employee {
    let fields = fields.as_object().map(folded).unwrap_or_default();
    Employee {
        email: email_like(field(&fields, "workemail")),
        name: full_name(field(&fields, "firstname"), field(&fields, "lastname")),
        left: terminated(&fields, now, "fields").unwrap_or(false),
        leaves_on: field(&fields, "terminationdate").and_then(parse_date),
    }
}

fn folded(raw: &Object) -> BTreeMap<String, String> {
    raw.iter()
        .filter_map(|(name, value)| {
            let value = match value {
                Value::Object(wrapped) => scalar(wrapped.get("value")?),
                plain => scalar(plain),
            }?;
            Some((fold(name), value))
        })
        .collect()
}

/// A field name without case, spaces or punctuation.
fn fold(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn field<'a>(fields: &'a BTreeMap<String, String>, folded: &str) -> Option<&'a str> {
    fields.get(folded).map(String::as_str)
}

/// Whether the fields say the employee has left by the time of the item.
fn terminated(
    fields: &BTreeMap<String, String>,
    occurred_at: DateTime<Utc>,
    at: &str,
) -> Result<bool, AdapterError> {
    let is = |names: &[&str], value: &str| {
        names
            .iter()
            .any(|n| field(fields, n).is_some_and(|v| v.eq_ignore_ascii_case(value)))
    };
    if is(&["status"], "inactive")
        || is(
            &["employmentstatus", "employmenthistorystatus"],
            "terminated",
        )
    {
        return Ok(true);
    }
    let Some(date) = field(fields, "terminationdate") else {
        return Ok(false);
    };
    // BambooHR writes an unset date as `0000-00-00`.
    if date.starts_with("0000-00-00") {
        return Ok(false);
    }
    if let Some(day) = parse_date(date) {
        return Ok(day <= occurred_at.date_naive());
    }
    match parse_time(date) {
        Some(time) => Ok(time <= occurred_at),
        None => Err(invalid(
            at,
            format!(
                "`Termination Date` is not a date (YYYY-MM-DD): {:?}",
                brief(date)
            ),
        )),
    }
}

/// The item timestamp: Unix seconds (or milliseconds, when too large for seconds), or a time
/// in any form [`parse_time`] reads. Integrations have seen both; no primary source pins it.
fn parse_stamp(raw: &str) -> Option<DateTime<Utc>> {
    match raw.parse::<i64>() {
        Ok(n) if n.abs() >= 100_000_000_000 => DateTime::from_timestamp_millis(n),
        Ok(n) => DateTime::from_timestamp(n, 0),
        Err(_) => parse_time(raw),
    }
}

/// The attributes rules can match: `department`, `division`, `location`, `job_title`.
fn attributes(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    [
        ("department", "department"),
        ("division", "division"),
        ("location", "location"),
        ("job_title", "jobtitle"),
    ]
    .into_iter()
    .filter_map(|(name, folded)| Some((name.to_owned(), field(fields, folded)?.to_owned())))
    .collect()
}

#[cfg(test)]
#[path = "bamboohr_tests.rs"]
mod tests;
