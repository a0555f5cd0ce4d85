//! Command-line arguments of `domo-group-sync workos-sim` and the [`WorkosConfig`] they become.

use std::net::SocketAddr;

use crate::shared::faults::{FaultArgs, Faults};

/// Arguments of the `workos-sim` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkosArgs {
    /// Address to listen on.
    #[arg(long, env = "WORKOS_SIM_LISTEN", default_value = "127.0.0.1:8093")]
    pub listen: SocketAddr,
    /// The API key accepted as `Authorization: Bearer <key>`.
    #[arg(long, env = "WORKOS_SIM_API_KEY", default_value = "sk_test_sim")]
    pub api_key: String,
    /// Delay before a new event shows in `GET /events`, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub visibility_delay_ms: u64,
    /// Requests per 60 s per API key (0: unlimited).
    #[arg(long, default_value_t = 6000)]
    pub rate_limit: u64,
    /// Seed of the random generators (ids, faults).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// What a WorkOS [`Simulator`](super::Simulator) is built from.
#[derive(Debug, Clone)]
pub struct WorkosConfig {
    pub listen: SocketAddr,
    pub api_key: String,
    pub visibility_delay_ms: u64,
    pub rate_limit: u64,
    pub seed: u64,
    pub faults: Faults,
}

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 0x0505_5EED;

impl Default for WorkosConfig {
    /// For tests: no visibility delay and no rate limit.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8093)),
            api_key: "sk_test_sim".to_owned(),
            visibility_delay_ms: 0,
            rate_limit: 0,
            seed: DEFAULT_SEED,
            faults: Faults::default(),
        }
    }
}

impl WorkosConfig {
    pub fn from_args(args: &WorkosArgs) -> anyhow::Result<Self> {
        Ok(Self {
            listen: args.listen,
            api_key: args.api_key.clone(),
            visibility_delay_ms: args.visibility_delay_ms,
            rate_limit: args.rate_limit,
            seed: args.seed.unwrap_or(DEFAULT_SEED),
            faults: args.faults.faults()?,
        })
    }
}
