//! Outgoing operational events: what happened that someone should be told about, written to
//! an outbox in the same commit as the state change it reports, then delivered to each
//! configured subscriber (Standard Webhooks signed, or a Slack message) at least once, with
//! retries, backoff, dead letters and replay, off the path of ingest and the workers.
//!
//! - `event`: the types and bodies (pure).
//! - `build`: which notices a job or a reconcile run gives, for which subscribers (pure).
//! - `slack`: the human-readable text of a notice (pure).
//! - `deliver`: the delivery lanes, one per subscriber (I/O).
//! - `source`: `source.failing`, called by the pull poller.

pub mod build;
pub mod deliver;
pub mod event;
pub mod slack;
pub mod source;

pub use event::{Notice, NoticeType};
