//! The simulator as the service's demo runs it: three seeded users, bound to one address.

use std::future::Future;
use std::net::SocketAddr;

use super::{SeedUser, SimConfig, Simulator};

/// Users the demo simulator starts with, so the README's example works out of the box.
pub const DEMO_USERS: [(&str, &str); 3] = [
    ("ada@example.com", "Ada Lovelace"),
    ("grace@example.com", "Grace Hopper"),
    ("alan@example.com", "Alan Turing"),
];

/// A bound demo simulator, not yet serving.
pub struct Demo {
    pub simulator: Simulator,
    listener: tokio::net::TcpListener,
    pub addr: SocketAddr,
}

impl Demo {
    /// Binds `listen` (port 0 picks a free one) with the demo users.
    pub async fn bind(listen: SocketAddr) -> anyhow::Result<Demo> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot bind the simulator to {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        let config = SimConfig {
            users: DEMO_USERS
                .iter()
                .map(|(email, name)| SeedUser {
                    email: (*email).to_owned(),
                    name: (*name).to_owned(),
                    role: "Participant".to_owned(),
                })
                .collect(),
            ..SimConfig::default()
        };
        Ok(Demo {
            simulator: Simulator::new(config),
            listener,
            addr,
        })
    }

    /// The client credentials the simulator accepts.
    pub fn credentials(&self) -> (String, String) {
        let c = self.simulator.config();
        (c.client_id.clone(), c.client_secret.clone())
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        if let Err(error) = self.simulator.serve(self.listener, shutdown).await {
            tracing::warn!(%error, "the demo Domo simulator stopped");
        }
    }
}
