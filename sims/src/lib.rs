//! Simulators of the third parties domo-group-sync talks to, for its tests and its demo.
//!
//! These are tools, not the service: the service's modules never import this crate. The
//! `domo-group-sync` binary uses it only for its demo (a built-in Domo when no credentials are
//! configured) and its `*-sim` subcommands; the integration tests use it as a dev-dependency.
//! Each simulator is built from the reference in `shared/reference/`, lists its guesses about
//! the real service where it is defined, and fails the way the real one fails.
//!
//! - [`bamboohr`]: BambooHR changed-since employees, the directory, employee fields.
//! - [`domo`]: the Domo Platform API (OAuth token, groups, group members, users).
//! - [`entra`]: Microsoft Graph delta queries for users and groups, client-credentials tokens.
//! - [`okta`]: Okta's System Log, users and groups, SSWS and OAuth service-app auth.
//! - [`workos`]: the WorkOS Events API and Directory Sync listings.
//! - [`shared`]: what every simulator shares (faults, killable connections, request log).

pub mod bamboohr;
pub mod domo;
pub mod entra;
pub mod okta;
pub mod shared;
pub mod workos;
