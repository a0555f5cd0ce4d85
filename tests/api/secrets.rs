//! Secrets stay secret: the real binary logs a full scenario at `trace`, and neither its logs
//! nor its answers contain a configured secret, a signature, a token or a payload body.

use crate::helpers::*;

#[tokio::test]
async fn no_secret_signature_token_or_body_reaches_the_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sim, sim_addr) = start_domo(["ada@example.com"]).await;
    let log_path = dir.path().join("stderr.log");
    let bin = spawn_binary(
        dir.path(),
        sim_addr,
        &Options::default(),
        "\n[log]\nformat = \"json\"\n",
        "trace",
        Some(log_path.clone()),
    )
    .await;
    let client = reqwest::Client::new();
    let sw = bin.source("sw");
    let gh = bin.source("gh");
    let marker = "Body-Marker-7731";
    let mut sent_signatures = Vec::new();
    let mut answers = String::new();

    let post = |path: String, body: String, headers: Vec<(String, String)>| {
        let client = client.clone();
        async move {
            let mut req = client
                .post(path)
                .header("content-type", "application/json")
                .body(body);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let resp = req.send().await.expect("sent");
            format!(
                "{} {}\n",
                resp.status(),
                resp.text().await.unwrap_or_default()
            )
        }
    };
    let now = chrono::Utc::now().timestamp();
    let body = format!(
        r#"{{"id":"evt_s1","type":"user.onboarded","occurred_at":"2026-11-28T10:00:00Z","user":{{"email":"ada@example.com","name":"{marker}"}},"groups":["Marketing"]}}"#
    );
    for (src, id) in [(&sw, "msg_s1"), (&gh, "msg_s2")] {
        let headers = sign_with(src, &src.secrets[0], &body, now, id);
        sent_signatures.extend(headers.iter().map(|(_, v)| v.clone()));
        answers += &post(
            format!("{}/webhooks/{}", bin.base, src.name),
            body.clone(),
            headers.clone(),
        )
        .await;
        // The same signature over a tampered body: refused, and the reason logged at debug.
        answers += &post(
            format!("{}/webhooks/{}", bin.base, src.name),
            body.replace("Marketing", "Finance"),
            headers,
        )
        .await;
    }
    answers += &post(
        format!("{}/webhooks/okta", bin.base),
        "{}".into(),
        vec![("Authorization".into(), OKTA_SECRET.into())],
    )
    .await;
    answers += &post(
        format!("{}/webhooks/okta", bin.base),
        "{}".into(),
        vec![("Authorization".into(), "Basic bm90LXRoZS1zZWNyZXQ=".into())],
    )
    .await;

    // Let the worker call Domo (token, lists, adds) so those paths log too.
    let mut reached = false;
    for _ in 0..300 {
        let st = sim.snapshot();
        let ada = st
            .users
            .iter()
            .find(|u| u.email == "ada@example.com")
            .map(|u| u.id);
        if st
            .groups
            .iter()
            .any(|g| g.name == "Marketing" && ada.is_some_and(|a| g.members.contains(&a)))
        {
            reached = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reached, "the event reached Domo");
    drop(bin);

    let logs = std::fs::read_to_string(&log_path).expect("logs");
    eprintln!(
        "secrets test: {} log lines at trace searched",
        logs.lines().count()
    );
    assert!(
        logs.contains("signature rejected"),
        "the scenario did log (at debug)"
    );
    let secrets = [
        SW_SECRET,
        SW_SECRET.trim_start_matches("whsec_"),
        SW_OLD_SECRET,
        GITHUB_SECRET,
        OKTA_SECRET,
        "YWRtaW46c3VwZXJzZWNyZXQ",
        "sim-secret",
        "c2ltLWNsaWVudDpzaW0tc2VjcmV0", // base64("sim-client:sim-secret"), the Basic credentials
        "eyJ",                          // any JWT (the simulator's access tokens)
        marker,                         // a payload body
    ];
    for s in secrets
        .iter()
        .copied()
        .chain(sent_signatures.iter().map(String::as_str))
    {
        assert!(
            !logs.contains(s),
            "the logs contain a secret, signature, token or body: {}…",
            &s[..s.len().min(6)]
        );
        assert!(
            !answers.contains(s),
            "an answer contains a secret, signature, token or body: {}…",
            &s[..s.len().min(6)]
        );
    }
}
