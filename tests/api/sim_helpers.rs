//! Helpers for the sync tests: hand edits through the simulator's `/_sim/*` control endpoints
//! (over TCP, as an admin in the Domo UI would), call counts, and the stored outcome of an
//! event.

use serde_json::{Value, json};

use crate::helpers::TestApp;

/// The stored outcome of one event.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub pk: i64,
    pub status: String,
    pub last_error: Option<String>,
    pub attempts: i64,
}

impl TestApp {
    /// POSTs JSON to a simulator control endpoint and returns the JSON answer.
    pub async fn sim_post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .client
            .post(format!("http://{}{path}", self.sim_addr))
            .json(&body)
            .send()
            .await
            .expect("sim control request");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.expect("sim control answer")
    }

    /// Makes a group by hand (no creator, no members) and returns its id.
    pub async fn hand_group(&self, name: &str, active: bool) -> u64 {
        let g = self
            .sim_post("/_sim/groups", json!({ "name": name, "active": active }))
            .await;
        g["id"].as_u64().expect("group id")
    }

    /// Adds a user to a group by hand.
    pub async fn hand_add(&self, group: u64, user: u64) {
        let resp = self
            .client
            .put(format!(
                "http://{}/_sim/groups/{group}/users/{user}",
                self.sim_addr
            ))
            .send()
            .await
            .expect("sim control request");
        assert_eq!(resp.status(), 204);
    }

    /// The simulator's id of the user with this email.
    pub fn sim_user_id(&self, email: &str) -> u64 {
        self.sim_state()
            .user_with_email(email)
            .map(|u| u.id)
            .expect("user exists in the simulator")
    }

    /// The name of Domo's default group.
    pub fn default_group(&self) -> String {
        self.sim_state()
            .groups
            .iter()
            .find(|g| g.default)
            .map(|g| g.name.clone())
            .expect("a default group")
    }

    /// Requests received on one route key, e.g. `"POST /v1/groups"`.
    pub fn calls(&self, key: &str) -> u64 {
        self.sim_state().calls_to(key).total
    }

    /// Every API request received, `/oauth/token` excluded.
    pub fn api_calls(&self) -> u64 {
        self.sim_state()
            .calls
            .iter()
            .filter(|(k, _)| !k.contains("/oauth/token"))
            .map(|(_, c)| c.total)
            .sum()
    }

    /// Requests that write (POST, PUT, DELETE), `/oauth/token` excluded.
    pub fn write_calls(&self) -> u64 {
        self.sim_state()
            .calls
            .iter()
            .filter(|(k, _)| !k.contains("/oauth/token") && !k.starts_with("GET "))
            .map(|(_, c)| c.total)
            .sum()
    }

    /// The stored status, last error and attempts of an event.
    pub async fn event_row(&self, source: &str, event_id: &str) -> Option<EventRow> {
        let pk = self
            .store
            .find_event(source, event_id)
            .await
            .expect("query events")?;
        let row = self.store.get_event(pk).await.expect("query events")?;
        Some(EventRow {
            pk,
            status: row.status,
            last_error: row.last_error,
            attempts: row.attempts,
        })
    }

    /// Waits until the event has this status.
    pub async fn wait_status(&self, source: &str, event_id: &str, status: &str) -> EventRow {
        self.wait_until(&format!("event {event_id} to be {status}"), || async {
            self.event_row(source, event_id)
                .await
                .is_some_and(|r| r.status == status)
        })
        .await;
        self.event_row(source, event_id).await.expect("event row")
    }
}
