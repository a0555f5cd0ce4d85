//! domo-group-sync: signed IdP and HR webhooks in, the fewest Domo group calls out.
//!
//! A guided tour: `api` receives signed webhooks and hands them to `ingest`, which commits them
//! to the `store` (group commit) before the 202. The `worker` claims stored events per user,
//! folds them into the user's `state`, derives the desired groups through the `rules`, `plan`s
//! the difference and applies it with the `domo` client. `sources` map each sender's payloads
//! to the canonical `event`; `signature` verifies each sender's scheme; `scim` is the SCIM 2.0
//! front door (its view of users and groups, and the events its writes cause); `pull` reads
//! the providers' own APIs (missed events, the directory pass) into the same inbox.
//! `reconcile` compares Domo with what the service wants and queues the repairs; `notify`
//! tells subscribers what happened (signed outgoing events); `console` is the operators' pages.
//! `prometheus` owns the metrics and `/metrics`. The simulators of Domo and the providers live
//! in their own crate (`sims/`), which the binary uses for its demo and `*-sim` subcommands.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod domo;
pub mod error;
pub mod event;
pub mod ingest;
pub mod net;
pub mod notify;
pub mod plan;
pub mod prometheus;
pub mod pull;
pub mod reconcile;
pub mod reload;
pub mod rules;
pub mod scim;
pub mod signature;
pub mod sources;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod worker;
