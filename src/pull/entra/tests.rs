//! The connector against a mock Graph: the certificate credential's token request (the
//! simulator does not simulate `client_assertion`), the token's reuse and its refresh on a 401,
//! a round's cursor saved only at its end, and an expired delta token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;
use crate::config::{Format, Provider, PullConfig, Scheme, Secret, SourceConfig};
use crate::pull::budget::Budget;
use crate::pull::connector::Step;

const KEY: &str = include_str!("../../../tests/fixtures/test-only-rsa-key.pem");
const CERT: &str = include_str!("../../../tests/fixtures/test-only-rsa-cert.pem");
/// `openssl x509 -outform DER | openssl dgst -sha1 -binary | base64url` of `CERT`.
const CERT_X5T: &str = "m1IcA6z6cwjXsyIOquf2TQPxriI";
const TENANT: &str = "tenant-1";

fn connector(server: &MockServer, certificate: bool) -> Box<dyn Connector> {
    let p = PullConfig {
        provider: Provider::Entra,
        api_base: server.uri().parse().expect("url"),
        token: None,
        client_id: Some(Secret::new("app-1")),
        client_secret: (!certificate).then(|| Secret::new("s3cret")),
        tenant_id: Some(Secret::new(TENANT)),
        login_base: Some(server.uri().parse().expect("url")),
        private_key: certificate.then(|| Secret::new(format!("{KEY}\n{CERT}"))),
        interval_secs: 60,
        directory_interval_secs: 0,
        budget_share: 1.0,
        max_requests_per_minute: 0,
    };
    let source = SourceConfig {
        name: "entra".into(),
        format: Format::Entra,
        scheme: Scheme::PullOnly,
        secrets: Vec::new(),
        tolerance_secs: 300,
        header: "Authorization".into(),
        hmac: None,
        allow_ips: Vec::new(),
        pull: Some(p.clone()),
    };
    let http = Http::new(reqwest::Client::new(), Budget::new(1.0, 0), "entra");
    build(&source, &p, http).expect("builds")
}

fn no_progress(_: Step) {}

fn form(r: &Request) -> std::collections::BTreeMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

fn jwt_part(jwt: &str, i: usize) -> Value {
    let part = jwt.split('.').nth(i).expect("part");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

async fn token_mock(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "at-1"}),
        ))
        .mount(server)
        .await;
}

fn page(value: Value, next: Option<String>, delta: Option<String>) -> ResponseTemplate {
    let mut body = json!({"value": value});
    if let Some(n) = next {
        body["@odata.nextLink"] = json!(n);
    }
    if let Some(d) = delta {
        body["@odata.deltaLink"] = json!(d);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn a_certificate_credential_sends_a_signed_assertion_with_the_thumbprint() {
    let server = MockServer::start().await;
    token_mock(&server).await;
    let c = connector(&server, true);
    let listing = c
        .directory(&GroupFilter::new(std::sync::Arc::default()), &no_progress)
        .await;
    let requests = server.received_requests().await.expect("recorded");
    let token = requests
        .iter()
        .find(|r| r.url.path().ends_with("/oauth2/v2.0/token"))
        .expect("a token request");
    let f = form(token);
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["client_id"], "app-1");
    assert_eq!(f["scope"], "https://graph.microsoft.com/.default");
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(!f.contains_key("client_secret"));
    let assertion = &f["client_assertion"];
    let header = jwt_part(assertion, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["x5t"], CERT_X5T);
    let claims = jwt_part(assertion, 1);
    assert_eq!(claims["iss"], "app-1");
    assert_eq!(claims["sub"], "app-1");
    assert_eq!(
        claims["aud"],
        format!("{}/{TENANT}/oauth2/v2.0/token", server.uri())
    );
    // The Graph request carried the token (and failed: nothing else is mocked).
    let graph = requests
        .iter()
        .find(|r| r.url.path() == "/v1.0/users")
        .expect("users listed");
    assert_eq!(graph.headers["authorization"], "Bearer at-1");
    assert!(!listing.complete);
}

#[tokio::test]
async fn a_round_stores_its_cursor_only_at_its_end_and_a_401_fetches_a_new_token_once() {
    let server = MockServer::start().await;
    token_mock(&server).await;
    let base = server.uri();
    // The first users page is refused once (a revoked token), then served.
    Mock::given(method("GET"))
        .and(path("/v1.0/users/delta"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let origin = base.clone();
    Mock::given(method("GET"))
        .and(path("/v1.0/users/delta"))
        .respond_with(move |r: &Request| {
            if r.url.query().is_some_and(|q| q.contains("skiptoken")) {
                page(
                    json!([{"id": "u2", "mail": "bob@example.com", "accountEnabled": false}]),
                    None,
                    Some(format!("{origin}/v1.0/users/delta?$deltatoken=U")),
                )
            } else {
                page(
                    json!([{"id": "u1", "mail": "ada@example.com"}]),
                    Some(format!("{origin}/v1.0/users/delta?$skiptoken=1")),
                    None,
                )
            }
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/delta"))
        .respond_with(page(
            json!([{"id": "g1", "displayName": "Marketing",
                    "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": "u1"}]}]),
            None,
            Some(format!("{base}/v1.0/groups/delta?$deltatoken=G")),
        ))
        .mount(&server)
        .await;
    let c = connector(&server, false);
    let epoch = c.events(None, &no_progress).await.expect("epoch");
    assert!(epoch.items.is_empty() && epoch.more);
    let start = epoch.cursor.expect("an epoch cursor");
    let mut pages = Vec::new();
    loop {
        let p = c.events(Some(&start), &no_progress).await.expect("page");
        let more = p.more;
        pages.push(p);
        if !more {
            break;
        }
    }
    assert_eq!(pages.len(), 3, "two users pages, one groups page");
    assert!(
        pages[..2].iter().all(|p| p.cursor.is_none()),
        "no cursor mid-round"
    );
    let end: Value = serde_json::from_str(pages[2].cursor.as_deref().expect("the round's cursor"))
        .expect("json");
    assert_eq!(
        end["users"],
        format!("{base}/v1.0/users/delta?$deltatoken=U")
    );
    assert_eq!(
        end["groups"],
        format!("{base}/v1.0/groups/delta?$deltatoken=G")
    );
    assert_eq!(end["names"]["g1"], "Marketing");
    let tokens = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path().ends_with("/token"))
        .count();
    assert_eq!(tokens, 2, "one token, and one more after the 401");
    let first = &pages[0].items[0];
    // The same page read again from the same stored cursor (a restarted round): same id.
    let again = connector(&server, false)
        .events(Some(&start), &no_progress)
        .await
        .expect("page");
    assert_eq!(again.items[0].id(), first.id());
}

#[tokio::test]
async fn a_delta_token_graph_no_longer_honours_is_an_expired_cursor() {
    let server = MockServer::start().await;
    token_mock(&server).await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path("/v1.0/users/delta"))
        .respond_with(
            ResponseTemplate::new(410)
                .insert_header("location", format!("{base}/v1.0/users/delta"))
                .set_body_json(json!({"error": {"code": "syncStateNotFound", "message": "gone"}})),
        )
        .mount(&server)
        .await;
    let c = connector(&server, false);
    let cursor = json!({"v": 1, "users": format!("{base}/v1.0/users/delta?$deltatoken=old"),
                        "groups": format!("{base}/v1.0/groups/delta?$deltatoken=old"), "names": {}})
    .to_string();
    let e = c
        .events(Some(&cursor), &no_progress)
        .await
        .expect_err("expired");
    assert!(matches!(e, PullError::CursorExpired(_)), "{e:?}");
    let elsewhere = json!({"v": 1, "users": "https://evil.example/v1.0/users/delta?$deltatoken=x",
                           "groups": null, "names": {}})
    .to_string();
    let e = c
        .events(Some(&elsewhere), &no_progress)
        .await
        .expect_err("off origin");
    assert!(matches!(e, PullError::CursorExpired(_)), "{e:?}");
    assert_eq!(c.cursor_ttl(), Some(Duration::from_secs(7 * 86_400)));
}
