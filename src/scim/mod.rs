//! The SCIM 2.0 service provider (RFC 7643/7644) behind `/scim/{source}/v2` (issue 18).
//!
//! A SCIM source's IdP (Entra ID, Okta, OneLogin, JumpCloud) creates, changes and deletes
//! Users and Groups here. The service keeps what the IdP set, the *SCIM view*, in the store, so
//! that `GET` and filters answer from it at once, and turns every change into canonical events
//! (`events.rs`) committed in the same transaction as the view (`write.rs`, through
//! `Ingestor::commit_with`): a `2xx` means both are durable. The worker then applies the events
//! to Domo like any other source's, in per-user order, latest wins.
//!
//! Pure parts: `schema` (what is served), `path` and `filter` (parsing, evaluation),
//! `resource` (request JSON → stored attributes), `render` (stored → served), `patch` and
//! `members` (PATCH), `events`. `read` and `write` talk to the store; `api::scim` is the
//! HTTP layer.

pub mod discovery;
mod error;
mod evaluate;
pub mod events;
pub mod filter;
mod hints;
pub mod members;
pub mod patch;
mod patch_elements;
pub mod path;
pub mod read;
pub mod render;
pub mod resource;
pub mod schema;
mod schema_meta;
mod write;
mod write_groups;

pub use error::ScimError;
pub use resource::ResourceKind;

use crate::ingest::Ingestor;
use crate::store::Store;

/// One request's view of a SCIM source: where it is stored and served.
pub struct ScimContext<'a> {
    pub store: &'a Store,
    pub ingestor: &'a Ingestor,
    /// The source's configured name.
    pub source: &'a str,
    /// The absolute URL of `/scim/{source}/v2` (for `meta.location`).
    pub base: String,
    /// The `x-request-id` of the request (links the events to its logs).
    pub request_id: Option<String>,
}

/// The most resources one list answers (`filter.maxResults`); a larger `count` is clamped.
pub const MAX_RESULTS: i64 = 200;
