//! When and how long to wait before trying a Zoom call again.
//!
//! Capped exponential backoff with full jitter (`random(0, min(cap, base·2^n))`, AWS
//! "Exponential Backoff And Jitter"), never sooner than Zoom's `Retry-After`, and only for
//! calls that are safe to repeat (see `Endpoint::idempotent`).

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use rand::Rng;

/// Retry settings for idempotent calls. Tests use tiny durations so they run fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first; `1` disables retries.
    pub max_attempts: u32,
    /// Backoff for the first retry (before jitter).
    pub base: Duration,
    /// Upper bound of any single backoff (before jitter).
    pub cap: Duration,
    /// If Zoom's `Retry-After` asks for a longer wait than this, give up at once and return
    /// the rate-limit error so the caller can tell the user or requeue the work.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(8),
            max_wait: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    pub fn no_retries() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The un-jittered ceiling for retry number `retry` (0 = first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.checked_pow(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A full-jitter backoff for retry number `retry`: uniform in `[0, ceiling(retry)]`.
    pub fn backoff(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.gen_range(0..=nanos))
    }
}

/// Parses a `Retry-After` value into the instant after which a retry is allowed.
///
/// Accepts RFC 9110's delta-seconds and HTTP-date (all three historical formats, via
/// `httpdate`), plus the ISO 8601 date-time Zoom sends on daily limits
/// (`2020-05-31T00:00:00Z`, with or without the zone, which Zoom means as UTC).
/// Anything else, negative or overflowing, is `None`.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = value.parse().ok()?;
        return now.checked_add_signed(chrono::Duration::try_seconds(secs)?);
    }
    if let Ok(t) = httpdate::parse_http_date(value) {
        return Some(DateTime::<Utc>::from(t));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S") {
        return Some(Utc.from_utc_datetime(&t));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(value) {
        return Some(t.with_timezone(&Utc));
    }
    None
}

/// Zoom's daily limits reset at 00:00 UTC.
pub fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive().succ_opt().unwrap_or(now.date_naive());
    Utc.from_utc_datetime(&tomorrow.and_time(chrono::NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, 13, 45, 10).unwrap()
    }

    #[test]
    fn parses_the_three_forms_zoom_and_rfc_9110_use() {
        let now = t0();
        assert_eq!(
            parse_retry_after("120", now),
            Some(now + chrono::Duration::seconds(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 37).unwrap())
        );
        // Obsolete RFC 850 and asctime forms, which RFC 9110 says recipients must accept.
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now),
            Some(Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 37).unwrap())
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:49:37 1994", now),
            Some(Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 37).unwrap())
        );
        assert_eq!(
            parse_retry_after("2020-05-31T00:00:00Z", now),
            Some(Utc.with_ymd_and_hms(2020, 5, 31, 0, 0, 0).unwrap())
        );
        assert_eq!(
            parse_retry_after("2020-05-31T00:00:00", now),
            Some(Utc.with_ymd_and_hms(2020, 5, 31, 0, 0, 0).unwrap())
        );
        assert_eq!(
            parse_retry_after("2020-05-31T02:00:00+02:00", now),
            Some(Utc.with_ymd_and_hms(2020, 5, 31, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn rejects_garbage_and_negative_values() {
        let now = t0();
        for bad in [
            "",
            "  ",
            "-5",
            "1.5",
            "soon",
            "99999999999999999999999",
            "2020-13-01T00:00:00Z",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn next_midnight_is_the_following_utc_day() {
        assert_eq!(
            next_utc_midnight(t0()),
            Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
        );
        let midnight = Utc.with_ymd_and_hms(2026, 12, 31, 0, 0, 0).unwrap();
        assert_eq!(
            next_utc_midnight(midnight),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
    }

    proptest! {
        #[test]
        fn delta_seconds_round_trip(secs in 0u32..=u32::MAX) {
            let now = t0();
            prop_assert_eq!(
                parse_retry_after(&secs.to_string(), now),
                Some(now + chrono::Duration::seconds(i64::from(secs)))
            );
        }

        #[test]
        fn http_dates_round_trip(secs in 0i64..4_102_444_800i64) {
            let at = Utc.timestamp_opt(secs, 0).unwrap();
            let text = httpdate::fmt_http_date(std::time::SystemTime::from(at));
            prop_assert_eq!(parse_retry_after(&text, t0()), Some(at));
        }

        #[test]
        fn iso_dates_round_trip(secs in 0i64..4_102_444_800i64) {
            let at = Utc.timestamp_opt(secs, 0).unwrap();
            let text = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            prop_assert_eq!(parse_retry_after(&text, t0()), Some(at));
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
            let _ = parse_retry_after(&text, t0());
        }

        #[test]
        fn backoff_stays_within_the_capped_ceiling(
            retry in 0u32..64,
            base_ms in 0u64..2_000,
            cap_ms in 0u64..60_000,
            seed in any::<u64>(),
        ) {
            use rand::SeedableRng;
            let policy = RetryPolicy {
                max_attempts: 5,
                base: Duration::from_millis(base_ms),
                cap: Duration::from_millis(cap_ms),
                max_wait: Duration::from_secs(1),
            };
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let wait = policy.backoff(retry, &mut rng);
            prop_assert!(wait <= policy.cap);
            prop_assert!(wait <= policy.ceiling(retry));
        }
    }
}
