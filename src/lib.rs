//! domo-group-sync: signed IdP and HR webhooks in, the fewest Domo group calls out.

pub mod config;
pub mod event;
pub mod sim;
