//! The code catalogue: every diagnostic's stable code, its title and its
//! severity. docs/LANGUAGE.md lists the same table; a test keeps the two in
//! step.

use serde::Serialize;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $title:literal;)*) => {
        /// The stable code of a diagnostic. Codes never change meaning; a
        /// retired code is not reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant,)* }

        impl Code {
            /// Every code, in order: the catalogue in docs/LANGUAGE.md.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A one-line description of what the code means.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    // Syntax.
    Syntax = "E0001", "a line that is not a statement";
    UnterminatedString = "E0002", "a string with no closing quote";
    UnclosedBlock = "E0003", "a block with no closing `}`";
    UnexpectedClose = "E0004", "a `}` that closes nothing";
    TooLarge = "E0005", "a policy file larger than the limit";
    TooDeep = "E0006", "blocks nested deeper than the limit";
    BadEscape = "E0007", "an unknown escape in a string";
    NotUtf8 = "E0008", "a policy file that is not UTF-8 text";
    // Structure: which statements exist and what they take.
    UnknownDeclaration = "E0101", "an unknown top-level declaration";
    UnknownSetting = "E0102", "an unknown setting in a block";
    WrongArity = "E0103", "a statement with too many or too few values";
    WrongValue = "E0104", "a value of the wrong kind";
    RepeatedSetting = "E0105", "a setting given twice in one block";
    MissingBlock = "E0106", "a declaration without its block, or a block where none belongs";
    MissingTenant = "E0107", "a policy without a tenant declaration";
    MissingSetting = "E0108", "a required setting is missing";
    // Names.
    UnknownName = "E0201", "a reference to a name that is not declared";
    DuplicateName = "E0202", "a name declared twice";
    UnknownNumber = "E0203", "a phone number that is not declared";
    UnknownPlaceholder = "E0204", "a template placeholder that does not exist";
    // Phone numbers.
    NotE164 = "E0301", "a phone number not in E.164 form";
    NumberInTwoInboxes = "E0302", "a number in two inboxes";
    NumberOnAgentAndQueue = "E0303", "a number both on an agent and on an SMS queue";
    NumberOnTwoQueues = "E0304", "a number on two SMS queues";
    UnknownChannel = "E0305", "a channel other than sms, mms or whatsapp";
    // Time.
    UnknownZone = "E0401", "an unknown IANA time zone";
    ImpossibleTime = "E0402", "a clock time that does not exist, such as 25:00";
    EmptyInterval = "E0403", "an interval that starts when it ends, such as 10:00-10:00";
    BadDuration = "E0404", "a duration that is malformed, zero, or too long";
    BadDate = "E0405", "a date that does not exist";
    BadDays = "E0406", "a day or day range that is not understood";
    OverlappingHours = "E0407", "two intervals of one schedule that overlap";
    UnknownLanguage = "E0408", "a language that is not a BCP 47 tag";
    // Inboxes and agents.
    MissingMessage = "E0501", "a required message is missing (keyword queue, deflection)";
    DuplicateKeyword = "E0502", "a keyword used twice in one queue";
    KeywordIsCompliance = "E0503", "a queue keyword that is also a compliance keyword";
    DirectWithoutAgent = "E0504", "a direct inbox without an agent";
    NoMembers = "E0505", "an inbox with no members";
    WrongInboxKind = "E0506", "a setting that does not apply to this kind of inbox";
    UnknownInboxKind = "E0507", "an inbox kind other than shared, queue or direct";
    AcceptsOnCall = "E0508", "an agent allowed to accept new conversations on a call or offline";
    UnknownStatus = "E0509", "an agent status that is not declared";
    BadNumber = "E0510", "a count that is out of range";
    // Compliance.
    UnknownCountry = "E0601", "a country that is not an ISO 3166 alpha-2 code";
    DuplicateComplianceKeyword = "E0602", "a compliance keyword in two sets";
    // Hooks.
    HookFileMissing = "E0701", "a hook script that cannot be read";
    HookFileInvalid = "E0702", "a hook script that does not compile";
    HookFunctionMissing = "E0703", "a hook function the script does not define";
    HookFunctionArity = "E0704", "a hook function with the wrong number of parameters";
    UnknownHookPoint = "E0705", "a hook point that does not exist, or one given twice";
    HooksNotDeclared = "E0706", "an inbox hook in a policy with no hook script";
    TableInvalid = "E0707", "a lookup table that cannot be read";
    // Warnings: legal, but probably not what was meant.
    NeverOpen = "W0001", "an inbox whose hours are never open";
    UnusedTeam = "W0002", "a team no inbox uses";
    UnusedNumber = "W0003", "a number no inbox uses";
    UnusedHours = "W0004", "hours nothing uses";
    UnusedTemplate = "W0005", "a template nothing uses";
    AutoresponderNeverSent = "W0006", "an autoresponder on an inbox with no SMS number";
    CountryWithoutDefaults = "W0007", "a country with no built-in compliance keywords";
    HookNeverRuns = "W0008", "a hook this kind of inbox never runs";
    HookTimeoutIgnored = "W0009", "a hook `timeout`, which no longer limits anything";
    ZoneWithoutRegion = "W0010", "a time zone that names no region (`MST`, `US/Mountain`, `EST5EDT`)";
    UnusedHolidays = "W0011", "a holidays calendar no hours use";
    NameWithoutFallback = "W0012", "`{customer_name}` with no fallback, empty for a customer no event names";
}

impl Code {
    /// Whether the file was refused outright, so nothing past this is worth
    /// checking.
    pub fn is_fatal(self) -> bool {
        matches!(self, Code::TooLarge | Code::TooDeep)
    }

    pub fn severity(self) -> Severity {
        if self.as_str().starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
