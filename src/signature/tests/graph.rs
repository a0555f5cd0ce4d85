//! Microsoft Graph change notifications: the body's shape, `clientState` per item (rotation,
//! expiry, mixed batches), what each notification asks for, and the handshake's token.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{NOW, source};
use crate::config::{Scheme, Secret, SourceSecret};
use crate::signature::graph::{
    Lifecycle, Outcome, ParseError, Refusal, check, is_directory, parse, validation_token, verify,
};
use crate::signature::{SignatureError, check_secret};

const STATE: &str = "secretClientValue";
const NEXT: &str = "nextClientValue";

/// One notification as Graph documents it (microsoft-graph-docs-contrib,
/// change-notifications-delivery-webhooks.md), for `resource` and `client_state`.
fn item(client_state: &str, resource: &str, odata_type: &str) -> Value {
    json!({
        "id": "lsgTZMr9KwAAA",
        "subscriptionId": "c2e6c2bd-5d4a-4d8f-9b1a-7f3b0c1d2e3f",
        "subscriptionExpirationDateTime": "2026-12-30T18:23:45.9356913Z",
        "clientState": client_state,
        "changeType": "updated",
        "resource": resource,
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {
            "@odata.type": odata_type,
            "@odata.id": resource,
            "id": "6f1a2b3c-0000-4000-8000-000000000001",
            "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
        }
    })
}

fn user(client_state: &str) -> Value {
    item(
        client_state,
        "Users/6f1a2b3c-0000-4000-8000-000000000001",
        "#Microsoft.Graph.User",
    )
}

fn lifecycle(client_state: &str, event: &str) -> Value {
    json!({
        "subscriptionId": "c2e6c2bd-5d4a-4d8f-9b1a-7f3b0c1d2e3f",
        "subscriptionExpirationDateTime": "2026-12-30T18:23:45.9356913Z",
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "clientState": client_state,
        "lifecycleEvent": event
    })
}

fn body(items: &[Value]) -> Vec<u8> {
    json!({ "value": items }).to_string().into_bytes()
}

fn outcomes(checked: &[crate::signature::graph::Checked]) -> Vec<Outcome> {
    checked.iter().map(|c| c.outcome).collect()
}

#[test]
fn a_user_or_group_change_with_the_client_state_asks_for_a_pull() {
    let src = source(Scheme::Graph, &[STATE]);
    let group = item(
        STATE,
        "groups/0b2c0000-0000-4000-8000-000000000002",
        "#Microsoft.Graph.Group",
    );
    let checked = verify(&src, &body(&[user(STATE), group]), NOW).expect("accepted");
    assert_eq!(
        outcomes(&checked),
        [Outcome::PullRequested, Outcome::PullRequested]
    );
    assert!(checked.iter().all(|c| c.secret == Some(0)));
    assert_eq!(
        checked[0].subscription_id,
        "c2e6c2bd-5d4a-4d8f-9b1a-7f3b0c1d2e3f"
    );
}

#[test]
fn no_matching_client_state_is_refused_and_a_mixed_batch_keeps_only_the_good() {
    let src = source(Scheme::Graph, &[STATE]);
    let refused = verify(&src, &body(&[user("wrong"), user("")]), NOW);
    assert_eq!(
        refused,
        Err(Refusal::Unauthenticated {
            error: SignatureError::Mismatch,
            dropped: 2
        })
    );
    let missing = json!({"value": [{"subscriptionId": "s", "resource": "users/1"}]});
    assert!(matches!(
        verify(&src, missing.to_string().as_bytes(), NOW),
        Err(Refusal::Unauthenticated { .. })
    ));
    let prefix = &STATE[..STATE.len() - 1];
    let mixed = verify(&src, &body(&[user(prefix), user(STATE)]), NOW).expect("one matches");
    assert_eq!(
        outcomes(&mixed),
        [Outcome::ClientStateMismatch, Outcome::PullRequested]
    );
    assert_eq!(mixed[0].secret, None);
    let empty = verify(&src, &body(&[]), NOW);
    assert!(
        matches!(empty, Err(Refusal::Unauthenticated { dropped: 0, .. })),
        "nothing authenticates an empty batch"
    );
}

#[test]
fn every_live_secret_is_accepted_and_an_expired_one_is_not() {
    let mut src = source(Scheme::Graph, &[STATE, NEXT]);
    let both = verify(&src, &body(&[user(STATE), user(NEXT)]), NOW).expect("rotation");
    assert_eq!(
        both.iter().map(|c| c.secret).collect::<Vec<_>>(),
        [Some(0), Some(1)]
    );
    src.secrets[0] = SourceSecret {
        not_after: Some(NOW),
        ..SourceSecret::from(Secret::new(STATE))
    };
    let expired = verify(&src, &body(&[user(STATE)]), NOW);
    assert!(matches!(
        expired,
        Err(Refusal::Unauthenticated {
            error: SignatureError::Mismatch,
            ..
        })
    ));
    src.secrets[1].not_before = Some(NOW + 1);
    assert!(matches!(
        verify(&src, &body(&[user(NEXT)]), NOW),
        Err(Refusal::Unauthenticated {
            error: SignatureError::NoLiveSecret,
            ..
        })
    ));
}

#[test]
fn other_resources_are_ignored_and_users_and_groups_are_recognised_in_any_case() {
    let src = source(Scheme::Graph, &[STATE]);
    let mail = item(
        STATE,
        "Users/6f1a/messages/AAMk",
        "#Microsoft.Graph.Message",
    );
    let event = item(STATE, "me/events/AAMk", "#Microsoft.Graph.Event");
    let checked = verify(&src, &body(&[event, mail]), NOW).expect("accepted");
    // `Users/{id}/messages` starts with `Users`: a mailbox subscription on a user still reads
    // as a user change; a pull is cheap, a missed offboarding is not.
    assert_eq!(
        outcomes(&checked),
        [Outcome::Ignored, Outcome::PullRequested]
    );
    for (resource, odata) in [
        ("users/1", ""),
        ("/Users/1", ""),
        ("GROUPS('2')", ""),
        ("groups", ""),
        ("directory/deletedItems/1", "#microsoft.graph.user"),
        ("x", "#MICROSOFT.GRAPH.GROUP"),
    ] {
        let n = parse(&body(&[item(STATE, resource, odata)])).expect("parses");
        assert!(is_directory(&n[0]), "{resource} {odata}");
    }
    for resource in ["usersX/1", "sites/1", "", "me"] {
        let n = parse(&body(&[item(STATE, resource, "#Microsoft.Graph.Site")])).expect("parses");
        assert!(!is_directory(&n[0]), "{resource}");
    }
}

#[test]
fn lifecycle_notifications_are_told_apart_and_only_missed_asks_for_a_pull() {
    let src = source(Scheme::Graph, &[STATE]);
    let items = [
        lifecycle(STATE, "reauthorizationRequired"),
        lifecycle(STATE, "subscriptionRemoved"),
        lifecycle(STATE, "missed"),
        lifecycle(STATE, "somethingNew"),
    ];
    let checked = verify(&src, &body(&items), NOW).expect("accepted");
    assert_eq!(
        outcomes(&checked),
        [
            Outcome::Lifecycle(Lifecycle::ReauthorizationRequired),
            Outcome::Lifecycle(Lifecycle::SubscriptionRemoved),
            Outcome::Lifecycle(Lifecycle::Missed),
            Outcome::Lifecycle(Lifecycle::Unknown),
        ]
    );
    let asks: Vec<bool> = checked.iter().map(|c| c.outcome.requests_pull()).collect();
    assert_eq!(asks, [false, false, true, false]);
    let forged = verify(&src, &body(&[lifecycle("x", "subscriptionRemoved")]), NOW);
    assert!(
        forged.is_err(),
        "a lifecycle notification needs the clientState too"
    );
}

#[test]
fn malformed_bodies_are_refused_before_any_secret_is_compared() {
    // No secret at all: the parse error still wins, so a 400 says nothing about secrets.
    let src = source(Scheme::Graph, &[]);
    for (text, error) in [
        (&b"not json"[..], ParseError::NotJson),
        (b"", ParseError::NotJson),
        (b"[]", ParseError::NoValue),
        (br#"{"value": {}}"#, ParseError::NoValue),
        (br#"{"values": []}"#, ParseError::NoValue),
        (br#"{"value": [1]}"#, ParseError::NotAnObject(0)),
        (br#"{"value": [{}, null]}"#, ParseError::NotAnObject(1)),
    ] {
        assert_eq!(verify(&src, text, NOW), Err(Refusal::Malformed(error)));
    }
    // Fields of the wrong type read as absent.
    let odd = br#"{"value": [{"clientState": 5, "resource": ["users"], "resourceData": 1}]}"#;
    let n = parse(odd).expect("parses");
    assert!(!is_directory(&n[0]));
    let numeric = source(Scheme::Graph, &["5"]);
    assert_eq!(
        check(&numeric, &n[0], NOW).outcome,
        Outcome::ClientStateMismatch,
        "a number is not the string secret"
    );
}

#[test]
fn the_debug_form_never_shows_the_client_state() {
    let n = parse(&body(&[user(STATE)])).expect("parses");
    let text = format!("{n:?}");
    assert!(!text.contains(STATE), "{text}");
    assert!(text.contains("***"));
}

#[test]
fn the_validation_token_is_url_decoded() {
    let vectors = super::vectors::load("handshakes.json");
    let case = vectors
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|c| c["provider"] == "microsoft-graph" && c["request"]["query"].is_string())
        })
        .expect("the Graph validation vector");
    let query = case["request"]["query"].as_str();
    assert_eq!(
        validation_token(query).as_deref(),
        case["expect_response"]["body"].as_str()
    );
    assert_eq!(
        validation_token(Some("a=1&validationToken=x%2By+z")).as_deref(),
        Some("x+y z")
    );
    assert_eq!(validation_token(Some("a=1")), None);
    assert_eq!(validation_token(None), None);
}

#[test]
fn a_client_state_longer_than_graph_accepts_is_refused_by_config_checks() {
    assert!(check_secret(Scheme::Graph, &Secret::new(STATE)).is_ok());
    assert!(check_secret(Scheme::Graph, &Secret::new("x".repeat(128))).is_ok());
    let e = check_secret(Scheme::Graph, &Secret::new("x".repeat(129))).expect_err("too long");
    assert!(e.contains("128"), "{e}");
    assert!(check_secret(Scheme::Graph, &Secret::new(" padded")).is_err());
}

proptest! {
    /// Any bytes: no panic, and an `Ok` always has one entry per notification with at least
    /// one match.
    #[test]
    fn any_body_is_parsed_or_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let src = source(Scheme::Graph, &[STATE]);
        if let Ok(checked) = verify(&src, &bytes, NOW) {
            prop_assert!(checked.iter().any(|c| c.secret.is_some()));
            prop_assert_eq!(checked.len(), parse(&bytes).map(|n| n.len()).unwrap_or(usize::MAX));
        }
    }

    /// A notification matches exactly when its `clientState` equals a configured secret, and
    /// only matched notifications ask for a pull.
    #[test]
    fn a_notification_matches_exactly_when_its_client_state_is_a_secret(
        states in proptest::collection::vec(prop_oneof![Just(STATE.to_owned()), Just(NEXT.to_owned()), "[a-zA-Z0-9]{0,20}"], 1..8),
    ) {
        let src = source(Scheme::Graph, &[STATE, NEXT]);
        let items: Vec<Value> = states.iter().map(|s| user(s)).collect();
        let notifications = parse(&body(&items)).expect("parses");
        prop_assert_eq!(notifications.len(), states.len());
        for (n, s) in notifications.iter().zip(&states) {
            let c = check(&src, n, NOW);
            let expected = [STATE, NEXT].iter().position(|k| *k == s);
            prop_assert_eq!(c.secret, expected);
            prop_assert_eq!(c.outcome.requests_pull(), expected.is_some());
        }
    }
}
