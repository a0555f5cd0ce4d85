//! Unit tests of lenient decoding against the samples in reference/domo-api.md.

use super::*;

fn group(json: &str) -> Group {
    serde_json::from_str(json).expect("group decodes")
}

fn user(json: &str) -> User {
    serde_json::from_str(json).expect("user decodes")
}

#[test]
fn created_group_sample_decodes_with_a_string_creator_id() {
    let g = group(
        r#"{ "id": 876655018, "name": "Groupy Group", "active": true,
             "creatorId": "87659738", "default": false }"#,
    );
    assert_eq!(g.id, 876_655_018);
    assert_eq!(g.name.as_deref(), Some("Groupy Group"));
    assert_eq!(g.active, Some(true));
    assert_eq!(g.default, Some(false));
    assert_eq!(g.creator_id, Some(87_659_738));
    assert_eq!(g.member_count, None);
    assert_eq!(g.deleted, None);
}

#[test]
fn ids_and_counts_may_be_numeric_strings() {
    let g = group(r#"{ "id": " 2079369920 ", "memberCount": "2" }"#);
    assert_eq!(g.id, 2_079_369_920);
    assert_eq!(g.member_count, Some(2));
}

#[test]
fn booleans_may_be_strings_in_any_case_or_numbers() {
    let cases = [
        (r#""true""#, Some(true)),
        (r#""False""#, Some(false)),
        (r#""TRUE""#, Some(true)),
        ("1", Some(true)),
        ("0", Some(false)),
        ("true", Some(true)),
        ("null", None),
        (r#""maybe""#, None),
        ("[]", None),
    ];
    for (value, expected) in cases {
        let g = group(&format!(r#"{{ "id": 1, "active": {value} }}"#));
        assert_eq!(g.active, expected, "active = {value}");
    }
}

#[test]
fn unknown_fields_and_odd_types_are_tolerated() {
    let g = group(
        r#"{ "id": 7, "name": null, "userIds": [1, 2], "type": "adHoc",
             "memberCount": {"weird": true}, "default": "yes" }"#,
    );
    assert_eq!(g.id, 7);
    assert_eq!(g.name, None);
    assert_eq!(g.member_count, None);
    assert_eq!(g.default, None);
}

#[test]
fn a_group_without_a_usable_id_is_an_error() {
    for json in [
        r#"{ "name": "x" }"#,
        r#"{ "id": "abc" }"#,
        r#"{ "id": 1.5 }"#,
        r#"{ "id": null }"#,
    ] {
        assert!(serde_json::from_str::<Group>(json).is_err(), "{json}");
    }
}

#[test]
fn the_id_error_does_not_quote_the_value() {
    let err = serde_json::from_str::<Group>(r#"{ "id": "hunter2" }"#).expect_err("bad id");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn retrieved_user_sample_decodes() {
    let u = user(
        r#"{ "id": 871428330, "title": "Software Engineer", "email": "leonard.euler@domo.com",
             "alternateEmail": "leonardeuler@email.com", "role": "Admin", "phone": "884-361-1078",
             "name": "Leonard Euler", "location": "American Fork", "roleId": "1",
             "employeeNumber": 23532, "createdAt": "2017-06-12T20:23:57Z",
             "updatedAt": "2017-06-12T20:23:57Z", "deleted": false,
             "image": "https://instance.domo.com/avatar/thumb/domo/871428330",
             "groups": [ { "id": 1324037627, "name": "Default" } ] }"#,
    );
    assert_eq!(u.id, 871_428_330);
    assert_eq!(u.email.as_deref(), Some("leonard.euler@domo.com"));
    assert_eq!(u.name.as_deref(), Some("Leonard Euler"));
    assert_eq!(u.role.as_deref(), Some("Admin"));
    assert_eq!(u.role_id, Some(1));
    assert_eq!(u.deleted, Some(false));
    assert_eq!(
        u.groups,
        Some(vec![GroupRef {
            id: 1_324_037_627,
            name: Some("Default".into())
        }])
    );
}

#[test]
fn a_deleted_user_is_a_subset_with_deleted_true() {
    let u = user(r#"{ "id": "55541092", "deleted": "true" }"#);
    assert_eq!(u.id, 55_541_092);
    assert_eq!(u.deleted, Some(true));
    assert_eq!(u.email, None);
    assert_eq!(u.groups, None);
}

#[test]
fn group_refs_with_string_ids_are_kept_and_broken_ones_skipped() {
    let u = user(
        r#"{ "id": 1, "groups": [ {"id": "42"}, {"name": "no id"}, 5, {"id": 43, "name": "B"} ] }"#,
    );
    let ids: Vec<i64> = u.groups.expect("groups").iter().map(|g| g.id).collect();
    assert_eq!(ids, vec![42, 43]);
}

#[test]
fn member_ids_may_be_numbers_or_strings() {
    let ids: Vec<UserId> = serde_json::from_str(r#"[87659738, "809129372"]"#).expect("ids");
    assert_eq!(ids, vec![UserId(87_659_738), UserId(809_129_372)]);
}

#[test]
fn token_response_sample_decodes() {
    let t: TokenResponse = serde_json::from_str(
        r#"{ "access_token": "eyJ.x.y", "customer": "acmecompany", "expires_in": 3599,
             "jti": "81dece4c", "role": "Admin", "scope": "data user",
             "token_type": "bearer", "userId": 964382593, "env": "prod" }"#,
    )
    .expect("token");
    assert_eq!(t.access_token, "eyJ.x.y");
    assert_eq!(t.expires_in, Some(3599));
    assert_eq!(t.user_id, Some(964_382_593));
}

#[test]
fn token_user_id_may_be_a_string_absent_or_unusable() {
    let user_id = |json: &str| {
        serde_json::from_str::<TokenResponse>(json)
            .expect("token")
            .user_id
    };
    assert_eq!(
        user_id(r#"{"access_token": "t", "userId": "964382593"}"#),
        Some(964_382_593)
    );
    assert_eq!(user_id(r#"{"access_token": "t"}"#), None);
    assert_eq!(user_id(r#"{"access_token": "t", "userId": null}"#), None);
    assert_eq!(
        user_id(r#"{"access_token": "t", "userId": {"id": 1}}"#),
        None
    );
}

#[test]
fn new_user_serialises_the_three_fields() {
    let body = serde_json::to_value(NewUser {
        name: "Ada",
        email: "ada@example.com",
        role: "Participant",
    })
    .expect("json");
    assert_eq!(
        body,
        serde_json::json!({"name": "Ada", "email": "ada@example.com", "role": "Participant"})
    );
}
