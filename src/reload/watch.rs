//! The background task: re-reads every `file:` secret's content on an interval (content, not
//! modification times: Kubernetes updates a mounted Secret by pointing the `..data` symlink
//! at a new timestamped directory, so the file's path, and the symlinks' own times, stay the
//! same while what they resolve to changes), reloads when one reads differently, and warns
//! about secrets and tokens close to their `not_after`.

use std::collections::{HashSet, hash_map::DefaultHasher};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Reloader, Snapshot, Trigger};
use crate::config::WatchedFile;

/// How often expiry is checked when file polling is off.
const EXPIRY_CHECK: Duration = Duration::from_secs(60);

/// Runs until `token` is cancelled. `poll` = `secrets.poll_interval_ms` (zero: files are not
/// polled, expiry is still checked every minute).
pub async fn watch(reloader: Arc<Reloader>, poll: Duration, token: CancellationToken) {
    let tick = if poll.is_zero() { EXPIRY_CHECK } else { poll };
    let mut warned = HashSet::new();
    // The content last tried, so that a broken new secret is reported once, not every tick.
    let mut last_tried: Option<u64> = None;
    expiry_warnings(
        &reloader.live().load(),
        chrono::Utc::now().timestamp(),
        Some(&mut warned),
    );
    loop {
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
        if !poll.is_zero() {
            let watched = reloader.watched();
            let current = read_all(&watched).await;
            let changed = watched
                .iter()
                .zip(&current)
                .any(|(w, now)| w.digest != *now);
            let fingerprint = fingerprint(&current);
            if changed && last_tried != Some(fingerprint) {
                last_tried = Some(fingerprint);
                tracing::info!("a file: secret changed; reloading the configuration");
                if reloader.reload(Trigger::File).await.is_ok() {
                    last_tried = None;
                }
            }
        }
        expiry_warnings(
            &reloader.live().load(),
            chrono::Utc::now().timestamp(),
            Some(&mut warned),
        );
    }
}

/// The SHA-256 of each file's current content (`None` when it cannot be read: mid-swap, or
/// removed).
async fn read_all(watched: &[WatchedFile]) -> Vec<Option<[u8; 32]>> {
    let mut out = Vec::with_capacity(watched.len());
    for w in watched {
        out.push(
            tokio::fs::read(&w.path)
                .await
                .ok()
                .map(|b| crate::config::digest(&b)),
        );
    }
    out
}

fn fingerprint(digests: &[Option<[u8; 32]>]) -> u64 {
    let mut h = DefaultHasher::new();
    digests.hash(&mut h);
    h.finish()
}

/// Sets `dgs_secret_expiry_timestamp_seconds` for every secret and token with a `not_after`
/// and warns about those that are live and expire within `secrets.expiry_warning_secs`. With
/// `warned`, each (owner, secret, not_after) is warned about once; without, every time (after
/// a reload). Returns how many are about to expire.
pub fn expiry_warnings(
    snapshot: &Snapshot,
    now: i64,
    mut warned: Option<&mut HashSet<String>>,
) -> usize {
    let window = i64::try_from(snapshot.expiry_warning_secs).unwrap_or(i64::MAX);
    let mut soon = 0;
    let mut entries: Vec<(&str, &str, String, i64, bool)> = Vec::new();
    for src in snapshot.sources.values() {
        for (i, s) in src.secrets.iter().enumerate() {
            if let Some(t) = s.not_after {
                entries.push(("source", &src.name, s.label(i), t, s.live_at(now)));
            }
        }
    }
    for t in snapshot.api_tokens.iter() {
        if let Some(at) = t.not_after {
            entries.push(("token", &t.name, t.name.clone(), at, t.live_at(now)));
        }
    }
    for (kind, owner, label, not_after, live) in entries {
        metrics::gauge!(crate::prometheus::SECRET_EXPIRY,
            "kind" => kind, "owner" => owner.to_owned(), "secret" => label.clone())
        .set(not_after as f64);
        if !live || not_after.saturating_sub(now) > window {
            continue;
        }
        soon += 1;
        let key = format!("{kind}/{owner}/{label}/{not_after}");
        if let Some(w) = warned.as_deref_mut()
            && !w.insert(key)
        {
            continue;
        }
        let left_hours = not_after.saturating_sub(now) / 3600;
        tracing::warn!(
            kind,
            owner,
            secret = %label,
            not_after,
            hours_left = left_hours,
            "a secret expires soon; add its successor and reload before then"
        );
    }
    soon
}
