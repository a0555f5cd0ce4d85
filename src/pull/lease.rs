//! A source's pull lease (`pull:<source>`): one run at a time across replicas. Held only while
//! a run lasts, renewed every third of its life, released when dropped; a renewal that finds
//! it taken cancels `lost`, and every write of the run is fenced by it anyway.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::{Pulls, lease_name};
use crate::store::{Fence, StoreError};

/// How long a pull lease lasts without renewal: a replica that dies mid-run holds up the
/// source's pulls this long at most.
const LEASE_TTL: Duration = Duration::from_secs(30);

/// A held pull lease; released when dropped.
pub(super) struct Held {
    pub fence: Fence,
    /// Cancelled when a renewal finds the lease taken.
    pub lost: CancellationToken,
    stop: CancellationToken,
    store: crate::store::Store,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.stop.cancel();
        let (store, fence) = (self.store.clone(), self.fence.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.release_lease(&fence.lease, &fence.owner).await {
                    tracing::debug!(error = %e, "could not release the pull lease; it will expire");
                }
            });
        }
    }
}

impl Pulls {
    /// Takes `source`'s pull lease if nobody holds it.
    pub(super) async fn try_lease(&self, source: &str) -> Result<Option<Held>, StoreError> {
        let fence = Fence {
            lease: lease_name(source),
            owner: format!(
                "{}:{}",
                crate::worker::owner_prefix(),
                uuid::Uuid::new_v4().simple()
            ),
        };
        let now = Utc::now().timestamp_millis();
        let ttl = i64::try_from(LEASE_TTL.as_millis()).unwrap_or(60_000);
        if !self
            .store
            .acquire_lease(&fence.lease, &fence.owner, now, now + ttl)
            .await?
        {
            return Ok(None);
        }
        let (lost, stop) = (CancellationToken::new(), CancellationToken::new());
        let (store, f, l, s) = (
            self.store.clone(),
            fence.clone(),
            lost.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = s.cancelled() => return,
                    () = tokio::time::sleep(LEASE_TTL / 3) => {}
                }
                let until = Utc::now().timestamp_millis() + ttl;
                match store.renew_named_lease(&f.lease, &f.owner, until).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(lease = %f.lease, "the pull lease was taken over; stopping the run");
                        l.cancel();
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "could not renew the pull lease"),
                }
            }
        });
        Ok(Some(Held {
            fence,
            lost,
            stop,
            store: self.store.clone(),
        }))
    }
}
