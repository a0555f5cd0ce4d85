//! Two replicas on one database taking SCIM writes at once (the PostgreSQL pass is the real
//! case; on SQLite two processes share the file): uniqueness holds across them, and concurrent
//! member batches on one group lose nothing, in the SCIM view and in Domo.

use reqwest::Method;
use serde_json::json;

use super::view::replica;
use super::{SCIM_TOKEN, scim_answer};
use crate::helpers::{Options, TestApp, spawn_app_with};

async fn call(
    app: &TestApp,
    addr: std::net::SocketAddr,
    method: Method,
    path: String,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let resp = app
        .client
        .request(method, format!("http://{addr}/scim/scim/v2{path}"))
        .bearer_auth(SCIM_TOKEN)
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    scim_answer(resp).await
}

#[tokio::test]
async fn replicas_agree_on_names_and_lose_no_concurrent_member_change() {
    const USERS: usize = 12;
    let users: Vec<String> = (0..USERS)
        .map(|i| format!("member{i}@example.com"))
        .collect();
    let app = spawn_app_with(Options {
        scim: true,
        users: users.clone(),
        ..Options::default()
    })
    .await;
    let (b, _stop, _dir) = replica(&app, Options::default()).await;
    let replicas = [app.addr, b];

    // The same userName from both replicas at once: exactly one is created.
    let tries = (0..8).map(|i| {
        call(
            &app,
            replicas[i % 2],
            Method::POST,
            "/Users".into(),
            json!({"userName": "Dup@example.com"}),
        )
    });
    let statuses: Vec<u16> = futures_join(tries)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );

    let creates = users.iter().enumerate().map(|(i, u)| {
        call(
            &app,
            replicas[i % 2],
            Method::POST,
            "/Users".into(),
            json!({"userName": u}),
        )
    });
    let ids: Vec<String> = futures_join(creates)
        .await
        .into_iter()
        .map(|(s, v)| {
            assert_eq!(s, 201, "{v}");
            v["id"].as_str().expect("id").to_owned()
        })
        .collect();
    let (_, g) = call(
        &app,
        app.addr,
        Method::POST,
        "/Groups".into(),
        json!({"displayName": "Marketing"}),
    )
    .await;
    let gid = g["id"].as_str().expect("id").to_owned();

    // One member per PATCH, all at once, alternating replicas; then half removed, at once.
    let adds = ids.iter().enumerate().map(|(i, id)| {
        call(
            &app,
            replicas[i % 2],
            Method::PATCH,
            format!("/Groups/{gid}"),
            json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": id}]}]}),
        )
    });
    assert!(futures_join(adds).await.iter().all(|(s, _)| *s == 204));
    let removes = ids.iter().enumerate().filter(|(i, _)| i % 2 == 0).map(|(i, id)| {
        call(&app, replicas[(i / 2) % 2], Method::PATCH, format!("/Groups/{gid}"), json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]}))
    });
    assert!(futures_join(removes).await.iter().all(|(s, _)| *s == 204));

    let (_, g) = call(
        &app,
        b,
        Method::GET,
        format!("/Groups/{gid}"),
        serde_json::Value::Null,
    )
    .await;
    let mut members: Vec<String> = g["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect();
    members.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, id)| id.clone())
        .collect();
    expected.sort();
    assert_eq!(members, expected);
    app.wait_idle().await;
    for (i, u) in users.iter().enumerate() {
        let in_domo = app.groups_of(u).contains(&"Marketing".to_owned());
        assert_eq!(in_domo, i % 2 == 1, "{u} in Domo's Marketing");
    }
}

/// Runs the futures concurrently and returns their outputs in order.
async fn futures_join<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send,
{
    let mut set = Vec::new();
    for f in futures {
        set.push(f);
    }
    let pinned: Vec<_> = set.into_iter().map(Box::pin).collect();
    let mut out = Vec::with_capacity(pinned.len());
    // Poll all of them together: join them by hand with a select loop over indices.
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> = pinned.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}
