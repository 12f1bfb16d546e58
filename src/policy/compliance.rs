//! Opt-out, opt-in and help keywords, with per-country defaults.

use serde::Serialize;

use super::text::Text;

/// The effective compliance rules of a tenant.
#[derive(Clone, Debug, Serialize)]
pub struct Compliance {
    pub opt_out: Vec<String>,
    pub opt_in: Vec<String>,
    pub help: Vec<String>,
    pub opt_out_reply: Text,
    pub opt_in_reply: Text,
    pub help_reply: Text,
    /// The most characters (spaces aside) of any keyword: a longer message
    /// is no keyword.
    pub longest_keyword: usize,
}

/// What a country's carriers and regulators expect, as keyword sets.
pub struct CountryDefaults {
    pub opt_out: &'static [&'static str],
    pub opt_in: &'static [&'static str],
    pub help: &'static [&'static str],
}

/// The opt-out words follow the FCC's TCPA revocation rule, 47 CFR
/// 64.1200(a)(10) (in force since 2025-04-11): stop, quit, end, revoke,
/// opt out, cancel and unsubscribe; STOPALL is the carriers' own.
const US: CountryDefaults = CountryDefaults {
    opt_out: &[
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPT OUT",
    ],
    opt_in: &["START", "YES", "UNSTOP"],
    help: &["HELP", "INFO"],
};

const CA: CountryDefaults = CountryDefaults {
    opt_out: &[
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "ARRET",
        "ARRÊT",
    ],
    opt_in: &["START", "YES", "UNSTOP"],
    help: &["HELP", "INFO"],
};

const UK_STYLE: CountryDefaults = CountryDefaults {
    opt_out: &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"],
    opt_in: &["START", "UNSTOP"],
    help: &["HELP", "INFO"],
};

/// Used for a country with no built-in set (the checker warns).
pub const FALLBACK: CountryDefaults = CountryDefaults {
    opt_out: &["STOP", "UNSUBSCRIBE"],
    opt_in: &["START"],
    help: &["HELP"],
};

/// The built-in keyword sets of a country, by ISO 3166 alpha-2 code.
pub fn defaults(country: &str) -> Option<&'static CountryDefaults> {
    match country {
        "US" => Some(&US),
        "CA" => Some(&CA),
        "GB" | "IE" | "AU" | "NZ" => Some(&UK_STYLE),
        _ => None,
    }
}

pub const DEFAULT_OPT_OUT_REPLY: &str =
    "You have been unsubscribed and will receive no further messages. Reply START to resubscribe.";
pub const DEFAULT_OPT_IN_REPLY: &str =
    "You have been resubscribed. Reply STOP to unsubscribe, HELP for help.";
pub const DEFAULT_HELP_REPLY: &str = "Reply STOP to unsubscribe. Msg & data rates may apply.";
