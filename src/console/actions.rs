//! `dgs_console_actions_total`: what the console's forms did, by `action` and `result`
//! (`refused` before anything is done, then `ok` or `failed`).

use super::error::ConsoleError;
use super::session::ConsoleUser;
use crate::config::ApiScope;
use crate::prometheus::CONSOLE_ACTIONS;

/// Counts one result of `action`.
pub fn count(action: &'static str, result: &'static str) {
    metrics::counter!(CONSOLE_ACTIONS, "action" => action, "result" => result).increment(1);
}

/// `user.require(scope)`, a refusal counted against `action`.
pub fn authorize(
    user: &ConsoleUser,
    scope: ApiScope,
    action: &'static str,
) -> Result<(), ConsoleError> {
    user.require(scope)
        .inspect_err(|_| count(action, "refused"))
}

/// The outcome of `action`, counted `ok` or `failed`.
pub fn counted<T, E>(action: &'static str, outcome: Result<T, E>) -> Result<T, E> {
    count(action, if outcome.is_ok() { "ok" } else { "failed" });
    outcome
}
