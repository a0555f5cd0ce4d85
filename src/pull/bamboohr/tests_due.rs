//! Future-dated terminations against wiremock: kept in the cursor, offboarded on the first
//! poll on or after their date, moved or cleared as the employee's fields say.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::cursor::Cursor;
use super::tests::{COMPANY, bamboo, changed, employee, event, fields, no_progress, t};
use super::*;
use crate::event::EventType;

#[tokio::test]
async fn a_future_termination_is_remembered_and_offboards_on_the_first_poll_after_its_date() {
    let server = MockServer::start().await;
    let changes = Mock::given(method("GET")).and(path(format!("{COMPANY}/v1/employees/changed")));
    changes
        .respond_with(changed(
            "2026-03-01T09:00:00+00:00",
            &[("5", "Updated", "2026-03-01T09:00:00+00:00")],
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/changed")))
        .respond_with(changed("2026-03-01T09:00:00+00:00", &[]))
        .mount(&server)
        .await;
    employee(
        &server,
        "5",
        fields("5", "cy@example.com", "Active", "2026-04-30"),
    )
    .await;
    let b = bamboo(&server);
    // 1. Entered on March 1st for April 30th: an update, the employee still active.
    let page = changed::page(&b, None, t("2026-03-01T09:01:00Z"), &no_progress)
        .await
        .expect("page");
    assert_eq!(event(&page.items[0]).event_type, EventType::UserUpdated);
    let cursor = page.cursor.expect("cursor");
    assert_eq!(
        Cursor::parse(&cursor)
            .expect("ours")
            .due
            .get("5")
            .map(ToString::to_string),
        Some("2026-04-30".to_owned())
    );
    // 2. Before the date: nothing, and no request for the employee.
    let before = changed::page(&b, Some(&cursor), t("2026-04-29T23:59:00Z"), &no_progress)
        .await
        .expect("page");
    assert!(before.items.is_empty());
    assert_eq!(before.cursor.as_deref(), Some(cursor.as_str()));
    // 3. On the date: BambooHR lists no change, the cursor remembers; the offboarding is stamped
    //    at the date's start.
    let on = changed::page(&b, Some(&cursor), t("2026-04-30T06:00:00Z"), &no_progress)
        .await
        .expect("page");
    assert_eq!(on.items.len(), 1);
    let off = event(&on.items[0]);
    assert_eq!(off.event_type, EventType::UserOffboarded);
    assert_eq!(off.id, "5:2026-04-30T00:00:00+00:00");
    assert_eq!(off.occurred_at, t("2026-04-30T00:00:00Z"));
    assert_eq!(
        on.newest, None,
        "a reached date says nothing about the feed's lag"
    );
    assert_eq!(
        off.user.as_ref().and_then(|u| u.email.as_deref()),
        Some("cy@example.com")
    );
    let after = Cursor::parse(on.cursor.as_deref().expect("cursor")).expect("ours");
    assert!(after.due.is_empty(), "done");
    let employee_reads = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path().ends_with("/employees/5"))
        .count();
    assert_eq!(employee_reads, 2, "read at the change and at the date");
}

#[tokio::test]
async fn a_reached_date_that_moved_waits_again_and_a_cleared_one_is_forgotten() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/changed")))
        .respond_with(changed("2026-03-01T09:00:00+00:00", &[]))
        .mount(&server)
        .await;
    employee(
        &server,
        "6",
        fields("6", "dee@example.com", "Active", "2026-06-30"),
    )
    .await;
    employee(
        &server,
        "7",
        fields("7", "eve@example.com", "Active", "0000-00-00"),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{COMPANY}/v1/employees/8")))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let mut cursor = Cursor::from(t("2026-03-01T08:55:00Z"));
    for id in ["6", "7", "8"] {
        cursor
            .due
            .insert(id.into(), "2026-04-30".parse().expect("date"));
    }
    let page = changed::page(
        &bamboo(&server),
        Some(&cursor.text()),
        t("2026-05-01T00:00:00Z"),
        &no_progress,
    )
    .await
    .expect("page");
    assert!(page.items.is_empty(), "{:?}", page.items);
    let after = Cursor::parse(page.cursor.as_deref().expect("cursor")).expect("ours");
    assert_eq!(
        after
            .due
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_string()))
            .collect::<Vec<_>>(),
        [("6", "2026-06-30".to_owned())]
    );
}
