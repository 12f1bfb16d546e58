//! The product's shared words: what the policy language, the compiled
//! policy, the engine, the hooks and the service all speak of (channels,
//! claim modes, inbox kinds, hook points, compliance sets, durations,
//! countries, weekdays
//! and daily intervals). It sits below every stage, so none of them reaches
//! into another for a word.

use serde::Serialize;

/// The channel a message comes on; a number takes some of them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Mms,
    Whatsapp,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Sms, Channel::Mms, Channel::Whatsapp];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Mms => "mms",
            Channel::Whatsapp => "whatsapp",
        }
    }
}

/// Whether a character can travel in a message: XML 1.0 (and so Twilio's
/// TwiML) allows tab, line feed, carriage return and everything from space
/// up except the noncharacters U+FFFE and U+FFFF.
pub fn is_sendable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{FFFD}' | '\u{10000}'..)
}

/// Which clock times are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Clock {
    /// `7:30 PM`
    #[serde(rename = "12h")]
    H12,
    /// `19:30`
    #[serde(rename = "24h")]
    H24,
}

/// The kinds of inbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboxKind {
    /// A team inbox shared by its members (Team SMS, Team Inbox).
    Shared,
    /// A queue: keyword-started sessions, or a direct number routed to all.
    Queue,
    /// One agent's own number.
    Direct,
}

impl InboxKind {
    pub const ALL: [InboxKind; 3] = [InboxKind::Shared, InboxKind::Queue, InboxKind::Direct];

    pub fn as_str(self) -> &'static str {
        match self {
            InboxKind::Shared => "shared",
            InboxKind::Queue => "queue",
            InboxKind::Direct => "direct",
        }
    }
}

/// Whether an inbox's conversations can, cannot or must be claimed before a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimMode {
    Can,
    Cannot,
    Must,
}

impl ClaimMode {
    pub const ALL: [ClaimMode; 3] = [ClaimMode::Can, ClaimMode::Cannot, ClaimMode::Must];

    /// As a policy writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimMode::Can => "can",
            ClaimMode::Cannot => "cannot",
            ClaimMode::Must => "must",
        }
    }
}

/// Where a hook script refines a decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookPoint {
    Routing,
    Claim,
    Autoresponder,
    Escalation,
}

impl HookPoint {
    pub const ALL: [HookPoint; 4] = [
        HookPoint::Routing,
        HookPoint::Claim,
        HookPoint::Autoresponder,
        HookPoint::Escalation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookPoint::Routing => "routing",
            HookPoint::Claim => "claim",
            HookPoint::Autoresponder => "autoresponder",
            HookPoint::Escalation => "escalation",
        }
    }
}

/// A set of compliance keywords: what a customer's whole message asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComplianceSet {
    /// STOP and its kin: no more messages.
    OptOut,
    /// START and its kin: messages again.
    OptIn,
    /// HELP and its kin: how to reach the business and how to stop.
    Help,
}

impl ComplianceSet {
    pub const ALL: [ComplianceSet; 3] = [
        ComplianceSet::OptOut,
        ComplianceSet::OptIn,
        ComplianceSet::Help,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceSet::OptOut => "opt-out",
            ComplianceSet::OptIn => "opt-in",
            ComplianceSet::Help => "help",
        }
    }
}

/// What a revocation phrase found inside a customer's message does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationAction {
    /// The customer is opted out, as by STOP.
    OptOut,
    /// The message routes as usual, and its conversation is flagged for a
    /// person to judge.
    Review,
}

/// A text as phrases are compared: lower case, accents and other marks
/// dropped, every run of anything but letters and digits one space, none
/// at either end (`¡No MÁS, gracias!` → `no mas gracias`).
pub fn fold_phrase(text: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// Seconds in a duration such as `1h30m`; `None` if malformed, overflowing,
/// or not a whole number of seconds (`1500ms`).
pub fn parse_duration(text: &str) -> Option<u64> {
    let millis = parse_duration_millis(text)?;
    (millis % 1000 == 0).then_some(millis / 1000)
}

/// Milliseconds in a duration such as `250ms` or `2s`.
pub fn parse_duration_millis(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let mut n: u64 = 0;
        let mut any = false;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            n = n.checked_mul(10)?.checked_add(u64::from(d))?;
            any = true;
            chars.next();
        }
        if !any {
            return None;
        }
        let unit = match chars.next()? {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 604_800_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(total)
}

/// ISO 3166-1 alpha-2 country codes, sorted.
pub const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Whether `code` is an ISO 3166-1 alpha-2 country code.
pub fn is_country(code: &str) -> bool {
    COUNTRIES.binary_search(&code).is_ok()
}

/// A set of weekdays; bit 0 is Monday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Days(pub u8);

impl Days {
    pub fn contains(self, weekday: chrono::Weekday) -> bool {
        self.0 & (1 << weekday.num_days_from_monday()) != 0
    }
}

/// A daily interval in minutes since local midnight. `end` may be 1440
/// (24:00). An `end` at or before `start` runs past midnight into the next day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Interval {
    pub start: u16,
    pub end: u16,
}

impl Interval {
    pub fn is_overnight(self) -> bool {
        self.end <= self.start
    }
}
