//! Timestamps: local `HH:MM:SS` for interval headers, RFC 3339 UTC for JSON,
//! and kernel monotonic nanoseconds turned into wall-clock time.

use std::sync::OnceLock;

use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

static LOCAL_OFFSET: OnceLock<UtcOffset> = OnceLock::new();

/// Reads the local UTC offset. Call once at startup while the process is
/// still single-threaded (the `time` crate refuses later on Linux).
pub fn init_local_offset() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

fn local_offset() -> UtcOffset {
    *LOCAL_OFFSET.get().unwrap_or(&UtcOffset::UTC)
}

/// `[HH:MM:SS]` header of interval reports, local time.
pub fn clock_header() -> String {
    let now = OffsetDateTime::now_utc().to_offset(local_offset());
    let fmt = format_description!("[hour]:[minute]:[second]");
    format!("[{}]", now.format(&fmt).unwrap_or_default())
}

/// `[HH:MM:SS]` (local time) of a report's RFC 3339 `time`: tables print
/// the time their report was built, so a replayed report prints the same
/// header. A time that does not parse gives the current one.
pub fn clock_header_at(rfc3339_time: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match OffsetDateTime::parse(rfc3339_time, &Rfc3339) {
        Ok(t) => {
            let fmt = format_description!("[hour]:[minute]:[second]");
            let local = t.to_offset(local_offset());
            format!("[{}]", local.format(&fmt).unwrap_or_default())
        }
        Err(_) => clock_header(),
    }
}

/// RFC 3339 UTC with exactly six fractional digits (fixed width for
/// tables): `2026-11-23T10:42:32.123456Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

/// Current time as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// Converts `bpf_ktime_get_ns()` (CLOCK_MONOTONIC) values to wall-clock time,
/// anchored once at startup.
#[derive(Clone, Copy, Debug)]
pub struct MonotonicClock {
    wall_at_anchor: OffsetDateTime,
    mono_at_anchor_ns: i128,
}

impl MonotonicClock {
    pub fn new() -> Self {
        let mono = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
            .map(|ts| ts.tv_sec() as i128 * 1_000_000_000 + ts.tv_nsec() as i128)
            .unwrap_or(0);
        Self {
            wall_at_anchor: OffsetDateTime::now_utc(),
            mono_at_anchor_ns: mono,
        }
    }

    /// Wall-clock time of a kernel monotonic timestamp.
    pub fn wall(&self, mono_ns: u64) -> OffsetDateTime {
        let delta = mono_ns as i128 - self.mono_at_anchor_ns;
        self.wall_at_anchor + Duration::nanoseconds(delta as i64)
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_microseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_123_456_789).unwrap();
        assert_eq!(rfc3339(t), "2026-11-18T11:06:40.123456Z");
        let round = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_100_000_000).unwrap();
        assert_eq!(rfc3339(round), "2026-11-18T11:06:40.100000Z");
        let header = clock_header_at(&rfc3339(round));
        let expected = round.to_offset(local_offset());
        assert_eq!(
            header,
            format!(
                "[{:02}:{:02}:{:02}]",
                expected.hour(),
                expected.minute(),
                expected.second()
            )
        );
        let clock = MonotonicClock::new();
        let a = clock.wall(1_000_000_000);
        let b = clock.wall(2_000_000_000);
        assert_eq!((b - a).whole_milliseconds(), 1000);
    }
}
