//! The committed `openapi/openapi.json` is what the code generates. `UPDATE_OPENAPI=1 cargo
//! nextest run openapi` rewrites it.

#[test]
fn committed_openapi_document_is_up_to_date() {
    let generated = domo_group_sync::api::openapi()
        .to_pretty_json()
        .expect("the document serialises")
        + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi"))
            .expect("openapi/ can be created");
        std::fs::write(path, &generated).expect("openapi/openapi.json can be written");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json differs from the generated document; run \
         `UPDATE_OPENAPI=1 cargo nextest run openapi` and commit the result"
    );
}

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let app = crate::helpers::spawn_app().await;
    let served: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let generated = serde_json::to_value(domo_group_sync::api::openapi()).expect("serialises");
    assert_eq!(served, generated);
    assert_eq!(served["openapi"], "3.1.0");
    assert!(served["components"]["securitySchemes"]["bearer"].is_object());
    assert!(served["components"]["schemas"]["Problem"].is_object());
    assert!(
        served["components"]["schemas"]["CanonicalEvent"]["example"].is_object(),
        "the canonical event carries an example"
    );
}
