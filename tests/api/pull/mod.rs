//! Pulls from the Okta simulator over TCP: missed events, the directory pass, cursors, the
//! caps, crashes, operations. `okta_sim` starts the simulator and shapes the org through its
//! `/_sim` control API, as an Okta admin would.

mod crash;
mod cursor;
mod directory;
mod events;
mod limits;
mod okta_sim;
mod ops;

pub use okta_sim::*;
