//! Refused webhook deliveries per source and reason, since this process started: what the
//! console's Sources page shows beside the stored events. (The same refusals are counted in
//! the Prometheus series; this keeps the last time too.) Bounded: configured sources times a
//! fixed set of reasons.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// One source's refusals for one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusals {
    pub count: u64,
    /// The latest, unix ms.
    pub last_ms: i64,
}

/// Refusals by (source, reason).
#[derive(Debug, Default)]
pub struct DeliveryRefusals {
    map: Mutex<BTreeMap<(String, &'static str), Refusals>>,
}

impl DeliveryRefusals {
    /// Counts a refused delivery to a configured `source`.
    pub fn record(&self, source: &str, reason: &'static str, now_ms: i64) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = map.entry((source.to_owned(), reason)).or_insert(Refusals {
            count: 0,
            last_ms: now_ms,
        });
        e.count += 1;
        e.last_ms = now_ms;
    }

    /// The refusals of `source`, by reason.
    pub fn of(&self, source: &str) -> Vec<(&'static str, Refusals)> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|((s, _), _)| s == source)
            .map(|((_, r), v)| (*r, *v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_per_source_and_reason() {
        let d = DeliveryRefusals::default();
        d.record("okta", "mismatch", 1);
        d.record("okta", "mismatch", 5);
        d.record("okta", "too_large", 2);
        d.record("gh", "mismatch", 3);
        assert_eq!(
            d.of("okta"),
            vec![
                (
                    "mismatch",
                    Refusals {
                        count: 2,
                        last_ms: 5
                    }
                ),
                (
                    "too_large",
                    Refusals {
                        count: 1,
                        last_ms: 2
                    }
                )
            ]
        );
        assert!(d.of("none").is_empty());
    }
}
