//! Tests of the bamboohr adapter.
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::config::Format;
use crate::event::EventType;
use crate::sources::tests::{attrs, event, only_event, run, time, user_of};
use crate::sources::{AdapterError, Parsed};

fn bamboo(employees: Value) -> Result<Vec<Parsed>, AdapterError> {
    run(
        Format::Bamboohr,
        &HeaderMap::new(),
        &json!({ "employees": employees }),
    )
}

/// A global-webhook item: English names, plain values.
fn english(action: &str, fields: Value) -> Value {
    json!({"id": "123", "action": action, "timestamp": "2026-03-02T09:30:00+00:00",
           "changedFields": ["Department"], "fields": fields})
}

/// A permissioned-webhook item: camelCase names, `{"value": …}`, numeric id and time.
fn camel(action: &str, fields: Value) -> Value {
    json!({"id": 456, "action": action, "timestamp": 1772443800,
           "changedFields": ["employmentHistoryStatus"], "fields": fields})
}

fn ada_english() -> Value {
    json!({"First Name": "Ada", "Last Name": "Lovelace", "Work Email": "ada@example.com",
           "Department": "Sales", "Division": "EMEA", "Location": "London",
           "Job Title": "Account Executive", "Status": "Active", "Employment Status": "Full-Time",
           "Termination Date": "", "Hire Date": "2026-03-01"})
}

fn bob_camel() -> Value {
    json!({"firstName": {"value": "Bob"}, "lastName": {"value": "Byte"},
           "workEmail": {"value": "bob@example.com"}, "department": {"value": "Engineering"},
           "jobTitle": {"value": "SRE"}, "status": {"value": "Active"},
           "employmentHistoryStatus": {"value": "Full-Time"}, "terminationDate": {"value": null}})
}

#[test]
fn created_and_updated_items_in_both_field_styles() {
    let items = bamboo(json!([
        english("Created", ada_english()),
        camel("Updated", bob_camel())
    ]))
    .expect("maps");
    let ada = event(&items[0]);
    assert_eq!(
        ada.id, "123:2026-03-02T09:30:00+00:00",
        "dedup id is {{id}}:{{timestamp}}"
    );
    assert_eq!(ada.event_type, EventType::UserOnboarded);
    assert_eq!(ada.occurred_at, time("2026-03-02T09:30:00Z"));
    assert_eq!(ada.groups, None, "HR systems state no groups");
    let user = user_of(ada);
    assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    assert_eq!(user.id.as_deref(), Some("123"));
    assert_eq!(user.name.as_deref(), Some("Ada Lovelace"));
    let want = [("department", "Sales"), ("division", "EMEA")];
    let more = [("job_title", "Account Executive"), ("location", "London")];
    assert_eq!(attrs(ada), [want, more].concat());

    let bob = event(&items[1]);
    assert_eq!(bob.id, "456:1772443800");
    assert_eq!(bob.event_type, EventType::UserUpdated);
    assert_eq!(
        bob.occurred_at,
        time("2026-03-02T09:30:00Z"),
        "Unix seconds"
    );
    assert_eq!(user_of(bob).email.as_deref(), Some("bob@example.com"));
    assert_eq!(user_of(bob).name.as_deref(), Some("Bob Byte"));
    assert_eq!(
        attrs(bob),
        [("department", "Engineering"), ("job_title", "SRE")]
    );
}

#[test]
fn terminations_are_offboardings_in_both_field_styles() {
    let mut inactive = ada_english();
    inactive["Status"] = json!("Inactive");
    let mut terminated = bob_camel();
    terminated["employmentHistoryStatus"] = json!({"value": "Terminated"});
    let mut ended_today = ada_english();
    ended_today["Termination Date"] = json!("2026-03-02");
    let mut ended_before = bob_camel();
    ended_before["terminationDate"] = json!({"value": "2026-02-27"});
    let items = bamboo(json!([
        english("Updated", inactive),
        camel("Updated", terminated),
        english("Updated", ended_today),
        camel("Updated", ended_before),
    ]))
    .expect("maps");
    for item in &items {
        let ev = event(item);
        assert_eq!(ev.event_type, EventType::UserOffboarded, "{ev:?}");
        assert!(
            ev.user
                .as_ref()
                .is_some_and(|u| u.email.is_some() && u.id.is_some())
        );
    }
}

#[test]
fn a_termination_date_after_the_item_is_not_yet_an_offboarding() {
    let mut later = ada_english();
    later["Termination Date"] = json!("2026-03-31");
    let mut unset = bob_camel();
    unset["terminationDate"] = json!({"value": "0000-00-00"});
    let items = bamboo(json!([english("Updated", later), camel("Updated", unset)])).expect("maps");
    assert!(
        items
            .iter()
            .all(|i| event(i).event_type == EventType::UserUpdated)
    );
}

#[test]
fn deleted_employees_are_offboarded_by_id_when_no_email_is_sent() {
    let item = json!({"id": "789", "action": "Deleted", "timestamp": "2026-03-02T10:00:00Z"});
    let items = bamboo(json!([item])).expect("maps");
    let ev = only_event(&items);
    assert_eq!(ev.event_type, EventType::UserOffboarded);
    let user = user_of(ev);
    assert_eq!(
        (user.email.as_deref(), user.id.as_deref()),
        (None, Some("789"))
    );

    let mut no_email = ada_english();
    no_email["Status"] = json!("Inactive");
    no_email["Work Email"] = json!("");
    let items = bamboo(json!([english("Updated", no_email)])).expect("maps");
    assert_eq!(
        only_event(&items)
            .user
            .as_ref()
            .and_then(|u| u.id.as_deref()),
        Some("123")
    );
}

#[test]
fn other_actions_are_ignored_with_their_dedup_id() {
    let items = bamboo(json!([english("Rehired", ada_english())])).expect("acknowledged");
    assert_eq!(
        items,
        [Parsed::Ignored {
            id: "123:2026-03-02T09:30:00+00:00".into(),
            kind: "Rehired".into()
        }]
    );
}

#[test]
fn unmappable_items_are_errors_naming_the_item() {
    let ok = english("Updated", ada_english());
    let mut no_email = bob_camel();
    no_email
        .as_object_mut()
        .expect("object")
        .remove("workEmail");
    let mut bad_date = ada_english();
    bad_date["Termination Date"] = json!("next spring");
    let cases = [
        (
            camel("Created", no_email),
            "employees[1]: missing `fields.Work Email` or `fields.workEmail`",
        ),
        (
            json!({"action": "Updated", "timestamp": "1"}),
            "employees[1]: missing `id`",
        ),
        (
            json!({"id": 1, "action": "Updated"}),
            "employees[1]: missing `timestamp`",
        ),
        (
            json!({"id": 1, "timestamp": "1"}),
            "employees[1]: missing `action`",
        ),
        (
            json!({"id": 1, "action": "Updated", "timestamp": "someday"}),
            r#"employees[1]: `timestamp` is not a time: "someday""#,
        ),
        (
            english("Updated", bad_date),
            r#"employees[1]: `Termination Date` is not a date (YYYY-MM-DD): "next spring""#,
        ),
        (
            english("Updated", json!(["Work Email"])),
            "employees[1]: `fields` must be an object",
        ),
        (
            json!("123"),
            "employees[1]: expected an object, found a string",
        ),
    ];
    for (bad, want) in cases {
        let err = bamboo(json!([ok.clone(), bad])).expect_err(want);
        assert_eq!(err.to_string(), want);
    }
    let err = run(
        Format::Bamboohr,
        &HeaderMap::new(),
        &json!({"employee": []}),
    )
    .expect_err("shape");
    assert_eq!(err.to_string(), "body: missing `employees`");
}

#[test]
fn an_employee_is_read_for_the_directory_by_the_webhook_rules() {
    let now = time("2026-03-02T09:30:00Z");
    let read = |fields: Value| super::employee(&fields, now);
    let ada = read(ada_english());
    assert_eq!(ada.email.as_deref(), Some("ada@example.com"));
    assert_eq!(ada.name.as_deref(), Some("Ada Lovelace"));
    assert!(!ada.left);
    assert_eq!(ada.leaves_on, None);
    let camel = json!({"workEmail": {"value": "bob@example.com"}, "status": {"value": "Inactive"}});
    assert!(read(camel).left, "Inactive");
    let cases = [
        ("2026-03-02", true, "reached today"),
        ("2026-03-03", false, "tomorrow"),
        ("0000-00-00", false, "unset"),
        ("next spring", false, "unreadable: nobody is removed on it"),
    ];
    for (date, left, why) in cases {
        let e = read(json!({"workEmail": "c@example.com", "terminationDate": date}));
        assert_eq!(e.left, left, "{why}");
    }
    assert_eq!(
        read(json!({"terminationDate": "2026-03-03"})).leaves_on,
        Some(chrono::NaiveDate::from_ymd_opt(2026, 3, 3).expect("date"))
    );
    assert_eq!(
        read(json!({"workEmail": "jdoe", "employmentHistoryStatus": "Terminated"})),
        super::Employee {
            email: None,
            name: None,
            left: true,
            leaves_on: None
        },
        "a work email that is not one is left out"
    );
}

#[test]
fn an_unmappable_change_keeps_the_id_it_would_have_had() {
    let item = json!({"id": 7, "action": "Updated", "timestamp": "2026-03-02T09:30:00+00:00",
                      "fields": {"Department": "Sales"}});
    assert!(super::map_employee(&item, "employee").is_err(), "no email");
    assert_eq!(
        super::unmappable(&item),
        Some(Parsed::Ignored {
            id: "7:2026-03-02T09:30:00+00:00".into(),
            kind: "Updated".into()
        })
    );
}
