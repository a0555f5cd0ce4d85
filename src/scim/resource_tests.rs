use serde_json::json;

use super::*;
use crate::scim::schema::ENTERPRISE_URN;

#[test]
fn requests_are_read_leniently_into_canonical_attributes() {
    // Entra's create: meta, nulls, empty lists, an unknown attribute, a string boolean.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
        "externalId": "jyoung", "USERNAME": "jyoung@contoso.com", "active": "True",
        "addresses": null, "roles": [], "meta": {"resourceType": "User"},
        "password": "secret", "groups": [], "id": "client-chosen",
        "emails": [{"Primary": true, "type": "work", "value": "jyoung@contoso.com"}],
        "name": {"givenName": "Jane", "familyName": null},
        ENTERPRISE_URN: {"department": "Sales", "employeeNumber": 701984, "manager": {"value": "m1", "displayName": "ro"}},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division": "EMEA"
    });
    let out = normalize(ResourceKind::User, &body).expect("valid");
    assert_eq!(
        Value::Object(out),
        json!({
            "externalId": "jyoung", "userName": "jyoung@contoso.com", "active": true,
            "emails": [{"primary": true, "type": "work", "value": "jyoung@contoso.com"}],
            "name": {"givenName": "Jane"},
            ENTERPRISE_URN: {"department": "Sales", "employeeNumber": "701984", "manager": {"value": "m1"}, "division": "EMEA"}
        })
    );
}

#[test]
fn user_name_policy_required_not_blank_no_outer_whitespace() {
    let err = |body: Value| normalize(ResourceKind::User, &body).expect_err("refused");
    assert_eq!(
        err(json!({"active": true})).detail,
        "`userName` is required"
    );
    assert_eq!(
        err(json!({"userName": null})).detail,
        "`userName` is required"
    );
    assert!(
        err(json!({"userName": "  "}))
            .detail
            .contains("must not be empty")
    );
    let e = err(json!({"userName": " ada@example.com"}));
    assert_eq!(e.scim_type, Some("invalidValue"));
    assert!(e.detail.contains("send `ada@example.com`"), "{}", e.detail);
    assert!(
        err(json!({"userName": "ada@example.com\t"}))
            .detail
            .contains("whitespace")
    );
    assert!(
        err(json!({"userName": "a\u{0007}b"}))
            .detail
            .contains("control")
    );
    // Inner spaces and case are kept as sent.
    let ok = normalize(ResourceKind::User, &json!({"userName": "Ada Lovelace"})).expect("valid");
    assert_eq!(ok["userName"], "Ada Lovelace");
    assert!(normalize(ResourceKind::Group, &json!({"displayName": "Sales "})).is_err());
    let g = normalize(
        ResourceKind::Group,
        &json!({"displayName": "Sales", "members": [{"value": "u"}]}),
    )
    .expect("valid");
    assert!(
        g.get("members").is_none(),
        "members are rows of their own, never attributes"
    );
}

#[test]
fn wrong_types_and_two_primaries_are_refused() {
    for bad in [
        json!({"userName": "a", "active": "maybe"}),
        json!({"userName": "a", "name": "Ada"}),
        json!({"userName": ["a"]}),
        json!({"userName": "a", "emails": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}),
        json!("not an object"),
    ] {
        assert!(normalize(ResourceKind::User, &bad).is_err(), "{bad}");
    }
}

#[test]
fn case_exactness_follows_the_schema() {
    let k = ResourceKind::User;
    let r = |s: &str| AttrRef::parse(s).expect("path");
    assert!(k.case_exact(&r("id"), None));
    assert!(k.case_exact(&r("externalId"), None));
    assert!(!k.case_exact(&r("userName"), None));
    assert!(!k.case_exact(&r("emails"), Some("value")));
}
