//! Dates and times as a language writes them: `{next_open}` in an inbox's
//! `language`, with the conventions of its locale (CLDR data through ICU4X:
//! month and weekday names, field order, a 12- or 24-hour clock), or the
//! tenant's `clock` when it says otherwise.
//!
//! A formatter is built once, when the policy compiles, and shared; the
//! engine only formats with it.

use crate::vocab::Clock;
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use icu_datetime::fieldsets::{MDE, MDET};
use icu_datetime::input::{Date, DateTime as IcuDateTime, Time};
use icu_datetime::preferences::{CalendarAlgorithm, HourCycle};
use icu_datetime::{DateTimeFormatter, DateTimeFormatterPreferences};
use icu_locale_core::Locale;
use serde::{Serialize, Serializer};
use std::sync::Arc;

/// A language's way of writing a weekday, a date and a time.
#[derive(Clone)]
pub struct Dates {
    /// The BCP 47 tag, as the policy writes it (`es-MX`).
    tag: String,
    clock: Option<Clock>,
    formatter: Arc<DateTimeFormatter<MDET>>,
}

/// Why a language cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LanguageError {
    #[error("`{0}` is not a BCP 47 language tag")]
    NotATag(String),
    #[error("no date formats for `{0}`")]
    NoData(String),
}

impl Dates {
    /// The formats of `tag` (BCP 47: `es`, `es-MX`, `fr-CA`), on `clock` if
    /// given, else on the locale's own.
    pub fn new(tag: &str, clock: Option<Clock>) -> Result<Dates, LanguageError> {
        let locale = Locale::try_from_str(tag).map_err(|_| LanguageError::NotATag(tag.into()))?;
        let mut prefs = DateTimeFormatterPreferences::from(&locale);
        if let Some(clock) = clock {
            prefs.hour_cycle = Some(match clock {
                Clock::H12 => HourCycle::Clock12,
                Clock::H24 => HourCycle::Clock24,
            });
        }
        // The hours are Gregorian dates; a locale's own calendar (Buddhist
        // in `th`, Persian in `fa`) would print another year.
        prefs.calendar_algorithm = Some(CalendarAlgorithm::Gregory);
        let fields = MDE::medium().with_time_hm();
        let formatter = DateTimeFormatter::try_new(prefs, fields)
            .map_err(|_| LanguageError::NoData(tag.into()))?;
        Ok(Dates {
            tag: tag.into(),
            clock,
            formatter: Arc::new(formatter),
        })
    }

    /// The language tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// `at` in `zone`, as the language writes a weekday, date and time
    /// (`mar, 22 dic, 7:30` in `es`).
    pub fn format(&self, at: DateTime<Utc>, zone: Tz) -> String {
        let local = at.with_timezone(&zone).naive_local();
        let fields = (
            Date::try_new_iso(local.year(), local.month() as u8, local.day() as u8),
            Time::try_new(local.hour() as u8, local.minute() as u8, 0, 0),
        );
        match fields {
            (Ok(date), Ok(time)) => self
                .formatter
                .format(&IcuDateTime { date, time })
                .to_string(),
            // Outside the years ICU4X takes (±9999), which hours never
            // reach: the ISO form still says when.
            _ => local.format("%Y-%m-%d %H:%M").to_string(),
        }
    }
}

impl std::fmt::Debug for Dates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dates")
            .field("tag", &self.tag)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Serialize for Dates {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        // Tuesday 2026-12-22 07:30 in Denver.
        Utc.with_ymd_and_hms(2026, 12, 22, 14, 30, 0).unwrap()
    }

    #[test]
    fn a_language_writes_its_own_names_and_clock() {
        let denver = chrono_tz::America::Denver;
        let es = Dates::new("es", None).unwrap().format(at(), denver);
        assert!(es.contains("dic"), "{es}");
        assert!(es.contains("7:30"), "{es}");
        assert!(!es.contains("Dec"), "{es}");
        let us = Dates::new("en-US", None).unwrap().format(at(), denver);
        assert!(us.contains("Dec") && us.contains("AM"), "{us}");
        let us24 = Dates::new("en-US", Some(Clock::H24))
            .unwrap()
            .format(at(), denver);
        assert!(us24.contains("07:30") && !us24.contains("AM"), "{us24}");
        let fr = Dates::new("fr-CA", None).unwrap().format(at(), denver);
        assert!(fr.contains("déc"), "{fr}");
    }

    #[test]
    fn a_bad_tag_is_an_error() {
        assert!(matches!(
            Dates::new("spanish!", None),
            Err(LanguageError::NotATag(_))
        ));
        assert!(Dates::new("es_MX", None).is_err());
    }
}
