//! `hours office { zone ...; mon-fri 09:00-17:00; holiday 2026-12-25 }`

use super::Lowerer;
use crate::diag::Spanned;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{Days, Holidays, Hours, HoursRule, Interval};
use crate::syntax::document::Statement;

const EXAMPLE: &str = "hours office { mon-fri 09:00-17:00 }";
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
pub(super) const SETTINGS: &[&str] = &[
    "zone", "always", "holiday", "holidays", "special", "daily", "weekdays", "weekends", "mon",
    "tue", "wed", "thu", "fri", "sat", "sun",
];
const CALENDAR_EXAMPLE: &str = "holidays us_office { holiday 2026-12-25 \"Christmas Day\" }";

impl Lowerer {
    pub(crate) fn hours(&mut self, s: &Statement) -> Option<Hours> {
        let name = self.declared_name(s, EXAMPLE)?;
        self.no_more_values(s, 1, EXAMPLE);
        let mut hours = Hours {
            name,
            zone: None,
            rules: Vec::new(),
            span: s.span,
        };
        if !self.require_block(s, EXAMPLE) {
            return Some(hours);
        }
        let mut zone_seen = false;
        for rule in s.children() {
            let key = rule.key();
            if let Some(days) = parse_days(key) {
                let intervals = self
                    .some(rule, "09:00-17:00")
                    .iter()
                    .filter_map(|v| self.interval(v))
                    .collect();
                hours.rules.push(HoursRule::Weekly {
                    days: Spanned::new(days, rule.key.span),
                    intervals,
                });
                continue;
            }
            match key {
                "zone" if zone_seen => self.push(
                    Diagnostic::new(
                        Code::RepeatedSetting,
                        rule.key.span,
                        "`zone` is set twice in these hours",
                    )
                    .hint("hours have one zone"),
                ),
                "zone" => {
                    zone_seen = true;
                    hours.zone = self.zone(rule);
                }
                "always" => {
                    self.no_more_values(rule, 0, "always");
                    hours.rules.push(HoursRule::Always(rule.key.span));
                }
                "holiday" | "special" => hours.rules.extend(self.dated_day(rule)),
                "holidays" => {
                    let values = self.some(rule, "us_office");
                    let names: Vec<_> = values
                        .iter()
                        .filter_map(|v| self.name(v, "the name of a holidays declaration"))
                        .collect();
                    hours
                        .rules
                        .extend(names.into_iter().map(HoursRule::Calendar));
                }
                _ => {
                    let close_setting = crate::diag::did_you_mean(
                        key,
                        &["zone", "always", "holiday", "holidays", "special"],
                    );
                    let looks_like_days =
                        close_setting.is_none() && (key.contains('-') || key.len() == 3);
                    let (code, message, hint) = if looks_like_days {
                        (
                            Code::BadDays,
                            format!("`{key}` is not a day or a day range"),
                            "days are mon tue wed thu fri sat sun, a range such as mon-fri, or daily, weekdays, weekends".to_string(),
                        )
                    } else {
                        let hint = match crate::diag::did_you_mean(key, SETTINGS) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => "hours take days (mon-fri 09:00-17:00), always, holiday, special, holidays and zone".into(),
                        };
                        (
                            Code::UnknownSetting,
                            format!("unknown setting `{key}` in hours"),
                            hint,
                        )
                    };
                    self.push(Diagnostic::new(code, rule.key.span, message).hint(hint));
                }
            }
        }
        self.overlaps(&hours.rules);
        Some(hours)
    }

    /// `holidays NAME { holiday ...; special ... }`: a calendar of dated
    /// days that several `hours` name.
    pub(crate) fn holidays(&mut self, s: &Statement) -> Option<Holidays> {
        let name = self.declared_name(s, CALENDAR_EXAMPLE)?;
        self.no_more_values(s, 1, CALENDAR_EXAMPLE);
        let mut holidays = Holidays {
            name,
            days: Vec::new(),
            span: s.span,
        };
        if !self.require_block(s, CALENDAR_EXAMPLE) {
            return Some(holidays);
        }
        for rule in s.children() {
            match rule.key() {
                "holiday" | "special" => holidays.days.extend(self.dated_day(rule)),
                key => {
                    let hint = match crate::diag::did_you_mean(key, &["holiday", "special"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "a holidays block lists `holiday 2026-12-25 \"Christmas Day\"` and `special 2026-12-24 09:00-12:00` days".into(),
                    };
                    self.push(
                        Diagnostic::new(
                            Code::UnknownSetting,
                            rule.key.span,
                            format!("unknown setting `{key}` in holidays"),
                        )
                        .hint(hint),
                    );
                }
            }
        }
        self.overlaps(&holidays.days);
        Some(holidays)
    }

    /// `holiday DATE ["label"]` or `special DATE INTERVALS`.
    fn dated_day(&mut self, rule: &Statement) -> Option<HoursRule> {
        if rule.key() == "holiday" {
            let values = self.some(rule, "2026-12-25");
            let date = self.date(values.first()?)?;
            let label = match values.get(1) {
                Some(v) => self.string(v, "a label in quotes"),
                None => None,
            };
            self.no_more_values(rule, 2, "holiday 2026-12-25 \"Christmas\"");
            return Some(HoursRule::Holiday { date, label });
        }
        let values = self.some(rule, "2026-12-24 09:00-12:00");
        let date = self.date(values.first()?)?;
        if values.len() < 2 {
            self.push(
                Diagnostic::new(
                    Code::WrongArity,
                    rule.span,
                    "a special day needs its opening hours",
                )
                .hint("write `special 2026-12-24 09:00-12:00`, or `holiday 2026-12-24` to close all day"),
            );
            return None;
        }
        let intervals = values[1..]
            .iter()
            .filter_map(|v| self.interval(v))
            .collect();
        Some(HoursRule::Special { date, intervals })
    }

    /// Reports two intervals that overlap on one weekday or one dated day.
    fn overlaps(&mut self, rules: &[HoursRule]) {
        for rule in rules {
            if let HoursRule::Special { date, intervals } = rule {
                let mut spans: Vec<(u16, u16, &Spanned<Interval>)> = intervals
                    .iter()
                    .map(|i| {
                        (
                            i.value.start,
                            if i.value.is_overnight() {
                                1440
                            } else {
                                i.value.end
                            },
                            i,
                        )
                    })
                    .collect();
                spans.sort_by_key(|(start, end, _)| (*start, *end));
                if let Some(pair) = spans.windows(2).find(|p| p[1].0 < p[0].1) {
                    self.push(
                        Diagnostic::new(
                            Code::OverlappingHours,
                            pair[1].2.span,
                            format!("these hours overlap on {}", date.value),
                        )
                        .related(pair[0].2.span, "the other interval is")
                        .hint("merge the two intervals into one"),
                    );
                }
            }
        }
        for day in 0..7u8 {
            let mut spans: Vec<(u16, u16, &Spanned<Interval>)> = Vec::new();
            for rule in rules {
                if let HoursRule::Weekly { days, intervals } = rule {
                    for interval in intervals {
                        let Interval { start, end } = interval.value;
                        if days.value.0 & (1 << day) != 0 {
                            let own_end = if interval.value.is_overnight() {
                                1440
                            } else {
                                end
                            };
                            spans.push((start, own_end, interval));
                        }
                        let yesterday = (day + 6) % 7;
                        if interval.value.is_overnight()
                            && days.value.0 & (1 << yesterday) != 0
                            && end > 0
                        {
                            spans.push((0, end, interval));
                        }
                    }
                }
            }
            spans.sort_by_key(|(start, end, _)| (*start, *end));
            for pair in spans.windows(2) {
                let ((_, a_end, a), (b_start, _, b)) = (pair[0], pair[1]);
                if b_start < a_end {
                    self.push(
                        Diagnostic::new(
                            Code::OverlappingHours,
                            b.span,
                            format!("these hours overlap on {}", full_day(day)),
                        )
                        .related(a.span, "the other interval is")
                        .hint("merge the two intervals into one"),
                    );
                    return;
                }
            }
        }
    }
}

/// A day key: `mon`, `mon-fri` (ranges may wrap: `fri-mon`), `daily`,
/// `weekdays`, `weekends`.
pub fn parse_days(key: &str) -> Option<Days> {
    let index = |d: &str| DAYS.iter().position(|x| *x == d);
    match key {
        "daily" => return Some(Days(0b111_1111)),
        "weekdays" => return Some(Days(0b001_1111)),
        "weekends" => return Some(Days(0b110_0000)),
        _ => {}
    }
    if let Some(i) = index(key) {
        return Some(Days(1 << i));
    }
    let (a, b) = key.split_once('-')?;
    let (a, b) = (index(a)?, index(b)?);
    let mut bits = 0u8;
    let mut i = a;
    loop {
        bits |= 1 << i;
        if i == b {
            break;
        }
        i = (i + 1) % 7;
    }
    Some(Days(bits))
}

fn full_day(index: u8) -> &'static str {
    [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][usize::from(index)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_keys() {
        assert_eq!(parse_days("mon-fri"), Some(Days(0b001_1111)));
        assert_eq!(parse_days("fri-mon"), Some(Days(0b111_0001)));
        assert_eq!(parse_days("sun"), Some(Days(0b100_0000)));
        assert_eq!(parse_days("mon-xyz"), None);
    }
}
