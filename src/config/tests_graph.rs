//! `scheme = "graph"`: only for `format = "entra"` with an event pull; its secrets are
//! `clientState` values.

use crate::config::tests::load as parse;
use crate::config::{Format, Scheme};

/// An Entra source with `scheme` and the given extra lines in its `[sources.pull]`.
fn entra(scheme: &str, secrets: &str, pull: Option<&str>) -> String {
    let pull = pull.map_or_else(String::new, |extra| {
        format!("[sources.pull]\nclient_id = \"app\"\ntenant_id = \"tenant\"\nclient_secret = \"cs\"\n{extra}\n")
    });
    format!(
        "[[sources]]\nname = \"entra\"\nformat = \"entra\"\nscheme = \"{scheme}\"\nsecrets = [{secrets}]\n{pull}"
    )
}

fn problems(toml: &str) -> Vec<String> {
    parse(toml, &[]).expect_err("invalid").0
}

fn has(problems: &[String], fragments: &[&str]) {
    assert!(
        problems
            .iter()
            .any(|p| fragments.iter().all(|f| p.contains(f))),
        "no problem with {fragments:?} in {problems:#?}"
    );
}

/// Problems of a config (none when it loads).
fn graph_problems(toml: &str) -> Vec<String> {
    match parse(toml, &[]) {
        Ok(c) => {
            assert_eq!(c.sources[0].format, Format::Entra);
            Vec::new()
        }
        Err(e) => e.0,
    }
}

#[test]
fn an_entra_source_with_a_pull_takes_graph_notifications_with_several_client_states() {
    let toml = entra(
        "graph",
        r#""current-state", { value = "next-state", name = "next", not_after = "2030-01-01T00:00:00Z" }"#,
        Some("interval_secs = 3600"),
    );
    assert_eq!(graph_problems(&toml), Vec::<String>::new());
    if let Ok(c) = parse(&toml, &[]) {
        assert_eq!(c.sources[0].scheme, Scheme::Graph);
        assert_eq!(c.sources[0].secrets.len(), 2);
    }
}

#[test]
fn graph_needs_format_entra_a_pull_with_events_and_a_client_state() {
    let p = problems(
        "[[sources]]\nname = \"g\"\nformat = \"canonical\"\nscheme = \"graph\"\nsecrets = [\"s\"]\n",
    );
    has(
        &p,
        &["sources[0].scheme", "only works with format = \"entra\""],
    );
    let p = problems(&entra("graph", "\"s\"", None));
    has(
        &p,
        &[
            "sources[0]:",
            "needs a [sources.pull] table",
            "could do nothing",
        ],
    );
    let p = problems(&entra("graph", "\"s\"", Some("interval_secs = 0")));
    has(
        &p,
        &["sources[0].pull.interval_secs", "turns the event pull off"],
    );
    let p = problems(&entra("graph", "", Some("")));
    has(&p, &["sources[0].secrets", "at least one secret"]);
    let long = format!("\"{}\"", "x".repeat(129));
    let p = problems(&entra("graph", &long, Some("")));
    has(&p, &["sources[0].secrets[0]", "at most 128 characters"]);
    assert!(
        !p.iter().any(|e| e.contains(&"x".repeat(129))),
        "the secret is never echoed"
    );
}

#[test]
fn entra_takes_no_other_webhook_scheme() {
    let p = problems(&entra("okta", "\"s\"", Some("")));
    has(
        &p,
        &[
            "sources[0].scheme",
            "format \"entra\" has no signed webhooks",
            "scheme = \"graph\"",
        ],
    );
    assert_eq!(
        graph_problems(&entra("none", "", Some(""))),
        Vec::<String>::new()
    );
}
