//! Configuration: the typed shape (`types`), the permissive as-written shape (`raw`), and how
//! it is loaded from TOML, `DGS_*` environment variables and secret references (`load`).

mod env;
mod load;
mod raw;
mod sections;
mod types;

pub use load::{ConfigErrors, ConfigInput};
pub use types::*;

#[cfg(test)]
mod tests;
