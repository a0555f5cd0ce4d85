//! The short human-readable message a `slack` subscriber gets for a notice: Slack's incoming
//! webhook body `{"text": …}` (mrkdwn). Pure.

use serde_json::Value;

/// Slack's escapes for `&`, `<` and `>` (everything else is literal in mrkdwn text).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn text(v: &Value, key: &str) -> String {
    esc(v.get(key).and_then(Value::as_str).unwrap_or("?"))
}

fn list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(esc).collect())
        .unwrap_or_default()
}

fn num(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// The Slack body for a stored notice body (the Standard Webhooks envelope).
pub fn message(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    let d = v.get("data").cloned().unwrap_or(Value::Null);
    let line = match kind {
        "event.dead" => {
            let e = &d["event"];
            let who = d
                .get("email")
                .and_then(Value::as_str)
                .map(|m| format!(" for {}", esc(m)))
                .unwrap_or_default();
            format!(
                ":x: *Event dead-lettered*: `{}`{who} from `{}` (event {}, id {}) after {} attempt(s): {}\nReplay: `POST {}`",
                text(e, "type"),
                text(e, "source"),
                text(e, "event_id"),
                num(e, "id"),
                num(&d, "attempts"),
                text(&d, "reason"),
                text(&d, "replay_path"),
            )
        }
        "offboarding.completed" => {
            let removed = list(&d, "removed");
            let what = if removed.is_empty() {
                "they were in no managed group".to_owned()
            } else {
                format!(
                    "removed from {} managed group(s): {}",
                    removed.len(),
                    removed.join(", ")
                )
            };
            format!(
                ":white_check_mark: *Offboarding completed* for {}: {what}.",
                text(&d["user"], "email")
            )
        }
        "membership.applied" => {
            let (added, removed) = (list(&d, "added"), list(&d, "removed"));
            let mut parts = Vec::new();
            if !added.is_empty() {
                parts.push(format!("added to {}", added.join(", ")));
            }
            if !removed.is_empty() {
                parts.push(format!("removed from {}", removed.join(", ")));
            }
            format!(
                ":busts_in_silhouette: {}: {}.",
                text(&d["user"], "email"),
                parts.join("; ")
            )
        }
        "reconcile.held" => {
            let approve = &d["approve"];
            let link = approve
                .get("url")
                .and_then(Value::as_str)
                .map_or_else(|| text(approve, "path"), esc);
            format!(
                ":warning: *Reconcile run #{} is held for approval*: {}. Plan: {} to add, {} to remove, {} unknown.\nApprove (admin token): `POST {link}`",
                num(&d["run"], "id"),
                text(&d, "reason"),
                num(&d["totals"], "add"),
                num(&d["totals"], "remove"),
                num(&d["totals"], "unknown"),
            )
        }
        "reconcile.completed" => {
            let run = num(&d["run"], "id");
            match d.get("status").and_then(Value::as_str) {
                Some("failed") => {
                    format!(":x: *Reconcile run #{run} failed*: {}", text(&d, "error"))
                }
                status => format!(
                    ":arrows_counterclockwise: Reconcile run #{run} {}: {} to add, {} to remove, {} unknown.",
                    match status {
                        Some("queued") => "queued its repairs",
                        _ => "planned (dry run)",
                    },
                    num(&d["totals"], "add"),
                    num(&d["totals"], "remove"),
                    num(&d["totals"], "unknown"),
                ),
            }
        }
        "source.failing" => match d.get("reason").and_then(Value::as_str) {
            Some("lag") => format!(
                ":rotating_light: *Pull source `{}` lags* {} s behind (since {}).",
                text(&d, "source"),
                d.get("lag_seconds")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0)
                    .round(),
                text(&d, "failing_since"),
            ),
            _ => format!(
                ":rotating_light: *Pull source `{}` is failing*: {} failed pull(s) in a row since {}; last error: {}",
                text(&d, "source"),
                num(&d, "consecutive_errors"),
                text(&d, "failing_since"),
                text(&d, "error"),
            ),
        },
        other => format!("domo-group-sync: {}", esc(other)),
    };
    serde_json::json!({ "text": line }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(body: &str) -> String {
        let v: Value = serde_json::from_str(&message(body)).expect("json");
        v["text"].as_str().expect("text").to_owned()
    }

    #[test]
    fn a_dead_event_names_the_user_the_reason_and_the_replay() {
        let body = r#"{"type":"event.dead","timestamp":"t","data":{"event":{"id":42,"source":"sw","event_id":"e1","type":"user.offboarded","request_id":null},"email":"ada@example.com","reason":"Domo refused: <403>","attempts":3,"received_at":"t","replay_path":"/api/v1/events/42/replay"}}"#;
        let t = text_of(body);
        assert!(t.contains("ada@example.com"), "{t}");
        assert!(t.contains("Domo refused: &lt;403&gt;"), "escaped: {t}");
        assert!(t.contains("POST /api/v1/events/42/replay"), "{t}");
    }

    #[test]
    fn an_offboarding_lists_the_groups_or_says_there_were_none() {
        let t = text_of(
            r#"{"type":"offboarding.completed","data":{"user":{"email":"a@x"},"removed":["Sales","Finance"]}}"#,
        );
        assert!(
            t.contains("removed from 2 managed group(s): Sales, Finance"),
            "{t}"
        );
        let t = text_of(
            r#"{"type":"offboarding.completed","data":{"user":{"email":"a@x"},"removed":[]}}"#,
        );
        assert!(t.contains("in no managed group"), "{t}");
    }

    #[test]
    fn a_held_plan_links_to_its_approval() {
        let t = text_of(
            r#"{"type":"reconcile.held","data":{"run":{"id":7},"reason":"too many","totals":{"add":1,"remove":60,"unknown":0},"approve":{"method":"POST","path":"/api/v1/reconcile/runs/7/approve","url":"https://dgs/api/v1/reconcile/runs/7/approve"}}}"#,
        );
        assert!(t.contains("#7"), "{t}");
        assert!(
            t.contains("POST https://dgs/api/v1/reconcile/runs/7/approve"),
            "{t}"
        );
    }
}
