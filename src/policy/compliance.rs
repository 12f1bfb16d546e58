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

const US: CountryDefaults = CountryDefaults {
    opt_out: &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"],
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
