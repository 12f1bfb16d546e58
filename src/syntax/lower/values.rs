//! Reading one statement's values: each reader reports a precise error for a
//! value of the wrong kind or out of range, and returns `None` after it.

use super::Lowerer;
use crate::diag::{Code, Diagnostic};
use crate::diag::{Span, Spanned};
use crate::syntax::ast::{Channel, Clock, Duration, Interval, Keyword, Message, Name};
use crate::syntax::document::{Statement, Value, ValueKind};
use chrono::NaiveDate;

/// The longest duration any setting takes.
pub const MAX_DURATION_SECS: u64 = 366 * 24 * 3600;

/// The placeholders a message may use.
pub const PLACEHOLDERS: &[&str] = &[
    "customer_name",
    "customer_number",
    "inbox",
    "agent",
    "business_number",
    "next_open",
    "tenant",
];

/// What a placeholder writes, for hovers and completions.
pub fn placeholder_meaning(name: &str) -> Option<&'static str> {
    Some(match name {
        "customer_name" => "the customer's name, when the event carries one",
        "customer_number" => "the number the customer texts from",
        "inbox" => "the inbox's display name (its name if it sets none)",
        "agent" => "the agent the message speaks for (a direct number's owner, a session's agent)",
        "business_number" => "the business number the customer texted",
        "next_open" => {
            "when the inbox (or the deflection's hours) opens next, in the tenant's zone \
             and the inbox's language; `soon` when no opening is in sight"
        }
        "tenant" => "the tenant's display name",
        _ => return None,
    })
}

impl Lowerer {
    /// The statement's single value, or an error naming what was expected.
    pub(crate) fn one<'s>(&mut self, s: &'s Statement, expected: &str) -> Option<&'s Value> {
        match s.values.as_slice() {
            [v] => Some(v),
            _ if s.damaged => None,
            [] => {
                self.push(
                    Diagnostic::new(
                        Code::WrongArity,
                        s.key.span,
                        format!("`{}` needs a value", s.key()),
                    )
                    .hint(format!("for example: `{} {expected}`", s.key())),
                );
                None
            }
            [_, extra @ ..] => {
                let span = extra[0].span().to(extra[extra.len() - 1].span());
                self.push(
                    Diagnostic::new(
                        Code::WrongArity,
                        span,
                        format!("`{}` takes one value", s.key()),
                    )
                    .hint(format!("for example: `{} {expected}`", s.key())),
                );
                None
            }
        }
    }

    /// The statement's values, reporting an empty list.
    pub(crate) fn some<'s>(&mut self, s: &'s Statement, expected: &str) -> &'s [Value] {
        if s.values.is_empty() && !s.damaged {
            self.push(
                Diagnostic::new(
                    Code::WrongArity,
                    s.key.span,
                    format!("`{}` needs at least one value", s.key()),
                )
                .hint(format!("for example: `{} {expected}`", s.key())),
            );
        }
        &s.values
    }

    fn wrong(&mut self, v: &Value, expected: &str, code: Code, hint: &str) {
        self.push(
            Diagnostic::new(
                code,
                v.span(),
                format!(
                    "expected {expected}, found {} `{}`",
                    v.kind.describe(),
                    v.text.value
                ),
            )
            .hint(hint),
        );
    }

    pub(crate) fn name(&mut self, v: &Value, what: &str) -> Option<Name> {
        if v.kind == ValueKind::Name {
            return Some(v.text.clone());
        }
        self.wrong(
            v,
            what,
            Code::WrongValue,
            "names start with a letter and hold letters, digits and `_`",
        );
        None
    }

    pub(crate) fn names(&mut self, s: &Statement, what: &str) -> Vec<Name> {
        let values = self.some(s, what);
        values.iter().filter_map(|v| self.name(v, what)).collect()
    }

    pub(crate) fn string(&mut self, v: &Value, what: &str) -> Option<Spanned<String>> {
        if v.kind == ValueKind::String {
            return Some(v.text.clone());
        }
        self.wrong(v, what, Code::WrongValue, "put text in double quotes");
        None
    }

    /// A message: a template name, or text in quotes. Placeholders in the
    /// text are checked here.
    pub(crate) fn message(&mut self, s: &Statement) -> Option<Message> {
        let v = self.one(s, "\"...\"")?;
        match v.kind {
            ValueKind::String => {
                self.placeholders(&v.text);
                Some(Message::Text(v.text.clone()))
            }
            ValueKind::Name => Some(Message::Template(v.text.clone())),
            _ => {
                self.wrong(
                    v,
                    "a message",
                    Code::WrongValue,
                    "write the text in double quotes, or name a template",
                );
                None
            }
        }
    }

    /// Checks `{placeholder}`s in a text; `{{` and `}}` are literal braces.
    pub(crate) fn placeholders(&mut self, text: &Spanned<String>) {
        let s = text.value.as_str();
        let mut rest = s;
        let mut offset = 0;
        while let Some(open) = rest.find('{') {
            if rest[open..].starts_with("{{") {
                offset += open + 2;
                rest = &rest[open + 2..];
                continue;
            }
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let inside = &rest[open + 1..open + close];
            // `{customer_name|there}`: the fallback is any text but braces.
            let (name, fallback) = inside
                .split_once('|')
                .map_or((inside, None), |(n, f)| (n, Some(f)));
            if name == "customer_name" && fallback.is_none() {
                self.push(
                    Diagnostic::new(
                        Code::NameWithoutFallback,
                        placeholder_span(text, offset + open, close + 1),
                        "`{customer_name}` is empty for a customer no event names",
                    )
                    .hint("give it a fallback, as in `{customer_name|there}`, or write `{customer_name|}` to keep it empty"),
                );
            }
            if !PLACEHOLDERS.contains(&name) {
                let mut d = Diagnostic::new(
                    Code::UnknownPlaceholder,
                    placeholder_span(text, offset + open, close + 1),
                    format!("unknown placeholder `{{{name}}}`"),
                );
                d = match crate::diag::did_you_mean(name, PLACEHOLDERS) {
                    Some(p) => d.hint(format!("did you mean `{{{p}}}`?")),
                    None => d.hint(format!(
                        "messages may use {}, each with a fallback for no value as in `{{customer_name|there}}`; write `{{{{` for a literal brace",
                        PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{p}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.push(d);
            }
            offset += open + close + 1;
            rest = &s[offset..];
        }
    }

    pub(crate) fn duration(&mut self, v: &Value) -> Option<Spanned<Duration>> {
        const HINT: &str = "write a number and a unit: 90s, 30m, 2h, 14d, 1w, or 1h30m";
        let secs = match v.kind {
            ValueKind::Duration => parse_duration(&v.text.value),
            _ => None,
        };
        let Some(secs) = secs else {
            let message = match v.kind {
                ValueKind::Integer => format!("`{}` has no unit", v.text.value),
                _ => format!("`{}` is not a duration", v.text.value),
            };
            self.push(Diagnostic::new(Code::BadDuration, v.span(), message).hint(HINT));
            return None;
        };
        if secs == 0 {
            self.push(
                Diagnostic::new(
                    Code::BadDuration,
                    v.span(),
                    "a duration must be longer than zero",
                )
                .hint(HINT),
            );
            return None;
        }
        if secs > MAX_DURATION_SECS {
            self.push(
                Diagnostic::new(
                    Code::BadDuration,
                    v.span(),
                    format!("`{}` is longer than a year", v.text.value),
                )
                .hint("durations run up to 366d"),
            );
            return None;
        }
        Some(Spanned::new(Duration(secs), v.span()))
    }

    pub(crate) fn one_duration(&mut self, s: &Statement) -> Option<Spanned<Duration>> {
        let v = self.one(s, "30m")?;
        self.duration(v)
    }

    /// A phone number in E.164 form: `+`, a country code, at most 15 digits.
    pub(crate) fn phone(&mut self, v: &Value) -> Option<Spanned<String>> {
        let text = v.text.value.as_str();
        let digits = text.strip_prefix('+').unwrap_or(text);
        let well_formed = v.kind == ValueKind::Phone
            && (8..=15).contains(&digits.len())
            && !digits.starts_with('0');
        if well_formed {
            return Some(v.text.clone());
        }
        let cleaned: String = text.chars().filter(char::is_ascii_digit).collect();
        let hint = if !cleaned.is_empty() && !text.starts_with('+') && cleaned.len() == 10 {
            format!("write it with `+` and the country code, e.g. +1{cleaned}")
        } else if !cleaned.is_empty() && cleaned.len() <= 15 && !cleaned.starts_with('0') {
            format!("write it as `+` and digits only: +{cleaned}")
        } else {
            "E.164 is `+`, the country code and the number: 8 to 15 digits, e.g. +14155550100"
                .to_string()
        };
        self.push(
            Diagnostic::new(
                Code::NotE164,
                v.span(),
                format!("`{text}` is not an E.164 phone number"),
            )
            .hint(hint),
        );
        None
    }

    pub(crate) fn interval(&mut self, v: &Value) -> Option<Spanned<Interval>> {
        if v.kind != ValueKind::TimeRange {
            self.wrong(
                v,
                "a time range",
                Code::WrongValue,
                "write opening and closing time as 09:00-17:00 (24-hour clock)",
            );
            return None;
        }
        let (a, b) = v.text.value.split_once('-')?;
        let at = v.span().start;
        let start = self.clock(a, Span::new(at, at + a.len()), false)?;
        let end = self.clock(b, Span::new(at + a.len() + 1, v.span().end), true)?;
        if start == end {
            self.push(
                Diagnostic::new(
                    Code::EmptyInterval,
                    v.span(),
                    format!("`{}` opens and closes at the same time", v.text.value),
                )
                .hint("for a whole day write 00:00-24:00, or `always` for 24/7"),
            );
            return None;
        }
        Some(Spanned::new(Interval { start, end }, v.span()))
    }

    fn clock(&mut self, text: &str, span: Span, is_end: bool) -> Option<u16> {
        let (h, m) = text.split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        let minutes = h * 60 + m;
        if m > 59 || h > 24 || (h == 24 && (m != 0 || !is_end)) {
            self.push(
                Diagnostic::new(
                    Code::ImpossibleTime,
                    span,
                    format!("`{text}` is not a time of day"),
                )
                .hint("hours run 00-23 and minutes 00-59; 24:00 may end a range"),
            );
            return None;
        }
        Some(minutes)
    }

    pub(crate) fn date(&mut self, v: &Value) -> Option<Spanned<NaiveDate>> {
        if v.kind != ValueKind::Date {
            self.wrong(
                v,
                "a date",
                Code::BadDate,
                "write dates as YYYY-MM-DD, e.g. 2026-12-25",
            );
            return None;
        }
        match NaiveDate::parse_from_str(&v.text.value, "%Y-%m-%d") {
            Ok(date) => Some(Spanned::new(date, v.span())),
            Err(_) => {
                self.push(
                    Diagnostic::new(
                        Code::BadDate,
                        v.span(),
                        format!("{} is not a date on the calendar", v.text.value),
                    )
                    .hint("check the month and the day"),
                );
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, s: &Statement) -> Option<Spanned<bool>> {
        let v = self.one(s, "on")?;
        let value = match v.text.value.as_str() {
            "on" | "yes" | "true" => true,
            "off" | "no" | "false" => false,
            _ => {
                self.wrong(v, "on or off", Code::WrongValue, "write `on` or `off`");
                return None;
            }
        };
        Some(Spanned::new(value, v.span()))
    }

    pub(crate) fn count(&mut self, v: &Value, min: u32, max: u32) -> Option<Spanned<u32>> {
        let n = match v.kind {
            ValueKind::Integer => v.text.value.parse::<u32>().ok(),
            _ => {
                self.wrong(
                    v,
                    "a whole number",
                    Code::WrongValue,
                    "write digits, e.g. 3",
                );
                return None;
            }
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(Spanned::new(n, v.span())),
            _ => {
                self.push(
                    Diagnostic::new(
                        Code::BadNumber,
                        v.span(),
                        format!("{} is out of range", v.text.value),
                    )
                    .hint(format!("use a number from {min} to {max}")),
                );
                None
            }
        }
    }

    pub(crate) fn one_count(&mut self, s: &Statement, min: u32, max: u32) -> Option<Spanned<u32>> {
        let v = self.one(s, &min.max(1).to_string())?;
        self.count(v, min, max)
    }

    /// Keywords as customers type them: names, words or quoted text,
    /// normalised to upper case with single spaces.
    pub(crate) fn keywords(&mut self, s: &Statement) -> Vec<Keyword> {
        let values = self.some(s, "START");
        let mut out = Vec::new();
        for v in values {
            let normal = normalize_keyword(&v.text.value);
            if normal.is_empty() {
                self.wrong(
                    v,
                    "a keyword",
                    Code::WrongValue,
                    "a keyword is a word customers text, e.g. START",
                );
                continue;
            }
            out.push(Spanned::new(normal, v.span()));
        }
        out
    }

    pub(crate) fn channel(&mut self, v: &Value) -> Option<Spanned<Channel>> {
        let channel = match v.text.value.to_ascii_lowercase().as_str() {
            "sms" => Channel::Sms,
            "mms" => Channel::Mms,
            "whatsapp" => Channel::Whatsapp,
            _ => {
                self.push(
                    Diagnostic::new(
                        Code::UnknownChannel,
                        v.span(),
                        format!("unknown channel `{}`", v.text.value),
                    )
                    .hint("channels are sms, mms and whatsapp"),
                );
                return None;
            }
        };
        Some(Spanned::new(channel, v.span()))
    }

    /// An IANA time zone such as America/New_York.
    pub(crate) fn zone(&mut self, s: &Statement) -> Option<Spanned<String>> {
        let v = self.one(s, "America/New_York")?;
        let text = v.text.value.as_str();
        if let Ok(zone) = text.parse::<chrono_tz::Tz>() {
            if let Some(message) = super::zones::not_a_region(text, zone) {
                self.push(
                    Diagnostic::new(Code::ZoneWithoutRegion, v.span(), message)
                        .hint(super::zones::hint(text)),
                );
            }
            return Some(v.text.clone());
        }
        let close = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| tz.name())
            .find(|name| name.eq_ignore_ascii_case(text))
            .or_else(|| super::zones::region_for(text));
        let hint = match close {
            Some(name) => format!("did you mean `{name}`?"),
            None => "use an IANA zone name such as America/New_York, Europe/London or UTC".into(),
        };
        self.push(
            Diagnostic::new(
                Code::UnknownZone,
                v.span(),
                format!("unknown time zone `{text}`"),
            )
            .hint(hint),
        );
        None
    }

    /// A BCP 47 language tag such as `es`, `es-MX` or `fr-CA`.
    pub(crate) fn language(&mut self, s: &Statement) -> Option<Spanned<String>> {
        let v = self.one(s, "es-MX")?;
        let text = v.text.value.as_str();
        if icu_locale_core::Locale::try_from_str(text).is_ok() {
            return Some(v.text.clone());
        }
        let dashed = text.replace('_', "-");
        let hint = match icu_locale_core::Locale::try_from_str(&dashed) {
            Ok(_) if dashed != text => format!("BCP 47 tags join their parts with `-`: `{dashed}`"),
            _ => "write a BCP 47 language tag: es, es-MX, fr-CA, en-GB".to_string(),
        };
        self.push(
            Diagnostic::new(
                Code::UnknownLanguage,
                v.span(),
                format!("`{text}` is not a language tag"),
            )
            .hint(hint),
        );
        None
    }

    /// `12h` or `24h`.
    pub(crate) fn clock_setting(&mut self, s: &Statement) -> Option<Spanned<Clock>> {
        let v = self.one(s, "24h")?;
        let clock = match v.text.value.as_str() {
            "12h" => Clock::H12,
            "24h" => Clock::H24,
            other => {
                self.push(
                    Diagnostic::new(
                        Code::WrongValue,
                        v.span(),
                        format!("`{other}` is not a clock"),
                    )
                    .hint("write `clock 12h` (7:30 PM) or `clock 24h` (19:30)"),
                );
                return None;
            }
        };
        Some(Spanned::new(clock, v.span()))
    }

    /// An ISO 3166 alpha-2 country code such as US.
    pub(crate) fn country(&mut self, s: &Statement) -> Option<Spanned<String>> {
        let v = self.one(s, "US")?;
        let text = v.text.value.as_str();
        let upper = text.to_ascii_uppercase();
        if crate::vocab::is_country(&upper) {
            return Some(Spanned::new(upper, v.span()));
        }
        let hint = match upper.as_str() {
            "UK" => "the United Kingdom's code is GB".to_string(),
            "EL" => "Greece's code is GR".to_string(),
            _ => "use the two-letter ISO 3166 code, e.g. US, CA, GB".to_string(),
        };
        self.push(
            Diagnostic::new(
                Code::UnknownCountry,
                v.span(),
                format!("`{text}` is not a country code"),
            )
            .hint(hint),
        );
        None
    }
}

/// Where `len` bytes at `offset` of a string's text sit in the source: exact
/// when the string has no escapes (its text is its source), else the whole
/// string.
fn placeholder_span(text: &Spanned<String>, offset: usize, len: usize) -> Span {
    let quoted_len = text.span.end - text.span.start;
    if quoted_len == text.value.len() + 2 {
        let start = text.span.start + 1 + offset;
        Span::new(start, start + len)
    } else {
        text.span
    }
}

pub use crate::vocab::{parse_duration, parse_duration_millis};

/// Upper case, trimmed, inner runs of white space folded to one space.
pub fn normalize_keyword(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_has_a_meaning() {
        for name in PLACEHOLDERS {
            assert!(placeholder_meaning(name).is_some(), "{name}");
        }
        assert_eq!(placeholder_meaning("nope"), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_millis("250ms"), Some(250));
        assert_eq!(parse_duration_millis("1m30s"), Some(90_000));
        assert_eq!(parse_duration("1500ms"), None);
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("14d"), Some(14 * 86_400));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("99999999999999999999w"), None);
    }

    #[test]
    fn keywords_fold_case_and_space() {
        assert_eq!(normalize_keyword("  stop   all "), "STOP ALL");
    }
}
