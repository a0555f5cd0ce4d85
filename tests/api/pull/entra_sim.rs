//! The Entra simulator of `dgs-sims` and the calls the tests make: its control API (users,
//! groups, memberships, expiring delta tokens) and the source's config.

use serde_json::{Value, json};

use dgs_sims::entra::{EntraConfig, Simulator};

use super::control::Served;

/// The simulator's default app.
pub const ENTRA_SECRET: &str = "sim-entra-secret";
const TENANT: &str = "00000000-0000-0000-0000-00000000a11d";
const CLIENT: &str = "sim-entra-client";

/// A running Entra simulator (no replication lag, no throttling), `page_size` items a page.
pub struct EntraSim {
    pub served: Served,
}

impl std::ops::Deref for EntraSim {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

impl EntraSim {
    pub async fn start(page_size: usize) -> EntraSim {
        let sim = Simulator::new(EntraConfig {
            page_size,
            ..EntraConfig::default()
        });
        EntraSim {
            served: Served::start(sim.router()).await,
        }
    }

    /// A pull-only `entra` source on this simulator (token endpoint included), with
    /// `[reconcile]` caps that let a pass remove a whole group's members.
    pub fn source_toml(&self, interval_secs: u64, directory_interval_secs: u64) -> String {
        format!(
            "[[sources]]\nname = \"entra\"\nformat = \"entra\"\nscheme = \"none\"\n\
             [sources.pull]\napi_base = \"{0}\"\nlogin_base = \"{0}\"\n\
             client_id = \"{CLIENT}\"\ntenant_id = \"{TENANT}\"\nclient_secret = \"{ENTRA_SECRET}\"\n\
             interval_secs = {interval_secs}\ndirectory_interval_secs = {directory_interval_secs}\n\n\
             [reconcile]\nmax_removal_share = 1.0\n",
            self.base
        )
    }

    /// Creates a user (`mail` = the UPN); returns its id.
    pub async fn add_user(&self, email: &str) -> String {
        let r = self
            .control(
                reqwest::Method::POST,
                "/_sim/users",
                json!({"userPrincipalName": email, "displayName": email, "jobTitle": "Engineer"}),
            )
            .await;
        r["id"].as_str().expect("user id").to_owned()
    }

    pub async fn add_group(&self, name: &str) {
        self.control(
            reqwest::Method::POST,
            "/_sim/groups",
            json!({"displayName": name}),
        )
        .await;
    }

    /// Changes user properties (`{"accountEnabled": false}` disables).
    pub async fn update_user(&self, email: &str, changes: Value) {
        let path = format!("/_sim/users/{email}");
        self.control(reqwest::Method::PATCH, &path, changes).await;
    }

    /// Deletes a user (soft).
    pub async fn delete_user(&self, email: &str) {
        let path = format!("/_sim/users/{email}");
        self.control(reqwest::Method::DELETE, &path, Value::Null)
            .await;
    }

    pub async fn member(&self, group: &str, email: &str, add: bool) {
        let method = if add {
            reqwest::Method::PUT
        } else {
            reqwest::Method::DELETE
        };
        let path = format!("/_sim/groups/{group}/members/{email}");
        self.control(method, &path, Value::Null).await;
    }

    /// Every delta token issued so far is refused (410 `syncStateNotFound`).
    pub async fn expire_delta_tokens(&self) {
        self.control(
            reqwest::Method::POST,
            "/_sim/expire-delta-tokens",
            Value::Null,
        )
        .await;
    }
}
