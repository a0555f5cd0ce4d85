//! Configuration: the typed shape (`types`), the permissive as-written shape (`raw`), and how
//! it is loaded from TOML, `DGS_*` environment variables and secret references (`load`).

mod env;
mod graph;
mod load;
mod notify;
mod pull;
mod raw;
mod sections;
mod types;

pub use load::{ConfigErrors, ConfigInput};
pub use pull::{ENTRA_LOGIN_BASE, Provider, PullConfig};
pub use types::*;

/// SHA-256 of a secret file's content: how a change is noticed without keeping the value.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_notify;
#[cfg(test)]
mod tests_rotation;
