//! The integration tests: one binary. Each test starts the real service on port 0 against the
//! real Domo simulator over TCP, with a fresh SQLite database, and drives it by HTTP.

mod health;
mod helpers;
mod metrics;
mod shutdown;
mod webhooks;
