use serde_json::json;

use super::*;

fn facts(v: Value) -> UserFacts {
    match v {
        Value::Object(m) => UserFacts::of("id-1", &m),
        _ => unreachable!(),
    }
}

fn ada(active: bool) -> UserFacts {
    facts(
        json!({"userName": "ada@example.com", "active": active, "displayName": "Ada",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "manager": {"value": "m1"}}}),
    )
}

#[test]
fn the_identity_email_is_primary_then_work_then_first_then_user_name() {
    let email = |v: Value| facts(v).email;
    assert_eq!(
        email(
            json!({"userName": "u@x.example", "emails": [{"value": "w@x.example", "type": "work"}, {"value": "p@x.example", "primary": true}]})
        ),
        Some("p@x.example".into())
    );
    assert_eq!(
        email(
            json!({"userName": "u@x.example", "emails": [{"value": "h@x.example", "type": "home"}, {"value": "w@x.example", "type": "Work"}]})
        ),
        Some("w@x.example".into())
    );
    assert_eq!(
        email(json!({"userName": "u@x.example", "emails": [{"value": "not-an-email"}]})),
        Some("u@x.example".into())
    );
    assert_eq!(
        email(json!({"userName": "jdoe"})),
        None,
        "no email: drives nothing in Domo"
    );
    let f = facts(json!({"userName": "Ada@Example.COM"}));
    assert_eq!(
        (f.email.as_deref(), f.key().as_deref()),
        (Some("Ada@Example.COM"), Some("ada@example.com"))
    );
}

#[test]
fn rule_attributes_come_from_the_enterprise_extension_title_and_user_type() {
    let f = facts(
        json!({"userName": "a@x.example", "title": "CFO", "userType": "Employee", "nickName": "not a rule attribute",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": " Sales ", "costCenter": "", "manager": {"value": "m1", "$ref": "r"}}}),
    );
    assert_eq!(
        f.attributes.into_iter().collect::<Vec<_>>(),
        vec![
            ("department".into(), "Sales".into()),
            ("manager".into(), "m1".into()),
            ("title".into(), "CFO".into()),
            ("userType".into(), "Employee".into())
        ]
    );
}

#[test]
fn lifecycle_writes_become_snapshots_and_offboardings() {
    let groups = ["Marketing".to_owned()];
    let kinds = |p: Vec<Planned>| -> Vec<EventType> {
        p.iter()
            .map(|x| x.event("e".into(), chrono::DateTime::UNIX_EPOCH).event_type)
            .collect()
    };
    assert_eq!(
        kinds(user_write(None, Some(&ada(true)), &[])),
        [EventType::UserOnboarded]
    );
    assert_eq!(
        kinds(user_write(Some(&ada(true)), Some(&ada(false)), &groups)),
        [EventType::UserOffboarded]
    );
    assert_eq!(
        kinds(user_write(Some(&ada(false)), Some(&ada(false)), &groups)),
        [],
        "deactivated twice"
    );
    assert_eq!(
        kinds(user_write(Some(&ada(false)), Some(&ada(true)), &groups)),
        [EventType::UserOnboarded]
    );
    assert_eq!(
        kinds(user_write(Some(&ada(true)), Some(&ada(true)), &groups)),
        [],
        "nothing a rule sees changed"
    );
    let mut moved = ada(true);
    moved
        .attributes
        .insert("department".into(), "Finance".into());
    assert_eq!(
        kinds(user_write(Some(&ada(true)), Some(&moved), &groups)),
        [EventType::UserUpdated]
    );
    assert_eq!(
        kinds(user_write(Some(&ada(true)), None, &groups)),
        [EventType::UserOffboarded]
    );
    assert_eq!(
        kinds(user_write(Some(&ada(false)), None, &groups)),
        [],
        "already offboarded"
    );
    // A new identity email: the old account loses access, the new one gets it.
    let renamed = facts(json!({"userName": "ada.l@example.com", "active": true}));
    let p = user_write(Some(&ada(true)), Some(&renamed), &groups);
    assert_eq!(
        p.iter().map(Planned::key).collect::<Vec<_>>(),
        [
            Some("ada@example.com".into()),
            Some("ada.l@example.com".into())
        ]
    );
    assert_eq!(
        kinds(p),
        [EventType::UserOffboarded, EventType::UserOnboarded]
    );
}

#[test]
fn snapshot_events_carry_the_groups_and_valid_canonical_shape() {
    let p = user_write(
        Some(&ada(false)),
        Some(&ada(true)),
        &["Marketing".to_owned()],
    );
    let ev = p[0].event("scim_1".into(), chrono::DateTime::UNIX_EPOCH);
    assert!(ev.validate().is_ok());
    assert_eq!(ev.groups, Some(vec!["Marketing".to_owned()]));
    let user = ev.user.expect("user");
    assert_eq!(
        (user.email.as_deref(), user.id.as_deref()),
        (Some("ada@example.com"), Some("id-1"))
    );
    assert_eq!(
        user.attributes.get("department").map(String::as_str),
        Some("Sales")
    );
}

#[test]
fn member_changes_skip_inactive_users_and_users_without_an_email() {
    let nobody = facts(json!({"userName": "jdoe"}));
    let p = member_changes("Finance", &[ada(true), nobody.clone()], &[ada(false)]);
    assert_eq!(p.len(), 1);
    let ev = p[0].event("e".into(), chrono::DateTime::UNIX_EPOCH);
    assert!(ev.validate().is_ok());
    assert_eq!(
        (ev.event_type, ev.groups),
        (
            EventType::GroupMemberAdded,
            Some(vec!["Finance".to_owned()])
        )
    );
    assert!(member_changes("Finance", &[], &[nobody]).is_empty());
}
