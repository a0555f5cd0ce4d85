use serde_json::json;

use super::*;
use crate::scim::patch::parse_request;

fn m(id: &str) -> Member {
    Member {
        user_id: id.into(),
        reference: None,
        kind: None,
    }
}

fn ops(body: serde_json::Value) -> Vec<MemberOp> {
    split(parse_request(&body).expect("parses"))
        .expect("splits")
        .1
}

#[test]
fn entra_and_okta_member_forms_become_adds_and_removes_by_id() {
    // Entra: Add with `$ref: null`; default remove with a value list; flag remove by filter.
    let o = ops(json!({"Operations": [
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}, {"value": "u2", "display": "B"}]},
        {"op": "Remove", "path": "members", "value": [{"value": "u3"}]},
        {"op": "remove", "path": "members[value eq \"u4\"]"},
        {"op": "remove", "path": "members[value eq \"u5\" or value eq \"u6\"]"}
    ]}));
    assert_eq!(o[0], MemberOp::Add(vec![m("u1"), m("u2")]));
    assert_eq!(o[1], MemberOp::Remove(vec!["u3".into()]));
    assert_eq!(o[2], MemberOp::Remove(vec!["u4".into()]));
    assert_eq!(o[3], MemberOp::Remove(vec!["u5".into(), "u6".into()]));
    assert!(!needs_all(&o), "by id: the list is never read");
    assert_eq!(mentioned(&o), ["u1", "u2", "u3", "u4", "u5", "u6"]);
    // Okta: a rename with every membership update, path-less.
    let o = ops(
        json!({"Operations": [{"op": "replace", "value": {"id": "g", "displayName": "X", "members": [{"value": "u1"}]}}]}),
    );
    assert_eq!(o, vec![MemberOp::Replace(vec![m("u1")])]);
    assert!(needs_all(&o));
}

#[test]
fn the_diff_is_what_changes_against_the_current_members() {
    let current = [m("a"), m("b")];
    let o = vec![
        MemberOp::Add(vec![m("b"), m("c")]),
        MemberOp::Remove(vec!["a".into(), "zz".into()]),
    ];
    let (added, removed) = diff(&current, &o);
    assert_eq!(added, vec![m("c")], "b was there already");
    assert_eq!(removed, vec!["a".to_owned()], "zz was never a member");
    let (added, removed) = diff(&current, &[MemberOp::Replace(vec![m("b"), m("d")])]);
    assert_eq!((added, removed), (vec![m("d")], vec!["a".to_owned()]));
    let (added, removed) = diff(&current, &[MemberOp::Clear, MemberOp::Add(vec![m("a")])]);
    assert_eq!((added, removed), (vec![], vec!["b".to_owned()]));
    let f = crate::scim::filter::parse(r#"value sw "a""#).expect("parses");
    let (_, removed) = diff(&current, &[MemberOp::RemoveWhere(f)]);
    assert_eq!(removed, vec!["a".to_owned()]);
    // A retried batch changes nothing.
    let (added, removed) = diff(
        &[m("a"), m("c")],
        &[
            MemberOp::Add(vec![m("c")]),
            MemberOp::Remove(vec!["b".into()]),
        ],
    );
    assert!(added.is_empty() && removed.is_empty());
}

#[test]
fn members_must_be_users_named_by_value() {
    for bad in [
        json!([{"display": "x"}]),
        json!([{"value": ""}]),
        json!([{"value": "g", "type": "Group"}]),
        json!([1]),
    ] {
        assert!(parse_members(&bad).is_err(), "{bad}");
    }
    let list =
        parse_members(&json!([{"value": "u", "$ref": "https://h/Users/u", "type": "User"}, "u"]))
            .expect("parses");
    assert_eq!(list.len(), 1, "duplicates collapse");
    assert_eq!(
        member_json(&list[0]),
        json!({"value": "u", "$ref": "https://h/Users/u", "type": "User"})
    );
    assert!(ops_err(
        json!({"Operations": [{"op": "replace", "path": "members[value eq \"u\"]", "value": {"value": "v"}}]})
    ));
    assert!(ops_err(
        json!({"Operations": [{"op": "add", "path": "members.value", "value": "u"}]})
    ));
}

fn ops_err(body: serde_json::Value) -> bool {
    split(parse_request(&body).expect("parses")).is_err()
}
