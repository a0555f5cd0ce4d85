//! The protocol around the resources: authentication, discovery, errors as SCIM documents,
//! paging, filters, uniqueness and the userName policy, metrics.

use reqwest::Method;
use serde_json::json;

use super::{SCIM_TOKEN, scim_answer, spawn_scim};

#[tokio::test]
async fn requests_need_the_sources_token_and_errors_are_scim_documents() {
    let app = spawn_scim().await;
    let url = app.url("/scim/scim/v2/Users");
    // No token, a wrong one, the right one.
    let resp = app.client.get(&url).send().await.expect("sent");
    assert_eq!(
        resp.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    let (s, err) = scim_answer(resp).await;
    assert_eq!(
        (s, &err["status"], &err["schemas"][0]),
        (
            401,
            &json!("401"),
            &json!("urn:ietf:params:scim:api:messages:2.0:Error")
        )
    );
    let (s, _) = scim_answer(
        app.client
            .get(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(s, 401);
    // The digest is the secret: the digest itself is not a token.
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        SCIM_TOKEN.as_bytes(),
    ));
    let (s, _) = scim_answer(
        app.client
            .get(&url)
            .bearer_auth(&digest)
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(s, 401);
    assert_eq!(app.scim_get("/Users").await.0, 200);
    // A source that is not a SCIM one, or none at all.
    for path in ["/scim/sw/v2/Users", "/scim/nope/v2/Users"] {
        let resp = app
            .client
            .get(app.url(path))
            .bearer_auth(SCIM_TOKEN)
            .send()
            .await
            .expect("sent");
        assert_eq!(scim_answer(resp).await.0, 404, "{path}");
    }
    // A SCIM source takes no webhooks.
    let resp = app
        .client
        .post(app.url("/webhooks/scim"))
        .body("{}")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 404);
    // Paths and methods that do not exist; unsupported features.
    let (s, err) = app.scim_get("/8b1e4d3a-6f0c-4a8e-9b0b-1f1e2d3c4b5a").await;
    assert_eq!((s, &err["status"]), (404, &json!("404")));
    for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
        let (s, err) = app.scim_call(Method::DELETE, path, None).await;
        assert_eq!((s, &err["status"]), (405, &json!("405")), "{path}");
    }
    assert_eq!(
        app.scim_call(Method::POST, "/Bulk", Some(json!({})))
            .await
            .0,
        501
    );
    let (s, err) = app
        .scim_call(Method::POST, "/Users", Some(json!(["a list"])))
        .await;
    assert_eq!(
        (s, &err["scimType"]),
        (400, &json!("invalidSyntax")),
        "{err}"
    );
    let resp = app
        .scim(Method::POST, "/Users")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    let (s, err) = scim_answer(resp).await;
    assert_eq!((s, &err["scimType"]), (400, &json!("invalidSyntax")));
}

#[tokio::test]
async fn discovery_advertises_what_is_implemented() {
    let app = spawn_scim().await;
    let (s, spc) = app.scim_get("/ServiceProviderConfig").await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            &spc["patch"]["supported"],
            &spc["bulk"]["supported"],
            &spc["etag"]["supported"]
        ),
        (&json!(true), &json!(false), &json!(false))
    );
    let (_, rts) = app.scim_get("/ResourceTypes").await;
    assert_eq!(rts["Resources"][0]["endpoint"], "/Users");
    let (s, user) = app
        .scim_get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!((s, &user["name"]), (200, &json!("User")));
    assert_eq!(app.scim_get("/Schemas/urn:example:nothing").await.0, 404);
    assert_eq!(app.scim_get("/ResourceTypes/Device").await.0, 404);
}

pub(super) async fn create(app: &crate::helpers::TestApp, user_name: &str) -> String {
    let (s, u) = app
        .scim_call(Method::POST, "/Users", Some(json!({"userName": user_name})))
        .await;
    assert_eq!(s, 201, "{u}");
    u["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_member_must_be_a_user_of_the_source_and_errors_change_nothing() {
    let app = spawn_scim().await;
    let uid = create(&app, "ada@example.com").await;
    let (_, g) = app
        .scim_call(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Marketing"})),
        )
        .await;
    let gid = g["id"].as_str().expect("id").to_owned();
    let events = app.store.count_events("done").await.expect("count")
        + app.store.count_pending().await.expect("count");
    // One good member and one unknown id in one PATCH: a 400 naming the id, nothing applied.
    let (s, err) = app
        .scim_call(Method::PATCH, &format!("/Groups/{gid}"), Some(json!({"Operations": [
            {"op": "add", "path": "members", "value": [{"value": uid}, {"value": "no-such-user"}]}]})))
        .await;
    assert_eq!((s, &err["scimType"]), (400, &json!("invalidValue")));
    assert!(
        err["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no-such-user")),
        "{err}"
    );
    let (_, g) = app.scim_get(&format!("/Groups/{gid}")).await;
    assert!(g.get("members").is_none(), "atomic: {g}");
    let after = app.store.count_events("done").await.expect("count")
        + app.store.count_pending().await.expect("count");
    assert_eq!(after, events, "no event for a refused request");
    // A bad operation after a good one: nothing applied either.
    let (s, _) = app
        .scim_call(Method::PATCH, &format!("/Users/{uid}"), Some(json!({"Operations": [
            {"op": "replace", "path": "displayName", "value": "Ada"}, {"op": "replace", "path": "active", "value": "perhaps"}]})))
        .await;
    assert_eq!(s, 400);
    let (_, u) = app.scim_get(&format!("/Users/{uid}")).await;
    assert!(u.get("displayName").is_none(), "{u}");
    // Unknown ids answer 404 on every operation.
    for m in [Method::GET, Method::DELETE] {
        assert_eq!(app.scim_call(m, "/Users/nope", None).await.0, 404);
    }
    assert_eq!(
        app.scim_call(
            Method::PUT,
            "/Groups/nope",
            Some(json!({"displayName": "x"}))
        )
        .await
        .0,
        404
    );
    assert_eq!(
        app.scim_call(
            Method::PATCH,
            "/Groups/nope",
            Some(json!({"Operations": [{"op": "remove", "path": "members"}]}))
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn scim_requests_are_counted_by_operation_and_status() {
    let app = spawn_scim().await;
    create(&app, "ada@example.com").await;
    app.scim_get("/Users/nope").await;
    let resp = app
        .client
        .get(app.url("/scim/nobody/v2/Users"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 404);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    let has = |labels: &[&str]| {
        metrics.lines().any(|l| {
            l.starts_with("dgs_scim_requests_total{") && labels.iter().all(|x| l.contains(x))
        })
    };
    assert!(
        has(&[
            r#"operation="create_user""#,
            r#"source="scim""#,
            r#"status="201""#
        ]),
        "{metrics}"
    );
    assert!(has(&[
        r#"operation="get_user""#,
        r#"source="scim""#,
        r#"status="404""#
    ]));
    assert!(
        has(&[r#"source="unknown""#, r#"status="404""#]),
        "an unconfigured name is not a label"
    );
    assert!(!metrics.contains(r#"source="nobody""#));
}

#[tokio::test]
async fn a_scim_token_rotates_with_a_reload() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        scim: true,
        config_file: true,
        ..crate::helpers::Options::default()
    })
    .await;
    let path = app.dir().join("config.toml");
    let old_digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        SCIM_TOKEN.as_bytes(),
    ));
    let new_token = "the-next-scim-token";
    let new_digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(new_token.as_bytes()));
    let users = app.url("/scim/scim/v2/Users");
    let status = |token: &'static str| {
        let (client, users) = (app.client.clone(), users.clone());
        async move {
            client
                .get(users)
                .bearer_auth(token)
                .send()
                .await
                .expect("sent")
                .status()
                .as_u16()
        }
    };
    // Both digests live (rotation), then the old one dropped: no restart.
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(
        &path,
        text.replace(
            &format!("\"{old_digest}\""),
            &format!("\"{old_digest}\", \"{new_digest}\""),
        ),
    )
    .expect("write");
    app.reload().await;
    assert_eq!(
        (status(SCIM_TOKEN).await, status(new_token).await),
        (200, 200)
    );
    std::fs::write(&path, text.replace(&old_digest, &new_digest)).expect("write");
    app.reload().await;
    assert_eq!(
        (status(SCIM_TOKEN).await, status(new_token).await),
        (401, 200)
    );
}
