//! The integration tests: one binary. Each test starts the real service on port 0 against the
//! real Domo simulator over TCP, with a fresh SQLite database, and drives it by HTTP.

mod api_auth;
mod api_users;
mod api_v1;
mod docs;
mod helpers;
mod openapi;
mod webhooks;
