//! The integration tests: one binary. Each test starts the real service on port 0 against the
//! real Domo simulator over TCP, with a fresh SQLite database, and drives it by HTTP.

mod api_auth;
mod api_users;
mod api_v1;
mod cli;
mod crash;
mod demo;
mod docs;
mod faults;
mod health;
mod helpers;
mod metrics;
mod openapi;
mod resilience;
mod robustness;
mod scale;
mod secrets;
mod shutdown;
mod sim_helpers;
mod sync;
mod webhooks;
