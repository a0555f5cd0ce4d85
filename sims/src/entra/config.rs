//! Command-line arguments of `domo-group-sync entra-sim` and the [`EntraConfig`] they become.

use std::net::SocketAddr;

use crate::shared::faults::{FaultArgs, Faults};

/// Arguments of the `entra-sim` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct EntraArgs {
    /// Address to listen on.
    #[arg(long, env = "ENTRA_SIM_LISTEN", default_value = "127.0.0.1:8092")]
    pub listen: SocketAddr,
    /// The tenant id (the first path segment of the token URL).
    #[arg(long, default_value = "00000000-0000-0000-0000-00000000a11d")]
    pub tenant_id: String,
    /// The application (client) id.
    #[arg(long, default_value = "sim-entra-client")]
    pub client_id: String,
    /// The client secret.
    #[arg(
        long,
        env = "ENTRA_SIM_CLIENT_SECRET",
        default_value = "sim-entra-secret"
    )]
    pub client_secret: String,
    /// Replication lag: delay before a change is seen by delta queries, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub visibility_delay_ms: u64,
    /// Lifetime of delta tokens, in seconds (Graph: 7 days).
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    pub delta_token_ttl_secs: u64,
    /// Items per delta page unless `Prefer: odata.maxpagesize` asks otherwise.
    #[arg(long, default_value_t = 100)]
    pub page_size: usize,
    /// Members per group item in a group delta; bigger groups span several items.
    #[arg(long, default_value_t = 20)]
    pub members_per_item: usize,
    /// Requests per 10 seconds (0: unlimited).
    #[arg(long, default_value_t = 1000)]
    pub rate_limit_per_10s: u64,
    /// Create N users at start (user1@example.com …).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub generate_users: usize,
    /// Create M groups at start; user i joins group i mod M.
    #[arg(long, value_name = "M", default_value_t = 0)]
    pub generate_groups: usize,
    /// Seed of the random generators.
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// What an Entra [`Simulator`](super::Simulator) is built from.
#[derive(Debug, Clone)]
pub struct EntraConfig {
    pub listen: SocketAddr,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// Application permissions granted to the app (`roles`).
    pub roles: Vec<String>,
    pub token_ttl_secs: u64,
    pub visibility_delay_ms: u64,
    pub delta_token_ttl_secs: u64,
    pub page_size: usize,
    pub members_per_item: usize,
    pub rate_limit_per_10s: u64,
    pub generate_users: usize,
    pub generate_groups: usize,
    pub seed: u64,
    pub faults: Faults,
}

impl Default for EntraConfig {
    /// For tests: no lag, no throttling.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8092)),
            tenant_id: "00000000-0000-0000-0000-00000000a11d".to_owned(),
            client_id: "sim-entra-client".to_owned(),
            client_secret: "sim-entra-secret".to_owned(),
            roles: vec![
                "User.Read.All".to_owned(),
                "GroupMember.Read.All".to_owned(),
            ],
            token_ttl_secs: 3599,
            visibility_delay_ms: 0,
            delta_token_ttl_secs: 7 * 24 * 3600,
            page_size: 100,
            members_per_item: 20,
            rate_limit_per_10s: 0,
            generate_users: 0,
            generate_groups: 0,
            seed: 0x00E7_7A5E,
            faults: Faults::default(),
        }
    }
}

impl EntraConfig {
    pub fn from_args(a: &EntraArgs) -> anyhow::Result<Self> {
        Ok(Self {
            listen: a.listen,
            tenant_id: a.tenant_id.clone(),
            client_id: a.client_id.clone(),
            client_secret: a.client_secret.clone(),
            visibility_delay_ms: a.visibility_delay_ms,
            delta_token_ttl_secs: a.delta_token_ttl_secs,
            page_size: a.page_size.max(1),
            members_per_item: a.members_per_item.max(1),
            rate_limit_per_10s: a.rate_limit_per_10s,
            generate_users: a.generate_users,
            generate_groups: a.generate_groups,
            seed: a.seed.unwrap_or(0x00E7_7A5E),
            faults: a.faults.faults()?,
            ..Self::default()
        })
    }
}
