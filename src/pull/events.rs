//! One event pull: read pages after the stored cursor until the provider says it is caught up,
//! storing each page's events through the inbox's ingest path under the source's name (so a
//! pushed copy and a pulled one share their dedup key) together with the new cursor, in ONE
//! commit fenced by the source's pull lease. A crash re-reads the last page; nothing is
//! skipped. A cursor the provider no longer honours is reset, with a warning and
//! `dgs_pull_cursor_resets_total`, and the caller runs a full directory pass.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ingest::to_item;
use crate::prometheus as prom;
use crate::store::{CursorWrite, Fence, IngestStatus};

use super::Pulls;
use super::connector::{Connector, Progress, PullError};

/// Pages one run reads at most before it lets the schedule (and the lease) breathe; the next
/// run goes on from the stored cursor.
const MAX_PAGES_PER_RUN: usize = 1_000;

/// What an event pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct EventsReport {
    /// Pages read.
    pub pages: u64,
    /// Events read (stored, duplicate or ignored).
    pub read: u64,
    /// Stored and queued for the workers.
    pub queued: u64,
    /// Already stored (pushed, or pulled before): nothing done.
    pub duplicate: u64,
    /// Stored and acknowledged, not acted on (types not mapped, failed outcomes).
    pub ignored: u64,
    /// Events of a mapped type that could not be mapped (recorded as ignored).
    pub unmappable: u64,
    /// The stored cursor was no longer honoured: it was reset (and a full pass follows).
    pub cursor_reset: bool,
    /// The feed held a change it cannot follow by itself (Entra: a group deleted or
    /// renamed): a directory pass follows.
    pub directory_due: bool,
    /// The newest event time read (RFC 3339).
    pub newest: Option<String>,
}

impl Pulls {
    /// Pulls `source`'s missed events under `fence`.
    pub(crate) async fn pull_events(
        &self,
        source: &str,
        connector: &dyn Connector,
        fence: &Fence,
        progress: &Progress<'_>,
    ) -> Result<EventsReport, PullError> {
        let mut report = EventsReport::default();
        let mut newest: Option<DateTime<Utc>> = None;
        let state = self.store.pull_state(source).await?.unwrap_or_default();
        let mut cursor = state.cursor;
        // A cursor not read for longer than the provider keeps events may have skipped some.
        if let (Some(_), Some(ttl), Some(read_ms)) =
            (&cursor, connector.cursor_ttl(), state.cursor_ms)
        {
            let age_ms = Utc::now().timestamp_millis().saturating_sub(read_ms);
            if u128::try_from(age_ms).unwrap_or(0) > ttl.as_millis() {
                let why = format!(
                    "last read {} days ago, past the provider's {}-day retention",
                    age_ms / 86_400_000,
                    ttl.as_secs() / 86_400
                );
                self.reset_cursor(source, fence, &why).await?;
                report.cursor_reset = true;
                cursor = None;
            }
        }
        for _ in 0..MAX_PAGES_PER_RUN {
            let page = match connector.events(cursor.as_deref(), progress).await {
                Ok(p) => p,
                Err(PullError::CursorExpired(why)) if cursor.is_some() => {
                    self.reset_cursor(source, fence, &why).await?;
                    report.cursor_reset = true;
                    cursor = None;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let items: Vec<_> = page
                .items
                .into_iter()
                .map(|p| to_item(source, p, None))
                .collect();
            let types: Vec<&'static str> = items
                .iter()
                .map(|i| prom::type_label(&i.event_type))
                .collect();
            let write = CursorWrite {
                cursor: page.cursor.clone(),
                newest_us: page.newest.map(|t| t.timestamp_micros()),
                read: i64::try_from(items.len()).unwrap_or(i64::MAX),
            };
            let now = Utc::now().timestamp_millis();
            let mut session = self.store.ingest_session().await?;
            let outcomes = session
                .ingest_pulled(source, &items, &write, fence, now)
                .await?
                .ok_or(PullError::LeaseLost)?;
            drop(session);
            if outcomes.iter().any(|o| o.status == IngestStatus::Queued) {
                self.notify.notify_waiters();
            }
            prom::record_ingest(source, &types, &outcomes);
            for o in &outcomes {
                let outcome = match o.status {
                    IngestStatus::Queued => {
                        report.queued += 1;
                        "queued"
                    }
                    IngestStatus::Duplicate => {
                        report.duplicate += 1;
                        "duplicate"
                    }
                    IngestStatus::Ignored => {
                        report.ignored += 1;
                        "ignored"
                    }
                };
                metrics::counter!(prom::PULL_EVENTS, "source" => source.to_owned(), "outcome" => outcome)
                    .increment(1);
            }
            if page.unmappable > 0 {
                report.unmappable += page.unmappable as u64;
                metrics::counter!(prom::PULL_ERRORS, "source" => source.to_owned(), "reason" => "unmappable")
                    .increment(page.unmappable as u64);
            }
            report.pages += 1;
            report.read += outcomes.len() as u64;
            report.directory_due |= page.directory_due;
            newest = newest.max(page.newest);
            if page.cursor.is_some() {
                cursor = page.cursor;
            }
            if !page.more {
                break;
            }
        }
        report.newest = newest.map(|t| crate::reconcile::rfc3339(t.timestamp_millis()));
        Ok(report)
    }

    async fn reset_cursor(&self, source: &str, fence: &Fence, why: &str) -> Result<(), PullError> {
        tracing::warn!(
            pull.source = source,
            reason = why,
            "the provider no longer honours the stored cursor: it is reset, and a full directory \
             pass catches what it may have skipped"
        );
        metrics::counter!(prom::PULL_CURSOR_RESETS, "source" => source.to_owned()).increment(1);
        if !self
            .store
            .reset_pull_cursor(source, fence, Utc::now().timestamp_millis())
            .await?
        {
            return Err(PullError::LeaseLost);
        }
        Ok(())
    }
}
