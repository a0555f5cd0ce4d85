//! Command-line arguments of `domo-group-sync okta-sim` and the [`OktaConfig`] they become.

use std::net::SocketAddr;

use crate::shared::faults::{FaultArgs, Faults};

/// Arguments of the `okta-sim` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct OktaArgs {
    /// Address to listen on.
    #[arg(long, env = "OKTA_SIM_LISTEN", default_value = "127.0.0.1:8091")]
    pub listen: SocketAddr,
    /// The API token accepted as `Authorization: SSWS <token>`.
    #[arg(long, env = "OKTA_SIM_API_TOKEN", default_value = "sim-okta-token")]
    pub api_token: String,
    /// The client id of the OAuth service app (`private_key_jwt`).
    #[arg(long, env = "OKTA_SIM_CLIENT_ID", default_value = "0oasimserviceapp")]
    pub client_id: String,
    /// Delay before a new System Log event becomes visible, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub visibility_delay_ms: u64,
    /// Requests per minute to `/api/v1/logs` (0: unlimited).
    #[arg(long, default_value_t = 120)]
    pub logs_rate_limit: u64,
    /// Requests per minute to each other bucket: users, groups, token (0: unlimited).
    #[arg(long, default_value_t = 600)]
    pub rate_limit: u64,
    /// Create N users at start: user1@example.com … (no System Log events).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub generate_users: usize,
    /// Create M groups at start, `Group 1` … `Group M`; user i joins group i mod M.
    #[arg(long, value_name = "M", default_value_t = 0)]
    pub generate_groups: usize,
    /// Seed of the random generators (ids, faults).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// What an Okta [`Simulator`](super::Simulator) is built from.
#[derive(Debug, Clone)]
pub struct OktaConfig {
    pub listen: SocketAddr,
    /// Accepted SSWS tokens.
    pub api_tokens: Vec<String>,
    /// The OAuth service app's client id.
    pub client_id: String,
    /// Scopes granted to the service app.
    pub granted_scopes: Vec<String>,
    /// Lifetime of access tokens (Okta: a fixed hour).
    pub token_ttl_secs: u64,
    pub visibility_delay_ms: u64,
    pub logs_rate_limit: u64,
    pub rate_limit: u64,
    pub generate_users: usize,
    pub generate_groups: usize,
    pub seed: u64,
    pub faults: Faults,
}

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 0x0C7A_5EED;

impl Default for OktaConfig {
    /// For tests: no visibility delay and no rate limit.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8091)),
            api_tokens: vec!["sim-okta-token".to_owned()],
            client_id: "0oasimserviceapp".to_owned(),
            granted_scopes: ["okta.logs.read", "okta.users.read", "okta.groups.read"]
                .map(str::to_owned)
                .to_vec(),
            token_ttl_secs: 3600,
            visibility_delay_ms: 0,
            logs_rate_limit: 0,
            rate_limit: 0,
            generate_users: 0,
            generate_groups: 0,
            seed: DEFAULT_SEED,
            faults: Faults::default(),
        }
    }
}

impl OktaConfig {
    pub fn from_args(args: &OktaArgs) -> anyhow::Result<Self> {
        Ok(Self {
            listen: args.listen,
            api_tokens: vec![args.api_token.clone()],
            client_id: args.client_id.clone(),
            visibility_delay_ms: args.visibility_delay_ms,
            logs_rate_limit: args.logs_rate_limit,
            rate_limit: args.rate_limit,
            generate_users: args.generate_users,
            generate_groups: args.generate_groups,
            seed: args.seed.unwrap_or(DEFAULT_SEED),
            faults: args.faults.faults()?,
            ..Self::default()
        })
    }
}
