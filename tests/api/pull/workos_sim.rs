//! The WorkOS simulator of `dgs-sims` and the calls the tests make: its control API (users,
//! groups, memberships), the webhooks a real WorkOS would have sent, and the source's config.

use serde_json::{Value, json};

use dgs_sims::workos::{Simulator, WorkosConfig};

use super::control::Served;

/// The API key the simulator accepts.
pub const WORKOS_KEY: &str = "sk_test_sim";
/// The webhook secret of the `workos` source.
pub const WORKOS_SECRET: &str = "workos-webhook-secret";

/// A running WorkOS simulator (no visibility delay, no rate limit).
pub struct WorkosSim {
    pub served: Served,
}

impl std::ops::Deref for WorkosSim {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

impl WorkosSim {
    pub async fn start() -> WorkosSim {
        let sim = Simulator::new(WorkosConfig::default());
        WorkosSim {
            served: Served::start(sim.router()).await,
        }
    }

    /// A `workos` source (WorkOS webhooks) that also pulls from this simulator; with
    /// `[reconcile]` caps that let a pass remove a whole group's members.
    pub fn source_toml(&self, interval_secs: u64, directory_interval_secs: u64) -> String {
        format!(
            "[[sources]]\nname = \"workos\"\nformat = \"workos\"\nscheme = \"workos\"\n\
             secrets = [\"{WORKOS_SECRET}\"]\n[sources.pull]\napi_base = \"{}\"\n\
             token = \"{WORKOS_KEY}\"\ninterval_secs = {interval_secs}\n\
             directory_interval_secs = {directory_interval_secs}\n\n\
             [reconcile]\nmax_removal_share = 1.0\n",
            self.base
        )
    }

    fn silent(silent: bool) -> Value {
        json!({ "silent": silent })
    }

    /// Creates a group; returns the events it logged.
    pub async fn add_group(&self, name: &str) -> Vec<Value> {
        let r = self
            .control(
                reqwest::Method::POST,
                "/_sim/groups",
                json!({ "name": name }),
            )
            .await;
        events(&r)
    }

    /// Creates an active user; `silent` logs nothing. Returns (id, events).
    pub async fn add_user(&self, email: &str, silent: bool) -> (String, Vec<Value>) {
        let r = self
            .control(
                reqwest::Method::POST,
                "/_sim/users",
                json!({ "email": email, "first_name": "F", "last_name": email, "silent": silent }),
            )
            .await;
        let id = r["id"].as_str().expect("user id").to_owned();
        (id, events(&r))
    }

    /// Changes a user's fields (`{"state": "inactive"}` offboards).
    pub async fn update_user(&self, email: &str, mut fields: Value, silent: bool) -> Vec<Value> {
        fields["silent"] = json!(silent);
        let path = format!("/_sim/users/{email}");
        events(&self.control(reqwest::Method::PATCH, &path, fields).await)
    }

    /// Adds (or removes) a member; `silent` logs nothing (directory drift).
    pub async fn member(&self, group: &str, email: &str, add: bool, silent: bool) -> Vec<Value> {
        let method = if add {
            reqwest::Method::PUT
        } else {
            reqwest::Method::DELETE
        };
        let path = format!("/_sim/groups/{group}/users/{email}");
        events(&self.control(method, &path, Self::silent(silent)).await)
    }
}

fn events(answer: &Value) -> Vec<Value> {
    answer["events"].as_array().cloned().unwrap_or_default()
}

/// Delivers WorkOS events as its webhooks would (one event per request, signed).
pub async fn push_workos(app: &crate::helpers::TestApp, events: &[Value]) {
    for e in events {
        super::control::push(app, "workos", e).await;
    }
}
