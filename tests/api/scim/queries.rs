//! Queries and names: paging in creation order, filters, projections, `.search`, and
//! uniqueness with the `userName` policy.

use reqwest::Method;
use serde_json::json;

use super::protocol::create;
use super::{q, spawn_scim};

#[tokio::test]
async fn lists_page_in_creation_order_and_filter() {
    let app = spawn_scim().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create(&app, &format!("user{i}@example.com")).await);
    }
    let page = |start: i64, count: i64| {
        let app = &app;
        async move {
            app.scim_get(&format!("/Users?startIndex={start}&count={count}"))
                .await
                .1
        }
    };
    let p = page(2, 2).await;
    assert_eq!(
        (&p["totalResults"], &p["startIndex"], &p["itemsPerPage"]),
        (&json!(5), &json!(2), &json!(2))
    );
    let got: Vec<&str> = p["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        got,
        [ids[1].as_str(), ids[2].as_str()],
        "stable creation order"
    );
    let p = page(0, -3).await;
    assert_eq!(
        (&p["startIndex"], &p["itemsPerPage"], &p["totalResults"]),
        (&json!(1), &json!(0), &json!(5)),
        "RFC 7644 §3.4.2.4"
    );
    let p = page(5, 10).await;
    assert_eq!(p["itemsPerPage"], 1);
    // A filter, paged.
    let (_, f) = app
        .scim_get(&format!(
            "/Users?filter={}&startIndex=2&count=2",
            q(r#"userName sw "USER""#)
        ))
        .await;
    assert_eq!(
        (&f["totalResults"], &f["itemsPerPage"]),
        (&json!(5), &json!(2))
    );
    let (s, err) = app
        .scim_get(&format!("/Users?filter={}", q("userName zz 1")))
        .await;
    assert_eq!((s, &err["scimType"]), (400, &json!("invalidFilter")));
    let (s, err) = app.scim_get("/Users?count=ten").await;
    assert_eq!((s, &err["scimType"]), (400, &json!("invalidValue")));
    // attributes / excludedAttributes; .search.
    let (_, one) = app
        .scim_get(&format!("/Users/{}?attributes=userName", ids[0]))
        .await;
    assert_eq!(
        one.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["id".into(), "schemas".into(), "userName".into()])
    );
    let (_, one) = app
        .scim_get(&format!(
            "/Users/{}?excludedAttributes=meta,userName",
            ids[0]
        ))
        .await;
    assert!(one.get("meta").is_none() && one.get("userName").is_none() && one.get("id").is_some());
    let (s, found) = app
        .scim_call(Method::POST, "/Users/.search", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"user3@example.com\"", "attributes": ["userName"]})))
        .await;
    assert_eq!(
        (s, &found["totalResults"], &found["Resources"][0]["id"]),
        (200, &json!(1), &json!(ids[3]))
    );
}

#[tokio::test]
async fn user_names_are_unique_without_regard_to_case_and_never_padded() {
    let app = spawn_scim().await;
    let id = create(&app, "Ada@Example.com").await;
    let (s, err) = app
        .scim_call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "ada@example.COM"})),
        )
        .await;
    assert_eq!(
        (s, &err["scimType"]),
        (409, &json!("uniqueness")),
        "case-insensitive uniqueness"
    );
    let (s, err) = app
        .scim_call(
            Method::POST,
            "/Users",
            Some(json!({"userName": "ada@example.com "})),
        )
        .await;
    assert_eq!((s, &err["scimType"]), (400, &json!("invalidValue")));
    assert!(
        err["detail"]
            .as_str()
            .is_some_and(|d| d.contains("whitespace")),
        "{err}"
    );
    // Stored as sent; found in any case.
    let (_, u) = app.scim_get(&format!("/Users/{id}")).await;
    assert_eq!(u["userName"], "Ada@Example.com");
    let (_, by) = app
        .scim_get(&format!(
            "/Users?filter={}",
            q(r#"userName eq "ADA@EXAMPLE.COM""#)
        ))
        .await;
    assert_eq!(by["totalResults"], 1);
    // Renaming onto another user's name is refused; changing only the case of one's own is not.
    let other = create(&app, "grace@example.com").await;
    let rename =
        |name: &str| json!({"Operations": [{"op": "replace", "path": "userName", "value": name}]});
    let (s, _) = app
        .scim_call(
            Method::PATCH,
            &format!("/Users/{other}"),
            Some(rename("ADA@example.com")),
        )
        .await;
    assert_eq!(s, 409);
    let (s, u) = app
        .scim_call(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(rename("ADA@EXAMPLE.COM")),
        )
        .await;
    assert_eq!((s, &u["userName"]), (200, &json!("ADA@EXAMPLE.COM")));
    // Groups: displayName likewise.
    let (s, _) = app
        .scim_call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Marketing"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, err) = app
        .scim_call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "MARKETING"})),
        )
        .await;
    assert_eq!((s, &err["scimType"]), (409, &json!("uniqueness")));
    // Two active users cannot share one identity email (one Domo account).
    let (s, err) = app
        .scim_call(Method::POST, "/Users", Some(json!({"userName": "ada2", "emails": [{"value": "ADA@example.com", "primary": true}]})))
        .await;
    assert_eq!((s, &err["scimType"]), (409, &json!("uniqueness")), "{err}");
}
