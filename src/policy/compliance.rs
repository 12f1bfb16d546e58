//! Opt-out, opt-in and help keywords, with per-country defaults.

use crate::vocab::RevocationAction;
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
    /// Phrases that revoke consent inside longer messages, in the order the
    /// policy lists them.
    pub revocations: Vec<Revocation>,
}

/// A phrase a reasonable person reads as revoking consent ("leave me
/// alone", "no más"), matched inside a longer message.
#[derive(Clone, Debug, Serialize)]
pub struct Revocation {
    /// As the policy writes it.
    pub phrase: String,
    /// As messages are compared: `vocab::fold_phrase`.
    pub folded: String,
    pub action: RevocationAction,
}

/// What a country's carriers and regulators expect, as keyword sets, and
/// where that comes from.
pub struct CountryDefaults {
    pub opt_out: &'static [&'static str],
    pub opt_in: &'static [&'static str],
    pub help: &'static [&'static str],
    /// The replies, when the country's language is not English.
    pub replies: Option<Replies>,
    /// The law, code or practice each set follows (docs/LANGUAGE.md cites
    /// the same).
    pub sources: &'static str,
}

/// The opt-out, opt-in and help replies.
pub struct Replies {
    pub opt_out: &'static str,
    pub opt_in: &'static str,
    pub help: &'static str,
}

const SPANISH: Replies = Replies {
    opt_out:
        "Se ha dado de baja y no recibirá más mensajes. Responda ALTA para volver a suscribirse.",
    opt_in:
        "Se ha vuelto a suscribir. Responda BAJA para darse de baja o AYUDA para obtener ayuda.",
    help: "Responda BAJA para darse de baja. Pueden aplicarse tarifas de mensajes y datos.",
};

/// The built-in defaults, one row per country (ISO 3166 alpha-2). The table
/// in docs/LANGUAGE.md is this one; a test keeps them in step.
pub const COUNTRIES: &[(&str, CountryDefaults)] = &[
    (
        "US",
        CountryDefaults {
            opt_out: &[
                "STOP",
                "STOPALL",
                "UNSUBSCRIBE",
                "CANCEL",
                "END",
                "QUIT",
                "REVOKE",
                "OPT OUT",
                "OPTOUT",
            ],
            opt_in: &["START", "YES", "UNSTOP"],
            help: &["HELP", "INFO"],
            replies: None,
            sources: "FCC 47 CFR 64.1200(a)(10) names stop, quit, end, revoke, opt out, cancel and unsubscribe (in force 2025-04-11); CTIA Messaging Principles and Best Practices: STOP and HELP; STOPALL, OPTOUT, UNSTOP, YES and INFO are carrier and platform practice",
        },
    ),
    (
        "CA",
        CountryDefaults {
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
            help: &["HELP", "INFO", "AIDE"],
            replies: None,
            sources: "CWTA Canadian Common Short Code Application Guidelines: STOP and ARRET, HELP, AIDE and INFO in both languages; CASL (S.C. 2010, c. 23) s. 11: an unsubscribe mechanism; the rest is carrier practice",
        },
    ),
    (
        "GB",
        CountryDefaults {
            opt_out: &[
                "STOP",
                "STOP ALL",
                "STOPALL",
                "UNSUBSCRIBE",
                "CANCEL",
                "END",
                "QUIT",
            ],
            opt_in: &["START", "UNSTOP"],
            help: &["HELP", "INFO"],
            replies: None,
            sources: "PECR 2003 reg. 22(3)(c): a simple, free means of refusing (no words named); the phone-paid services rules (PSA, Ofcom since 2025-02-01): STOP and STOP ALL; the rest is carrier practice",
        },
    ),
    (
        "AU",
        CountryDefaults {
            opt_out: &[
                "STOP",
                "STOPALL",
                "UNSUBSCRIBE",
                "OPTOUT",
                "CANCEL",
                "END",
                "QUIT",
            ],
            opt_in: &["START", "UNSTOP"],
            help: &["HELP", "INFO"],
            replies: None,
            sources: "Spam Act 2003 s. 18: a functional unsubscribe facility (no words named); ACMA and the Communications Alliance mobile premium services code: STOP; the rest is carrier practice",
        },
    ),
    (
        "MX",
        CountryDefaults {
            opt_out: &["STOP", "ALTO", "BAJA", "CANCELAR"],
            opt_in: &["START", "ALTA"],
            help: &["AYUDA", "HELP"],
            replies: Some(SPANISH),
            sources: "Ley Federal de Protección al Consumidor arts. 17, 18 and 18 bis (REPEP): a consumer's wish not to get advertising is honoured (no words named); ALTO and AYUDA as carriers ask of Spanish-language programs; BAJA, CANCELAR and ALTA are common practice",
        },
    ),
    (
        "ES",
        CountryDefaults {
            opt_out: &["STOP", "BAJA", "CANCELAR"],
            opt_in: &["START", "ALTA"],
            help: &["AYUDA", "HELP"],
            replies: Some(SPANISH),
            sources: "LSSI (Ley 34/2002) arts. 21.2 and 22.1: a simple, free way to withdraw consent (no words named); the premium SMS code of conduct (BOE-A-2009-12439): BAJA and ALTA; the rest is common practice",
        },
    ),
];

/// Used for a country with no built-in set (the checker warns).
pub const FALLBACK: CountryDefaults = CountryDefaults {
    opt_out: &["STOP", "UNSUBSCRIBE"],
    opt_in: &["START"],
    help: &["HELP"],
    replies: None,
    sources: "what carriers everywhere answer",
};

/// The built-in keyword sets of a country, by ISO 3166 alpha-2 code.
/// Ireland and New Zealand follow their neighbours' rows.
pub fn defaults(country: &str) -> Option<&'static CountryDefaults> {
    let row = match country {
        "IE" => "GB",
        "NZ" => "AU",
        other => other,
    };
    COUNTRIES
        .iter()
        .find(|(code, _)| *code == row)
        .map(|(_, defaults)| defaults)
}

pub const DEFAULT_OPT_OUT_REPLY: &str =
    "You have been unsubscribed and will receive no further messages. Reply START to resubscribe.";
pub const DEFAULT_OPT_IN_REPLY: &str =
    "You have been resubscribed. Reply STOP to unsubscribe, HELP for help.";
pub const DEFAULT_HELP_REPLY: &str = "Reply STOP to unsubscribe. Msg & data rates may apply.";
