//! domo-group-sync: signed IdP and HR webhooks in, the fewest Domo group calls out.

pub mod config;
pub mod domo;
pub mod event;
pub mod plan;
pub mod rules;
pub mod signature;
pub mod sources;
pub mod state;
pub mod store;
