//! Per-source `allow_ips`: the client address is the direct peer unless that peer is a
//! trusted proxy, and then the forwarding header is read from the right. Refusals are 403
//! problem documents without detail, counted by source.

use crate::helpers::*;
use crate::rotation::metric;

const SOURCES: &str = r#"
[[sources]]
name = "partner"
format = "canonical"
scheme = "github"
secrets = ["It's a Secret to Everybody"]
allow_ips = ["203.0.113.0/24", "2001:db8::/32"]

[[sources]]
name = "local"
format = "canonical"
scheme = "github"
secrets = ["It's a Secret to Everybody"]
allow_ips = ["127.0.0.0/8"]
"#;

fn body(n: u32) -> String {
    canonical(
        &format!("evt-allow-{n}"),
        "user.updated",
        "2026-12-01T00:00:00Z",
        "ada@example.com",
        Some(&["Marketing"]),
    )
}

async fn post_from(
    app: &TestApp,
    source: &str,
    n: u32,
    forwarded: &[(&str, &str)],
) -> reqwest::Response {
    let body = body(n);
    let mut headers = app.sign(source, &body, "unused");
    for (k, v) in forwarded {
        headers.push(((*k).to_owned(), (*v).to_owned()));
    }
    app.post_with(source, &body, &headers).await
}

async fn spawn(server_extra: &str) -> TestApp {
    spawn_app_with(Options {
        rules: format!("{DEFAULT_RULES}\n{SOURCES}"),
        server_extra: server_extra.to_owned(),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn a_spoofed_forwarding_header_from_an_untrusted_peer_is_refused() {
    // No trusted proxies: the peer (127.0.0.1) is the client, whatever it claims.
    let app = spawn("").await;
    let cases: [&[(&str, &str)]; 3] = [
        &[],
        &[("x-forwarded-for", "203.0.113.5")],
        &[("forwarded", "for=203.0.113.5")],
    ];
    for (i, headers) in cases.into_iter().enumerate() {
        let resp = post_from(&app, "partner", i as u32, headers).await;
        assert_eq!(resp.status(), 403, "{headers:?}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let problem = json_body(resp).await;
        assert_eq!(
            problem["type"],
            "urn:domo-group-sync:problem:address-not-allowed"
        );
        assert!(problem.get("detail").is_none(), "{problem}");
    }
    // The allowed peer gets through, and a wrong signature is still a 401 there.
    assert_eq!(post_from(&app, "local", 10, &[]).await.status(), 202);
    let bad = app
        .post_with(
            "local",
            &body(11),
            &[("X-Hub-Signature-256".into(), "sha256=00".into())],
        )
        .await;
    assert_eq!(bad.status(), 401);
    let refused = metric(
        &app,
        "dgs_webhook_ip_refusals_total",
        &[("source", "partner")],
    )
    .await;
    assert_eq!(refused, Some(3.0));
    app.wait_idle().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
    let app = spawn("trusted_proxies = [\"127.0.0.1/32\", \"10.0.0.0/8\"]").await;
    let cases: [(&[(&str, &str)], u16); 7] = [
        // The proxy appended the client's address.
        (&[("x-forwarded-for", "203.0.113.5")], 202),
        // Through two proxies we trust.
        (&[("x-forwarded-for", "2001:db8::7, 10.1.2.3")], 202),
        // The client spoofed an allowed address; the proxy appended its real one.
        (&[("x-forwarded-for", "203.0.113.5, 198.51.100.9")], 403),
        // A forwarded address that cannot be read where the walk needs it.
        (&[("x-forwarded-for", "203.0.113.5, not-an-ip")], 403),
        // No header: the proxy itself is the client, and it is not in the list.
        (&[], 403),
        // The proxies write X-Forwarded-For; a Forwarded header is not believed.
        (&[("forwarded", "for=203.0.113.5")], 403),
        // Several header lines are one list, in order.
        (
            &[
                ("x-forwarded-for", "198.51.100.9"),
                ("x-forwarded-for", "203.0.113.77"),
            ],
            202,
        ),
    ];
    for (i, (headers, want)) in cases.into_iter().enumerate() {
        let resp = post_from(&app, "partner", 100 + i as u32, headers).await;
        assert_eq!(resp.status(), want, "case {i}: {headers:?}");
    }
    app.wait_idle().await;
}

#[tokio::test]
async fn rfc_7239_forwarded_is_read_when_configured() {
    let app = spawn("trusted_proxies = [\"127.0.0.1\"]\nclient_ip_header = \"forwarded\"").await;
    let cases: [(&[(&str, &str)], u16); 4] = [
        (
            &[("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https")],
            202,
        ),
        (&[("forwarded", "for=203.0.113.5, for=198.51.100.9")], 403),
        (&[("forwarded", "for=_hidden")], 403),
        (&[("x-forwarded-for", "203.0.113.5")], 403),
    ];
    for (i, (headers, want)) in cases.into_iter().enumerate() {
        let resp = post_from(&app, "partner", 200 + i as u32, headers).await;
        assert_eq!(resp.status(), want, "case {i}: {headers:?}");
    }
    app.wait_idle().await;
}
