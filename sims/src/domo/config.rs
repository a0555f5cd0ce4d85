//! Command-line arguments of `domo-group-sync domo-sim` and the [`SimConfig`] they turn into.
//!
//! This module only reads the seed-user file; it never binds sockets or builds state.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::faults::Faults;
use super::world::{World, new_user};

/// Arguments of the `domo-sim` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, env = "DOMO_SIM_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The OAuth client id the simulator accepts.
    #[arg(long, env = "DOMO_SIM_CLIENT_ID", default_value = "sim-client")]
    pub client_id: String,
    /// The OAuth client secret the simulator accepts.
    #[arg(long, env = "DOMO_SIM_CLIENT_SECRET", default_value = "sim-secret")]
    pub client_secret: String,
    /// Lifetime of issued access tokens, in seconds (0: expired at once).
    #[arg(long, default_value_t = 3600)]
    pub token_ttl_secs: u64,
    /// Share of API requests answered 429 (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub rate_429: f64,
    /// Share of the 429 answers that carry a `Retry-After` header (0.0 to 1.0).
    #[arg(long, default_value_t = 0.5)]
    pub retry_after_share: f64,
    /// The `Retry-After` value, in seconds.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Share of API requests answered 500, 502 or 503 (0.0 to 1.0).
    #[arg(long = "rate-5xx", default_value_t = 0.0)]
    pub rate_5xx: f64,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Extra latency drawn uniformly from 0 to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_jitter_ms: u64,
    /// Share of API requests whose connection is dropped without an answer (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Share of writes (create group, add or remove member) applied and then dropped before
    /// the answer (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub drop_after_write_rate: f64,
    /// Leave `groups` out of `GET /v1/users/{id}` (Domo documents it; the service must not
    /// depend on it).
    #[arg(long)]
    pub omit_user_groups: bool,
    /// A JSON file holding an array of users `{email, name, role}` to create at start.
    #[arg(long, value_name = "FILE")]
    pub seed_users: Option<PathBuf>,
    /// Create N more users: user1@example.com … userN@example.com.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub generate_users: usize,
    /// Seed of the random generators (ids, faults, tokens), for reproducible runs.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// A user to create when the simulator starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedUser {
    /// Email address (unique, compared case-insensitively).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Domo role; `Participant` when absent from the seed file.
    #[serde(default = "default_role")]
    pub role: String,
}

fn default_role() -> String {
    "Participant".to_owned()
}

/// Everything a [`Simulator`](super::Simulator) is built from.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where `run` listens; `serve` uses the listener it is given instead.
    pub listen: SocketAddr,
    /// The accepted OAuth client id.
    pub client_id: String,
    /// The accepted OAuth client secret.
    pub client_secret: String,
    /// Scopes granted to the client; a token request may ask for any subset.
    pub client_scopes: Vec<String>,
    /// Lifetime of issued tokens, in seconds.
    pub token_ttl_secs: u64,
    /// Faults injected from the start (changeable at run time).
    pub faults: Faults,
    /// Users created at start, after the API client's own user, in this order.
    pub users: Vec<SeedUser>,
    /// Seed of the random generators.
    pub seed: u64,
    /// The instance name reported as `customer` in token responses.
    pub customer: String,
    /// Email of the Domo user the API client acts as (`userId` of its tokens).
    pub owner_email: String,
}

/// The seed used when none is given, so that runs are reproducible by default.
pub const DEFAULT_SEED: u64 = 0x5EED_D0D0;

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            client_id: "sim-client".to_owned(),
            client_secret: "sim-secret".to_owned(),
            client_scopes: vec!["data".to_owned(), "user".to_owned()],
            token_ttl_secs: 3600,
            faults: Faults::default(),
            users: Vec::new(),
            seed: DEFAULT_SEED,
            customer: "domo-sim".to_owned(),
            owner_email: "api-owner@example.com".to_owned(),
        }
    }
}

impl SimConfig {
    /// Turns parsed arguments into a configuration: reads and checks the seed-user file,
    /// appends the generated users and validates the fault rates.
    pub fn from_args(args: &SimArgs) -> anyhow::Result<Self> {
        let faults = Faults {
            rate_429: args.rate_429,
            retry_after_share: args.retry_after_share,
            retry_after_secs: args.retry_after_secs,
            rate_5xx: args.rate_5xx,
            latency_ms: args.latency_ms,
            latency_jitter_ms: args.latency_jitter_ms,
            drop_rate: args.drop_rate,
            drop_after_write_rate: args.drop_after_write_rate,
            omit_user_groups: args.omit_user_groups,
            ..Faults::default()
        };
        faults.validate().map_err(anyhow::Error::msg)?;

        let mut users = match &args.seed_users {
            Some(path) => read_seed_users(path)?,
            None => Vec::new(),
        };
        users.extend(generated_users(args.generate_users));
        check_users(&users)?;

        Ok(Self {
            listen: args.listen,
            client_id: args.client_id.clone(),
            client_secret: args.client_secret.clone(),
            token_ttl_secs: args.token_ttl_secs,
            faults,
            users,
            seed: args.seed.unwrap_or(DEFAULT_SEED),
            ..Self::default()
        })
    }
}

/// `user1@example.com` … `user{n}@example.com`, named "User 1" …, all `Participant`.
pub fn generated_users(n: usize) -> impl Iterator<Item = SeedUser> {
    (1..=n).map(|i| SeedUser {
        email: format!("user{i}@example.com"),
        name: format!("User {i}"),
        role: default_role(),
    })
}

/// Rejects seed users that the simulator would refuse to create (bad role or email,
/// duplicate emails), naming the first problem.
fn check_users(users: &[SeedUser]) -> anyhow::Result<()> {
    let mut world = World::new(DEFAULT_SEED, &SimConfig::default().owner_email, &[]);
    world
        .create_users(users.iter().map(new_user).collect())
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("seed users: {e}"))
}

fn read_seed_users(path: &std::path::Path) -> anyhow::Result<Vec<SeedUser>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading seed users from {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected a JSON array of {{\"email\", \"name\", \"role\"}}",
            path.display()
        )
    })
}
