use serde_json::json;

use super::*;
use crate::scim::resource::ResourceKind;

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Bjensen",
        "userName": "Ada@Example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "active": true,
        "emails": [
            {"value": "ada@work.example", "type": "work", "primary": true},
            {"value": "ada@home.example", "type": "home"}
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
        "meta": {"lastModified": "2026-11-28T10:00:00.000Z"}
    })
}

fn m(f: &str) -> bool {
    matches(
        &parse(f).unwrap_or_else(|e| panic!("{f}: {}", e.detail)),
        &user(),
        &ResourceKind::User,
    )
}

#[test]
fn the_filters_idps_send_match_as_the_rfc_says() {
    // userName is caseExact=false: Okta's SPEC test sends it upper-cased.
    assert!(m(r#"userName eq "ADA@EXAMPLE.COM""#));
    assert!(
        m(r#"USERNAME EQ "ada@example.com""#),
        "names and operators ignore case"
    );
    // externalId and id are caseExact.
    assert!(m(r#"externalId eq "Bjensen""#));
    assert!(!m(r#"externalId eq "bjensen""#));
    // Entra: an unquoted value, and a value path followed by a sub-attribute comparison.
    assert!(m("externalId eq Bjensen"));
    assert!(m(r#"emails[type eq "work"].value eq "ada@work.example""#));
    assert!(!m(r#"emails[type eq "home"].value eq "ada@work.example""#));
    // Entra's Test Connection: a random GUID matches nothing.
    assert!(!m(r#"userName eq "8a1d6fd1-9f3b-4d3c-9a8e-4b0e2f5b8c21""#));
    assert!(m(r#"userName eq "ada@example.com" and active eq true"#));
    assert!(m(r#"active eq "True""#), "a string boolean");
}

#[test]
fn every_operator_and_the_logic_work() {
    assert!(m(r#"name.givenName sw "A""#));
    assert!(m(r#"name.familyName ew "ace""#));
    assert!(m(r#"userName co "@example""#));
    assert!(m(r#"userName ne "someone""#));
    assert!(m(r#"title ne "x""#), "ne holds for an absent attribute");
    assert!(m("name.givenName pr"));
    assert!(!m("title pr"));
    assert!(m(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#));
    assert!(!m(r#"meta.lastModified lt "2026-01-01T00:00:00Z""#));
    assert!(
        m(r#"meta.lastModified ge "2026-11-28T10:00:00Z""#),
        "times compare as times"
    );
    assert!(m(
        r#"not (userName eq "x") and (title pr or active eq true)"#
    ));
    assert!(!m(r#"userName eq "x" or userName eq "y""#));
    assert!(m(r#"emails[type eq "work" and value co "work"]"#));
    assert!(
        m(r#"emails eq "ada@home.example""#),
        "a multi-valued complex compares its values"
    );
    assert!(m(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales""#
    ));
    assert!(
        m(r#"department eq "Sales""#),
        "an extension attribute named without its URN"
    );
}

#[test]
fn bad_filters_are_invalid_filter_errors() {
    for bad in [
        "",
        "userName",
        r#"userName xx "a""#,
        r#"userName eq"#,
        r#"(userName eq "a""#,
        r#"userName eq "a" and"#,
        r#"emails[type eq "work""#,
        r#"userName eq "unterminated"#,
        r#"emails[type eq "work"]x eq "y""#,
    ] {
        let e = parse(bad).expect_err(bad);
        assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}");
    }
}

#[test]
fn indexable_equalities_are_found_in_the_top_level_and() {
    let f = parse(r#"id eq "g1" and members[value eq "u1"]"#).expect("parses");
    assert_eq!(
        index_hints(&f, "displayName"),
        vec![Hint::Id("g1".into()), Hint::Member("u1".into())]
    );
    let f = parse(r#"userName eq "a" or externalId eq "b""#).expect("parses");
    assert!(
        index_hints(&f, "userName").is_empty(),
        "an `or` is not one lookup"
    );
    let f = parse(r#"displayName eq "Sales" and members eq "u2""#).expect("parses");
    assert_eq!(
        index_hints(&f, "displayName"),
        vec![Hint::Name("Sales".into()), Hint::Member("u2".into())]
    );
}

#[test]
fn member_tests_say_which_memberships_to_read() {
    let need = |f: &str| member_need(&parse(f).expect("parses"));
    assert_eq!(need(r#"displayName eq "x""#), MemberNeed::None);
    assert_eq!(
        need(r#"members[value eq "u1"] or members.value eq "u2""#),
        MemberNeed::Values(vec!["u1".into(), "u2".into()])
    );
    assert_eq!(need("members pr"), MemberNeed::All);
    assert_eq!(need(r#"members[type eq "User"]"#), MemberNeed::All);
}
