//! Pulls from the provider simulators over TCP: missed events, the directory pass, cursors,
//! the caps, crashes, operations. `okta_sim`, `workos_sim`, `entra_sim` and `bamboohr_sim` start the
//! simulators and shape the provider through their `/_sim` control APIs, as an admin would.

mod bamboohr;
mod bamboohr_sim;
mod control;
mod crash;
mod cursor;
mod directory;
mod entra;
pub(crate) mod entra_sim;
mod events;
mod limits;
mod okta_sim;
mod ops;
mod workos;
mod workos_sim;

pub use okta_sim::*;
