//! Microsoft's documented provisioning cycle for a SCIM endpoint ("Tutorial: Develop and plan
//! provisioning for a SCIM endpoint in Microsoft Entra ID"), request by request, with the bodies
//! it shows (emails and names adapted to the simulator's users, the group to a rule), in both
//! PATCH dialects (without and with `aadOptscim062020`), and Domo's state after each step.

use reqwest::Method;
use serde_json::json;

use super::{q, spawn_scim};

#[tokio::test]
async fn entra_provisioning_cycle_drives_domo() {
    let app = spawn_scim().await;

    // Test Connection: a filter on the matching attribute with a random GUID.
    let (s, list) = app
        .scim_get(&format!(
            "/Users?filter={}",
            q(r#"userName eq "8b1e4d3a-6f0c-4a8e-9b0b-1f1e2d3c4b5a""#)
        ))
        .await;
    assert_eq!(
        (
            s,
            list["totalResults"].as_i64(),
            list["Resources"].as_array().map(Vec::len)
        ),
        (200, Some(0), Some(0))
    );

    // Create User: the match query, then the POST as Entra sends it.
    let (s, list) = app
        .scim_get(&format!(
            "/Users?filter={}",
            q(r#"userName eq "ada@example.com""#)
        ))
        .await;
    assert_eq!((s, list["totalResults"].as_i64()), (200, Some(0)));
    let (s, user) = app
        .scim_call(
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "ada@example.com",
                "active": true,
                "addresses": null,
                "emails": [{"primary": true, "type": "work", "value": "ada@example.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
                "roles": []
            })),
        )
        .await;
    assert_eq!(s, 201, "{user}");
    let uid = user["id"].as_str().expect("id").to_owned();
    assert_eq!(
        user["meta"]["location"],
        format!("{}/Users/{uid}", app.scim_base())
    );
    assert!(
        user.get("addresses").is_none() && user.get("roles").is_none(),
        "{user}"
    );

    // Get User; Get User by query; Get User by query, zero results.
    let (s, got) = app.scim_get(&format!("/Users/{uid}")).await;
    assert_eq!((s, &got["userName"]), (200, &json!("ada@example.com")));
    let (_, by) = app
        .scim_get(&format!(
            "/Users?filter={}",
            q(r#"userName eq "ADA@EXAMPLE.COM""#)
        ))
        .await;
    assert_eq!(by["Resources"][0]["id"], uid.as_str());
    let (_, by) = app
        .scim_get(&format!(
            "/Users?filter={}",
            q(r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#)
        ))
        .await;
    assert_eq!(by["totalResults"], 1);
    let (_, none) = app
        .scim_get(&format!(
            "/Users?filter={}",
            q(r#"userName eq "nobody@example.com""#)
        ))
        .await;
    assert_eq!(none["totalResults"], 0);

    // Update User, multi-valued and single-valued properties (Entra's capitalised ops).
    let (s, patched) = app
        .scim_call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada@example.com"},
                {"op": "Replace", "path": "name.familyName", "value": "King"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Finance"}
            ]})),
        )
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(patched["name"]["familyName"], "King");

    // Create Group (Entra's extra schema URN), get it without members, by displayName.
    let (s, group) = app
        .scim_call(
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Marketing",
                "meta": {"resourceType": "Group"}
            })),
        )
        .await;
    assert_eq!(s, 201, "{group}");
    let gid = group["id"].as_str().expect("id").to_owned();
    let (s, g) = app
        .scim_get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert_eq!((s, &g["displayName"]), (200, &json!("Marketing")));
    let (_, by) = app
        .scim_get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            q(r#"displayName eq "Marketing""#)
        ))
        .await;
    assert_eq!(by["Resources"][0]["id"], gid.as_str());

    // Update Group, add members ($ref null) — Domo follows.
    let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": uid}]}]});
    let (s, body) = app
        .scim_call(Method::PATCH, &format!("/Groups/{gid}"), Some(add.clone()))
        .await;
    assert_eq!((s, body), (204, serde_json::Value::Null));
    assert_eq!(app.domo_groups_of("ada@example.com").await, ["Marketing"]);
    // Entra's membership probe.
    let (_, probe) = app
        .scim_get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            q(&format!(r#"id eq "{gid}" and members eq "{uid}""#))
        ))
        .await;
    assert_eq!(probe["totalResults"], 1);

    // Disable User (without the flag: a string boolean); Domo loses the groups, SCIM keeps them.
    let (s, _) = app
        .scim_call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        app.domo_groups_of("ada@example.com").await.is_empty(),
        "offboarded in Domo"
    );
    let (_, g) = app.scim_get(&format!("/Groups/{gid}")).await;
    assert_eq!(
        g["members"][0]["value"],
        uid.as_str(),
        "the SCIM membership is kept"
    );
    let (_, u) = app.scim_get(&format!("/Users/{uid}")).await;
    assert_eq!(u["active"], false, "a deactivated user is still served");
    // Restore (with the flag: a JSON boolean): Entra does not re-send the memberships.
    let (s, _) = app
        .scim_call(
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(json!({"Operations": [{"op": "replace", "path": "active", "value": true}]})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.domo_groups_of("ada@example.com").await,
        ["Marketing"],
        "restored from the kept memberships"
    );

    // Update Group, remove members: Entra's default form (a value list), then the flag's form.
    let (s, _) = app
        .scim_call(Method::PATCH, &format!("/Groups/{gid}"), Some(json!({"Operations": [{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": uid}]}]})))
        .await;
    assert_eq!(s, 204);
    assert!(app.domo_groups_of("ada@example.com").await.is_empty());
    app.scim_call(Method::PATCH, &format!("/Groups/{gid}"), Some(add))
        .await;
    assert_eq!(app.domo_groups_of("ada@example.com").await, ["Marketing"]);
    let (s, _) = app
        .scim_call(Method::PATCH, &format!("/Groups/{gid}"), Some(json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{uid}\"]")}]})))
        .await;
    assert_eq!(s, 204);
    assert!(app.domo_groups_of("ada@example.com").await.is_empty());

    // Update Group, non-member attributes; then Delete User and Delete Group.
    let (s, _) = app
        .scim_call(Method::PATCH, &format!("/Groups/{gid}"), Some(json!({"Operations": [{"op": "Replace", "path": "displayName", "value": "Finance"}]})))
        .await;
    assert_eq!(s, 204);
    app.scim_call(
        Method::PATCH,
        &format!("/Groups/{gid}"),
        Some(json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": uid}]}]})),
    )
    .await;
    assert_eq!(
        app.domo_groups_of("ada@example.com").await,
        ["Finance"],
        "the renamed group maps by its new name"
    );
    assert_eq!(
        app.scim_call(Method::DELETE, &format!("/Users/{uid}"), None)
            .await
            .0,
        204
    );
    assert!(
        app.domo_groups_of("ada@example.com").await.is_empty(),
        "a deleted user is offboarded"
    );
    assert_eq!(app.scim_get(&format!("/Users/{uid}")).await.0, 404);
    assert_eq!(
        app.scim_call(Method::DELETE, &format!("/Groups/{gid}"), None)
            .await
            .0,
        204
    );
    assert_eq!(app.scim_get(&format!("/Groups/{gid}")).await.0, 404);
    app.wait_idle().await;
    assert_eq!(app.store.count_events("dead").await.expect("count"), 0);
}
