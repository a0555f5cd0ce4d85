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

/// Every `$ref` in a document, depth first.
fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x.as_str()) {
                    ("$ref", Some(r)) => out.push(r.to_owned()),
                    _ => refs(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_outgoing_events_are_described_as_openapi_webhooks() {
    let doc = serde_json::to_value(domo_group_sync::api::openapi()).expect("serialises");
    let hooks = doc["webhooks"].as_object().expect("a webhooks section");
    let mut names: Vec<&str> = hooks.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "event.dead",
            "membership.applied",
            "offboarding.completed",
            "reconcile.completed",
            "reconcile.held",
            "source.failing"
        ]
    );
    let schemas = &doc["components"]["schemas"];
    for (name, item) in hooks {
        let op = &item["post"];
        let headers: Vec<&str> = op["parameters"]
            .as_array()
            .expect("headers")
            .iter()
            .filter(|p| p["in"] == "header" && p["required"] == true)
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(
            headers,
            ["webhook-id", "webhook-timestamp", "webhook-signature"],
            "{name}"
        );
        let body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .expect("a body schema");
        let envelope = &schemas[body];
        assert_eq!(envelope["properties"]["type"]["enum"][0], name.as_str());
        let data = envelope["properties"]["data"]["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .expect("a data schema");
        assert!(schemas[data]["properties"].is_object(), "{data}");
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a schema ref");
        assert!(schemas[name].is_object(), "unresolved {r}");
    }
}
