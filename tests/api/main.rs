//! The integration tests: one binary. Each test starts the real service on port 0 against the
//! real Domo simulator over TCP, with a fresh database, and drives it by HTTP. The binary runs
//! once per store backend: SQLite by default, PostgreSQL with `TEST_STORE_BACKEND=postgres` and
//! `TEST_DATABASE_URL` (see `db.rs` and `.ci/run`).

mod db;
mod helpers;
mod replica_state;
mod replicas;
mod store;
mod webhooks;
