//! A week of one schedule, in its own zone's wall-clock time: when it is
//! open each day, which days are holidays or special, and where the clocks
//! change.

use crate::policy::hours::local_time;
use crate::policy::{Policy, Schedule, ScheduleId};
use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeDelta, TimeZone, Utc};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Week {
    /// The hours declaration.
    pub hours: String,
    pub zone: String,
    pub always: bool,
    pub days: Vec<Day>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Day {
    pub date: NaiveDate,
    /// `Mon` to `Sun`.
    pub weekday: String,
    /// Open spans in local time, `08:30-17:30`; a span that runs past
    /// midnight ends at `24:00` and goes on the next day from `00:00`.
    pub open: Vec<String>,
    /// A holiday's label, or `special hours`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The clocks change this day: `clocks go forward 1h at 02:00`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clocks: Option<String>,
}

/// The Monday of the week that holds `day`.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    let back = chrono::Days::new(u64::from(day.weekday().num_days_from_monday()));
    day.checked_sub_days(back).unwrap_or(day)
}

impl Week {
    /// `schedule` from `monday` to the Sunday after.
    pub fn of(schedule: &Schedule, monday: NaiveDate) -> Week {
        let days = (0..7)
            .filter_map(|i| monday.checked_add_days(chrono::Days::new(i)))
            .map(|date| day(schedule, date))
            .collect();
        Week {
            hours: schedule.name.clone(),
            zone: schedule.zone.name().to_string(),
            always: schedule.is_always(),
            days,
        }
    }
}

fn day(schedule: &Schedule, date: NaiveDate) -> Day {
    let start = schedule.start_of(date);
    let end = date
        .succ_opt()
        .map_or(start, |next| schedule.start_of(next));
    let mut open = Vec::new();
    let mut at = start;
    let mut opened = schedule.is_open(start).then_some(start);
    // Each open/closed edge within the day, in order.
    while let Some(edge) = schedule.next_change(at).filter(|&e| e < end) {
        match opened.take() {
            Some(from) => open.push(span(schedule, from, edge, date)),
            None => opened = Some(edge),
        }
        at = edge;
    }
    if let Some(from) = opened {
        open.push(span(schedule, from, end, date));
    }
    Day {
        date,
        weekday: date.format("%a").to_string(),
        open,
        note: schedule.note_on(date).map(str::to_string),
        clocks: clocks(schedule, start, end),
    }
}

/// `08:30-17:30`, in the schedule's local time; an end on the next day is
/// `24:00`.
fn span(schedule: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>, date: NaiveDate) -> String {
    let local = |at: DateTime<Utc>| local_time(at, schedule.zone);
    let from = local(from).map_or("00:00".into(), |l| l.format("%H:%M").to_string());
    let to = match local(to) {
        Some(l) if l.date() == date => l.format("%H:%M").to_string(),
        _ => "24:00".into(),
    };
    format!("{from}-{to}")
}

/// Where the day's UTC offset changes, said in the wall-clock time just
/// before it.
fn clocks(schedule: &Schedule, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<String> {
    let zone = schedule.zone;
    let offset = |at: DateTime<Utc>| zone.offset_from_utc_datetime(&at.naive_utc()).fix();
    let before = offset(start);
    let last = end.checked_sub_signed(TimeDelta::seconds(1)).unwrap_or(end);
    if offset(last) == before {
        return None;
    }
    // Offsets change on a quarter hour in every zone in use.
    let mut at = start;
    while at < end {
        let Some(next) = at.checked_add_signed(TimeDelta::minutes(15)) else {
            break;
        };
        let after = offset(next);
        if after != before {
            let shift = after.local_minus_utc() - before.local_minus_utc();
            let wall = (next.naive_utc() + TimeDelta::seconds(i64::from(before.local_minus_utc())))
                .format("%H:%M");
            let way = if shift > 0 { "forward" } else { "back" };
            return Some(format!("clocks go {way} {} at {wall}", amount(shift.abs())));
        }
        at = next;
    }
    None
}

fn amount(secs: i32) -> String {
    match (secs / 3600, secs % 3600 / 60) {
        (h, 0) => format!("{h}h"),
        (0, m) => format!("{m}m"),
        (h, m) => format!("{h}h{m:02}"),
    }
}

/// The instant a sample message is sent at, for a message about
/// `schedule`: the week's first closed moment (else the week's start), so
/// `{next_open}` names a real opening.
pub fn start(policy: &Policy, schedule: Option<ScheduleId>, monday: NaiveDate) -> DateTime<Utc> {
    let Some(schedule) = schedule.map(|s| policy.schedule(s)) else {
        let midnight = monday.and_time(chrono::NaiveTime::MIN);
        return policy
            .tenant()
            .zone
            .from_local_datetime(&midnight)
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&midnight), |t| t.to_utc());
    };
    let at = schedule.start_of(monday);
    match schedule.is_open(at) {
        true => schedule.next_change(at).unwrap_or(at),
        false => at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Days, Interval};

    fn office() -> Schedule {
        let mut s = Schedule::new("office".into(), chrono_tz::America::Los_Angeles);
        // Every day, and one that runs past midnight.
        s.add_weekly(
            Days(0b111_1111),
            Interval {
                start: 60,
                end: 180,
            },
        );
        s.add_weekly(
            Days(0b000_0001),
            Interval {
                start: 1320,
                end: 120,
            },
        );
        s
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_week_marks_where_the_clocks_change() {
        let spring = Week::of(&office(), monday_of(date("2026-03-08")));
        let sunday = &spring.days[6];
        assert_eq!(sunday.date, date("2026-03-08"));
        assert_eq!(
            sunday.clocks.as_deref(),
            Some("clocks go forward 1h at 02:00")
        );
        // 01:00-03:00 loses the hour that does not exist.
        assert_eq!(sunday.open, ["01:00-03:00"]);
        assert!(spring.days[..6].iter().all(|d| d.clocks.is_none()));

        let autumn = Week::of(&office(), monday_of(date("2026-11-01")));
        assert_eq!(
            autumn.days[6].clocks.as_deref(),
            Some("clocks go back 1h at 02:00")
        );
    }

    #[test]
    fn an_overnight_span_shows_on_both_days() {
        let week = Week::of(&office(), date("2026-06-01"));
        assert_eq!(week.days[0].open, ["01:00-03:00", "22:00-24:00"]);
        assert_eq!(week.days[1].open, ["00:00-03:00"]);
    }
}
