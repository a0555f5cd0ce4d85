//! The integration tests: one binary. Each test starts the real service on port 0 against the
//! real Domo simulator over TCP, with a fresh database, and drives it by HTTP. The store is
//! SQLite by default; `TEST_STORE_BACKEND=postgres` (with `TEST_DATABASE_URL`) runs the same
//! tests on PostgreSQL, each on a database of its own.

mod allowlist;
mod api_auth;
mod api_users;
mod api_v1;
mod binary;
mod cli;
mod connections;
mod console;
mod console_flows;
mod console_helpers;
mod crash;
mod dashboards;
mod db;
mod demo;
mod docs;
mod faults;
mod graph;
mod health;
mod helpers;
mod layering;
mod leases;
mod metrics;
mod notify;
mod omitted_groups;
mod openapi;
mod options;
mod outage;
mod pull;
mod reconcile;
mod reconcile_api_user;
mod reconcile_runs;
mod reconcile_scale;
mod reload_signal;
mod replica_state;
mod replicas;
mod resilience;
mod robustness;
mod rotation;
mod scale;
mod scim;
mod secrets;
mod shutdown;
mod sim_helpers;
mod soak;
mod store;
mod sync;
mod tokens;
mod webhooks;
