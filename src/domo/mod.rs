//! The Domo Platform API client: OAuth client-credentials token, the groups and users calls
//! the service makes, lenient decoding of Domo's loosely typed answers, and a classification
//! of every failure into retryable or permanent.
//!
//! The facts it relies on, each with its evidence level, are in
//! `shared/reference/domo-api.md`. It owns talking HTTP to Domo; it does not decide what to
//! call (the rules and the worker do) and does not retry beyond one token refresh (the
//! worker's queue does, honouring [`DomoError::retry_after`]).
//!
//! - `client`: [`DomoClient`], one method per call.
//! - `auth`: the single-flight token cache.
//! - `transport`: one gated HTTP exchange, endpoint URLs, paging.
//! - `limit`: the in-flight bound and the rate limit.
//! - `model`: the wire types.
//! - `error`: [`DomoError`] and the status mapping.

mod auth;
mod client;
mod error;
mod limit;
mod model;
mod transport;

#[cfg(test)]
mod tests;

pub use client::{ClientSettings, DomoClient};
pub use error::DomoError;
pub(crate) use error::parse_retry_after;
pub use model::{Group, GroupRef, NewUser, User};
