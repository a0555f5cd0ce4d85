//! `[[subscribers]]`, `[notify]` and `[telemetry]`: defaults, validation, secrets never echoed.

use super::tests::load as parse;
use super::*;
use crate::notify::NoticeType;

const SECRET: &str = "whsec_c3Vic2NyaWJlci1zZWNyZXQtZm9yLXRoZS10ZXN0cw==";

#[test]
fn a_subscriber_has_safe_defaults() {
    let c = parse(
        &format!(
            "[[subscribers]]\nurl = \"https://hooks.example.com/dgs\"\nsecret = \"{SECRET}\"\n"
        ),
        &[],
    )
    .expect("valid");
    let s = &c.subscribers[0];
    assert_eq!(s.name, "hooks.example.com", "the URL's host");
    assert_eq!(s.kind, SubscriberKind::Webhook);
    assert!(!s.wants(NoticeType::MembershipApplied), "off by default");
    for t in NoticeType::ALL.into_iter().filter(|t| t.on_by_default()) {
        assert!(s.wants(t), "{t:?}");
    }
    assert_eq!(c.notify, NotifyConfig::default());
    assert!(!c.telemetry.include_email);
}

#[test]
fn a_slack_url_may_be_a_secret_reference_and_is_never_echoed() {
    let c = parse(
        "[[subscribers]]\nkind = \"slack\"\nurl = \"env:SLACK_URL\"\nevents = [\"event.dead\"]\n",
        &[("SLACK_URL", "https://hooks.slack.com/services/T0/B0/tok3n")],
    )
    .expect("valid");
    assert_eq!(c.subscribers[0].name, "slack");
    assert_eq!(c.subscribers[0].events, [NoticeType::EventDead]);
    assert!(!format!("{c:?}").contains("tok3n"));
    let err = parse(
        "[[subscribers]]\nkind = \"slack\"\nurl = \"env:SLACK_URL\"\n",
        &[("SLACK_URL", "not a url tok3n")],
    )
    .expect_err("not a URL");
    assert!(
        err.0.iter().any(|e| e.starts_with("subscribers[0].url")),
        "{err}"
    );
    assert!(!err.to_string().contains("tok3n"), "{err}");
}

#[test]
fn every_subscriber_problem_is_reported_with_its_key() {
    let err = parse(
        r#"
[[subscribers]]
name = "it"
url = "https://a.example.com/"

[[subscribers]]
name = "it"
kind = "slack"
url = "https://hooks.slack.com/x"
secret = "whsec_abc"

[[subscribers]]
name = "bad name!"
url = "ftp://b.example.com/"
secret = "s3cret"
events = ["event.dead", "user.deleted"]

[[subscribers]]
url = "https://c.example.com/"
secret = "whsec_c2VjcmV0"
events = []

[notify]
timeout_secs = 0
max_attempts = 0
"#,
        &[],
    )
    .expect_err("invalid");
    let all = err.to_string();
    for needle in [
        "subscribers[0].secret: a webhook subscriber needs a signing secret",
        "subscribers[1].secret: Slack incoming webhooks are not signed",
        "subscribers[2].url: not an http(s) URL",
        "subscribers[3].events: give at least one event type",
        "notify.timeout_secs: must be at least 1",
        "notify.max_attempts: must be at least 1",
    ] {
        assert!(all.contains(needle), "missing `{needle}` in:\n{all}");
    }
    assert!(!all.contains("s3cret"), "{all}");
    let err = parse(
        r#"
[[subscribers]]
name = "it"
url = "https://a.example.com/"
secret = "s3cret"
events = ["event.dead", "user.deleted"]

[[subscribers]]
name = "it"
url = "https://b.example.com/"
secret = "whsec_c2VjcmV0"
"#,
        &[],
    )
    .expect_err("invalid");
    let all = err.to_string();
    for needle in [
        "subscribers[0].secret: must start with whsec_",
        "subscribers[0].events[1]: `user.deleted` is not an event type",
        "subscribers: two entries have name `it`",
    ] {
        assert!(all.contains(needle), "missing `{needle}` in:\n{all}");
    }
    assert!(!all.contains("s3cret"), "{all}");
}

#[test]
fn notify_and_telemetry_settings_are_read() {
    let c = parse(
        r#"
[notify]
max_attempts = 4
backoff_base_ms = 100
backoff_max_secs = 60
timeout_secs = 3
retention_secs = 3600
max_pending = 50
source_error_threshold = 5
source_lag_secs = 120
source_repeat_secs = 0

[telemetry]
include_email = true
"#,
        &[("DGS_NOTIFY__POLL_INTERVAL_MS", "250")],
    )
    .expect("valid");
    assert_eq!(c.notify.max_attempts, 4);
    assert_eq!(c.notify.poll_interval_ms, 250, "from the environment");
    assert_eq!(c.notify.max_pending, 50);
    assert_eq!(c.notify.source_repeat_secs, 0);
    assert!(c.telemetry.include_email);
}
