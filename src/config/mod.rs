//! Configuration: the typed shape (`types`) and how it is loaded from TOML, `DGS_*`
//! environment variables and secret references.

mod types;

pub use types::*;
