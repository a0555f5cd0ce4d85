//! The timestamp window: parsing signed timestamps and checking them against `now`.
//!
//! The bound is inclusive: a timestamp exactly `tolerance` seconds away is accepted, as in
//! every official Standard Webhooks, Stripe and WorkOS library.

use super::SignatureError;

/// Which directions of clock difference a scheme rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// Reject timestamps too old and too far in the future.
    Both,
    /// Reject only timestamps that are too old (Stripe's policy).
    PastOnly,
}

/// Checks `timestamp_ms` (unix milliseconds) against `now` (unix seconds).
pub(super) fn check_millis(
    timestamp_ms: i64,
    now: i64,
    tolerance_secs: u64,
    direction: Direction,
) -> Result<(), SignatureError> {
    // i128 keeps the arithmetic exact for any i64 input.
    let age_ms = i128::from(now) * 1000 - i128::from(timestamp_ms);
    let bound_ms = i128::from(tolerance_secs) * 1000;
    if age_ms > bound_ms {
        Err(SignatureError::Expired)
    } else if direction == Direction::Both && -age_ms > bound_ms {
        Err(SignatureError::Future)
    } else {
        Ok(())
    }
}

/// Checks `timestamp` (unix seconds) against `now` (unix seconds).
pub(super) fn check_secs(
    timestamp: i64,
    now: i64,
    tolerance_secs: u64,
    direction: Direction,
) -> Result<(), SignatureError> {
    let age = i128::from(now) - i128::from(timestamp);
    let bound = i128::from(tolerance_secs);
    if age > bound {
        Err(SignatureError::Expired)
    } else if direction == Direction::Both && -age > bound {
        Err(SignatureError::Future)
    } else {
        Ok(())
    }
}

/// Parses a non-negative decimal integer made of ASCII digits only (no sign, no spaces, no
/// fraction), as the Standard Webhooks and Svix libraries require of timestamps.
pub(super) fn parse_unsigned(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses a unix-seconds timestamp header, or `Malformed(what)`.
pub(super) fn parse_secs(text: &str, what: &'static str) -> Result<i64, SignatureError> {
    parse_unsigned(text).ok_or(SignatureError::Malformed(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_window_is_inclusive_in_both_directions() {
        assert_eq!(check_secs(1000, 1300, 300, Direction::Both), Ok(()));
        assert_eq!(check_secs(1000, 700, 300, Direction::Both), Ok(()));
        assert_eq!(
            check_secs(1000, 1301, 300, Direction::Both),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            check_secs(1000, 699, 300, Direction::Both),
            Err(SignatureError::Future)
        );
    }

    #[test]
    fn past_only_accepts_any_future_timestamp() {
        assert_eq!(check_secs(1_000_000, 0, 300, Direction::PastOnly), Ok(()));
        assert_eq!(
            check_secs(0, 301, 300, Direction::PastOnly),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn millisecond_window_compares_exactly() {
        assert_eq!(check_millis(1_000_000, 1180, 180, Direction::Both), Ok(()));
        assert_eq!(
            check_millis(999_999, 1180, 180, Direction::Both),
            Err(SignatureError::Expired)
        );
        assert_eq!(check_millis(1_180_000, 1000, 180, Direction::Both), Ok(()));
        assert_eq!(
            check_millis(1_180_001, 1000, 180, Direction::Both),
            Err(SignatureError::Future)
        );
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        assert_eq!(check_secs(0, i64::MAX, u64::MAX, Direction::Both), Ok(()));
        assert_eq!(
            check_millis(i64::MAX, i64::MIN, 0, Direction::Both),
            Err(SignatureError::Future)
        );
    }

    #[test]
    fn timestamps_are_plain_digits() {
        assert_eq!(parse_unsigned("1614265330"), Some(1_614_265_330));
        for bad in ["", "hello", "-5", "+5", " 5", "1.5", "99999999999999999999"] {
            assert_eq!(parse_unsigned(bad), None, "{bad:?}");
        }
    }
}
