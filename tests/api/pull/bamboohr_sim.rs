//! The BambooHR simulator of `dgs-sims` and the calls the tests make: its control API
//! (employees and their changes), the webhooks a real BambooHR would have sent, and the
//! source's config.

use serde_json::{Value, json};

use dgs_sims::bamboohr::{BambooConfig, Simulator};

use super::control::Served;

/// The API key the simulator accepts, and its company.
pub const BAMBOO_KEY: &str = "sim-bamboo-key";
const COMPANY: &str = "simco";
/// The webhook secret of the `bamboohr` source.
pub const BAMBOO_SECRET: &str = "bamboo-webhook-secret";

/// A running BambooHR simulator (no rate limit).
pub struct BambooSim {
    pub served: Served,
}

impl std::ops::Deref for BambooSim {
    type Target = Served;
    fn deref(&self) -> &Served {
        &self.served
    }
}

impl BambooSim {
    pub async fn start() -> BambooSim {
        let sim = Simulator::new(BambooConfig::default());
        BambooSim {
            served: Served::start(sim.router()).await,
        }
    }

    /// A `bamboohr` source (BambooHR webhooks) that also pulls from this simulator.
    pub fn source_toml(&self, interval_secs: u64, directory_interval_secs: u64) -> String {
        format!(
            "[[sources]]\nname = \"bamboohr\"\nformat = \"bamboohr\"\nscheme = \"bamboohr\"\n\
             secrets = [\"{BAMBOO_SECRET}\"]\n[sources.pull]\n\
             api_base = \"{}/api/gateway.php/{COMPANY}\"\ntoken = \"{BAMBOO_KEY}\"\n\
             interval_secs = {interval_secs}\ndirectory_interval_secs = {directory_interval_secs}\n",
            self.base
        )
    }

    /// Hires an employee in `department` at `location` (more fields in `extra`); returns the
    /// id and the `lastChanged` of the insertion.
    pub async fn hire(
        &self,
        email: &str,
        department: &str,
        location: &str,
        extra: Value,
    ) -> (String, String) {
        let mut body = json!({"firstName": "F", "lastName": email, "workEmail": email,
                              "department": department, "location": location});
        for (k, v) in extra.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        let r = self
            .control(reqwest::Method::POST, "/_sim/employees", body)
            .await;
        let id = r["id"].as_str().expect("employee id").to_owned();
        let at = self.last_changed(&id).await;
        (id, at)
    }

    /// Changes an employee's fields (`at` back-dates the change); returns its `lastChanged`.
    pub async fn change(&self, id: &str, fields: Value) -> String {
        self.control(
            reqwest::Method::PATCH,
            &format!("/_sim/employees/{id}"),
            fields,
        )
        .await;
        self.last_changed(id).await
    }

    /// Deletes an employee (`{"at": …}` back-dates it).
    pub async fn remove(&self, id: &str, body: Value) {
        self.control(
            reqwest::Method::DELETE,
            &format!("/_sim/employees/{id}"),
            body,
        )
        .await;
    }

    /// The `lastChanged` BambooHR lists for the employee's latest change.
    async fn last_changed(&self, id: &str) -> String {
        let state = self
            .control(reqwest::Method::GET, "/_sim/state", Value::Null)
            .await;
        state["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .rev()
            .find(|c| c["id"].as_u64().map(|n| n.to_string()).as_deref() == Some(id))
            .and_then(|c| c["at"].as_str())
            .expect("a change of the employee")
            .to_owned()
    }

    /// The employee's fields as the simulator holds them.
    pub async fn fields_of(&self, id: &str) -> Value {
        let state = self
            .control(reqwest::Method::GET, "/_sim/state", Value::Null)
            .await;
        state["employees"][id].clone()
    }
}

/// Delivers a BambooHR webhook for one employee change (`action` Created/Updated, stamped
/// `timestamp`, with the employee's fields as the simulator holds them).
pub async fn push_bamboo(
    app: &crate::helpers::TestApp,
    sim: &BambooSim,
    id: &str,
    action: &str,
    timestamp: &str,
) -> Value {
    let fields = sim.fields_of(id).await;
    let body = json!({"employees": [{"id": id, "action": action, "timestamp": timestamp,
                                     "changedFields": ["Status"], "fields": fields}]});
    super::control::push(app, "bamboohr", &body).await
}
