use serde_json::json;

use super::*;
use crate::scim::resource::normalize;
use crate::scim::schema::ENTERPRISE_URN;

fn doc() -> Map<String, Value> {
    match json!({
        "userName": "ada@example.com", "active": true,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": "ada@work.example", "type": "work", "primary": true}]
    }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn patched(ops: Value) -> Result<Value, ScimError> {
    let mut d = doc();
    for op in
        parse_request(&json!({"schemas": [crate::scim::schema::PATCH_URN], "Operations": ops}))?
    {
        apply(ResourceKind::User, &mut d, &op)?;
    }
    normalize(ResourceKind::User, &Value::Object(d)).map(Value::Object)
}

#[test]
fn entra_disables_with_a_capitalised_op_and_a_string_boolean() {
    // Without aadOptscim062020 …
    let v =
        patched(json!([{"op": "Replace", "path": "active", "value": "False"}])).expect("applies");
    assert_eq!(v["active"], false);
    // … and with it.
    let v = patched(json!([{"op": "replace", "path": "active", "value": false}])).expect("applies");
    assert_eq!(v["active"], false);
    // Okta: a path-less value object.
    let v = patched(json!([{"op": "replace", "value": {"active": false}}])).expect("applies");
    assert_eq!(v["active"], false);
}

#[test]
fn path_less_objects_take_dotted_and_urn_keys() {
    let v = patched(json!([{"op": "Replace", "value": {
        "name.givenName": "Augusta",
        "displayName": "Ada L.",
        (format!("{ENTERPRISE_URN}:department")): "Research",
        "id": "ignored", "meta": {"x": 1}
    }}]))
    .expect("applies");
    assert_eq!(
        v["name"],
        json!({"givenName": "Augusta", "familyName": "Lovelace"})
    );
    assert_eq!(v["displayName"], "Ada L.");
    assert_eq!(v[ENTERPRISE_URN]["department"], "Research");
    assert!(
        v.get("id").is_none() && v.get("meta").is_none(),
        "read-only keys are ignored"
    );
}

#[test]
fn value_filters_replace_create_and_remove_elements() {
    // Entra replaces the work email …
    let v = patched(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada@new.example"}]))
        .expect("applies");
    assert_eq!(
        v["emails"],
        json!([{"value": "ada@new.example", "type": "work", "primary": true}])
    );
    // … and creates it when the user has none of that type.
    let v = patched(json!([{"op": "Replace", "path": "emails[type eq \"home\"].value", "value": "ada@home.example"}]))
        .expect("applies");
    assert_eq!(
        v["emails"][1],
        json!({"type": "home", "value": "ada@home.example"})
    );
    // A filter that cannot describe an element matches nothing: noTarget.
    let e = patched(
        json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "other"}]),
    )
    .expect_err("no target");
    assert_eq!(e.scim_type, Some("noTarget"));
    let v =
        patched(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}])).expect("applies");
    assert!(v.get("emails").is_none(), "an emptied list is unassigned");
}

#[test]
fn add_appends_to_lists_and_replaces_singular_attributes() {
    let v = patched(json!([
        {"op": "Add", "path": "nickName", "value": "Ada"},
        {"op": "Add", "path": "nickName", "value": "Countess"},
        {"op": "add", "path": "emails", "value": [{"value": "b@x.example", "primary": true}]},
        {"op": "add", "path": "emails", "value": [{"value": "b@x.example", "primary": true}]}
    ]))
    .expect("applies");
    assert_eq!(v["nickName"], "Countess");
    assert_eq!(
        v["emails"],
        json!([{"value": "ada@work.example", "type": "work", "primary": false}, {"value": "b@x.example", "primary": true}]),
        "one primary; an identical value is not added twice"
    );
}

#[test]
fn remove_takes_a_path_and_drops_exactly_what_it_names() {
    let v = patched(
        json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "active"}]),
    )
    .expect("applies");
    assert_eq!(v["name"], json!({"familyName": "Lovelace"}));
    assert!(v.get("active").is_none(), "removed, not a synthesised true");
    let v = patched(
        json!([{"op": "Remove", "path": "emails", "value": [{"value": "ada@work.example"}]}]),
    )
    .expect("applies");
    assert!(
        v.get("emails").is_none(),
        "Entra's remove with a value list"
    );
    assert_eq!(
        patched(json!([{"op": "remove"}]))
            .expect_err("no path")
            .scim_type,
        Some("noTarget")
    );
    let e = patched(json!([{"op": "remove", "path": "userName"}])).expect_err("required");
    assert_eq!(e.detail, "`userName` is required");
}

#[test]
fn unknown_attributes_are_ignored_and_bad_requests_refused() {
    let v = patched(json!([{"op": "Add", "path": "addresses[type eq \"work\"].formatted", "value": "1 Main St"}]))
        .expect("an attribute not kept is ignored");
    assert!(v.get("addresses").is_none());
    for (ops, kind) in [
        (json!([{"op": "move", "path": "x"}]), "invalidValue"),
        (json!([]), "invalidValue"),
        (
            json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": "y"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "userName.x", "value": "y"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "perhaps"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "value": "not an object"}]),
            "invalidValue",
        ),
        (json!([{"op": "add", "path": "nickName"}]), "invalidValue"),
    ] {
        let e = patched(ops.clone()).expect_err("refused");
        assert_eq!(e.scim_type, Some(kind), "{ops}: {}", e.detail);
    }
    assert!(
        parse_request(&json!({"schemas": []})).is_err(),
        "no Operations"
    );
}
