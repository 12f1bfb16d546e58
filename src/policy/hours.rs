//! Compiled schedules: is an inbox open at an instant, and when does that
//! next change.
//!
//! Hours are written in local wall-clock time. An instant is open when its
//! local time falls in an interval, so:
//! - in a spring-forward gap, an interval that starts inside the gap opens at
//!   the first instant after it (02:30-04:00 opens at 03:00);
//! - in a fall-back fold, a local time that happens twice is open both times.
//!
//! A `special` day or `holiday` replaces that date's own weekly intervals; an
//! overnight interval from the day before still runs into it.
//!
//! Every function here answers for any `DateTime<Utc>`, never panicking: an
//! instant whose local time chrono cannot represent (within a day of its
//! range's ends) is closed, and nothing changes after it.

use crate::vocab::{Days, Interval};
use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// One hours declaration, resolved.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub name: String,
    pub zone: Tz,
    /// Intervals per weekday, Monday first, as written (overnight ones end the
    /// next day).
    weekly: [Vec<Interval>; 7],
    /// Dates whose own intervals replace the weekly ones (empty: closed).
    dated: BTreeMap<NaiveDate, Vec<Interval>>,
    /// What the policy calls a dated day: a holiday's label, say.
    notes: BTreeMap<NaiveDate, String>,
    always: bool,
}

/// How far ahead `next_change` looks before it concludes nothing changes.
const HORIZON_DAYS: u64 = 400;

impl Schedule {
    pub fn new(name: String, zone: Tz) -> Self {
        Schedule {
            name,
            zone,
            weekly: Default::default(),
            dated: BTreeMap::new(),
            notes: BTreeMap::new(),
            always: false,
        }
    }

    pub fn add_weekly(&mut self, days: Days, interval: Interval) {
        for (i, day) in self.weekly.iter_mut().enumerate() {
            if days.0 & (1 << i) != 0 {
                day.push(interval);
            }
        }
    }

    pub fn add_dated(&mut self, date: NaiveDate, intervals: &[Interval]) {
        self.dated
            .entry(date)
            .or_default()
            .extend_from_slice(intervals);
    }

    /// Names a dated day ("holiday Thanksgiving"); the first name given stays.
    pub fn note(&mut self, date: NaiveDate, note: String) {
        self.notes.entry(date).or_insert(note);
    }

    /// What the policy calls this date, if it is a holiday or special day.
    pub fn note_on(&self, date: NaiveDate) -> Option<&str> {
        self.notes.get(&date).map(String::as_str)
    }

    /// Whether the schedule is `always` open.
    pub fn is_always(&self) -> bool {
        self.always
    }

    /// The instant a local date's midnight names (or the first instant
    /// after it, where a gap swallows midnight).
    pub fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        self.instant(date, 0)
    }

    pub fn set_always(&mut self) {
        self.always = true;
    }

    /// Whether the schedule is ever open at all.
    pub fn ever_open(&self) -> bool {
        self.always
            || self.weekly.iter().any(|d| !d.is_empty())
            || self.dated.values().any(|d| !d.is_empty())
    }

    /// The intervals that belong to one calendar date.
    fn intervals_on(&self, date: NaiveDate) -> &[Interval] {
        match self.dated.get(&date) {
            Some(intervals) => intervals,
            None => &self.weekly[date.weekday().num_days_from_monday() as usize],
        }
    }

    /// Whether the schedule is open at this instant.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        if self.always {
            return true;
        }
        local_time(at, self.zone).is_some_and(|local| self.open_at_local(local))
    }

    fn open_at_local(&self, local: NaiveDateTime) -> bool {
        let date = local.date();
        let minute = minutes_of(local);
        let today = self.intervals_on(date).iter().any(|i| {
            if i.is_overnight() {
                minute >= i.start
            } else {
                (i.start..i.end).contains(&minute)
            }
        });
        today
            || date.pred_opt().is_some_and(|yesterday| {
                self.intervals_on(yesterday)
                    .iter()
                    .any(|i| i.is_overnight() && minute < i.end)
            })
    }

    /// The first instant after `at` at which open/closed flips, if any within
    /// about a year. The engine caches a schedule's state until then.
    pub fn next_change(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.always {
            return None;
        }
        let open = self.is_open(at);
        let local = local_time(at, self.zone)?;
        let mut date = local.date().pred_opt()?;
        let last = local
            .date()
            .checked_add_days(chrono::Days::new(HORIZON_DAYS))
            .unwrap_or(NaiveDate::MAX);
        while date <= last {
            let mut edges: Vec<DateTime<Utc>> = Vec::new();
            for i in self.intervals_on(date) {
                let next_day = date.succ_opt()?;
                let end_date = if i.is_overnight() || i.end == 1440 {
                    next_day
                } else {
                    date
                };
                let end_min = if i.end == 1440 { 0 } else { i.end };
                edges.push(self.instant(date, i.start));
                edges.push(self.instant(end_date, end_min));
            }
            edges.sort();
            for edge in edges {
                if edge > at && self.is_open(edge) != open {
                    return Some(edge);
                }
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// The next instant at or after `at` when the schedule is open.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(at) {
            return Some(at);
        }
        self.next_change(at)
    }

    /// The instant a local wall-clock time names: the earlier of a fold, or the
    /// end of a gap.
    fn instant(&self, date: NaiveDate, minute: u16) -> DateTime<Utc> {
        let naive = date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0);
        let Some(naive) = naive else {
            return Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN));
        };
        match self.zone.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
            LocalResult::None => {
                // In a gap: the first minute after it.
                let mut probe = naive;
                for _ in 0..(24 * 60) {
                    let Some(next) = probe.checked_add_signed(TimeDelta::minutes(1)) else {
                        break;
                    };
                    probe = next;
                    if let Some(t) = self.zone.from_local_datetime(&probe).earliest() {
                        return t.with_timezone(&Utc);
                    }
                }
                Utc.from_utc_datetime(&naive)
            }
        }
    }
}

/// An instant's wall-clock time in `zone`; `None` where the zone's offset
/// would take it past the ends of chrono's range (`with_timezone` then
/// `naive_local` would panic there).
pub fn local_time(at: DateTime<Utc>, zone: Tz) -> Option<NaiveDateTime> {
    let utc = at.naive_utc();
    utc.checked_add_offset(zone.offset_from_utc_datetime(&utc).fix())
}

fn minutes_of(local: NaiveDateTime) -> u16 {
    use chrono::Timelike;
    (local.hour() * 60 + local.minute()) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn office() -> Schedule {
        let mut s = Schedule::new("office".into(), chrono_tz::America::New_York);
        s.add_weekly(
            Days(0b001_1111),
            Interval {
                start: 540,
                end: 1020,
            },
        );
        s
    }

    #[test]
    fn weekday_hours_in_zone() {
        let s = office();
        // Monday 2026-03-02 09:30 EST = 14:30 UTC.
        assert!(s.is_open(utc("2026-03-02T14:30:00Z")));
        assert!(!s.is_open(utc("2026-03-02T13:59:00Z")));
        // Saturday.
        assert!(!s.is_open(utc("2026-03-07T15:00:00Z")));
    }

    #[test]
    fn dst_moves_the_utc_opening() {
        let s = office();
        // Before DST (EST, UTC-5) 09:00 is 14:00 UTC; after (EDT) 13:00 UTC.
        assert_eq!(
            s.next_change(utc("2026-03-06T23:00:00Z")),
            Some(utc("2026-03-09T13:00:00Z"))
        );
    }

    #[test]
    fn overnight_spans_midnight() {
        let mut s = Schedule::new("night".into(), chrono_tz::UTC);
        s.add_weekly(
            Days(0b000_0001),
            Interval {
                start: 22 * 60,
                end: 120,
            },
        );
        assert!(s.is_open(utc("2026-03-02T23:00:00Z"))); // Monday 23:00
        assert!(s.is_open(utc("2026-03-03T01:59:00Z"))); // Tuesday 01:59
        assert!(!s.is_open(utc("2026-03-03T02:00:00Z")));
        assert_eq!(
            s.next_change(utc("2026-03-03T01:00:00Z")),
            Some(utc("2026-03-03T02:00:00Z"))
        );
    }

    #[test]
    fn gap_opens_after_spring_forward() {
        let mut s = Schedule::new("gap".into(), chrono_tz::America::New_York);
        // Sunday 2026-03-08: 02:00-03:00 local does not exist.
        s.add_weekly(
            Days(0b100_0000),
            Interval {
                start: 150,
                end: 240,
            },
        );
        assert_eq!(
            s.next_change(utc("2026-03-08T05:00:00Z")),
            Some(utc("2026-03-08T07:00:00Z")) // 03:00 EDT
        );
        assert!(s.is_open(utc("2026-03-08T07:30:00Z")));
    }

    /// At chrono's own limits, and a day inside them, nothing panics.
    #[test]
    fn any_instant_is_answered() {
        let mut s = office();
        s.add_dated(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(), &[]);
        let day = TimeDelta::days(1);
        for at in [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MIN_UTC + day,
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MAX_UTC - day,
            DateTime::<Utc>::UNIX_EPOCH,
        ] {
            let _ = s.is_open(at);
            let _ = s.next_change(at);
            let _ = s.next_open(at);
        }
        assert!(!s.is_open(DateTime::<Utc>::MIN_UTC));
        assert_eq!(s.next_change(DateTime::<Utc>::MIN_UTC), None);
    }

    #[test]
    fn holiday_closes_a_day() {
        let mut s = office();
        s.add_dated(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(), &[]);
        assert!(!s.is_open(utc("2026-12-25T15:00:00Z")));
        assert!(s.is_open(utc("2026-12-24T15:00:00Z")));
    }
}
