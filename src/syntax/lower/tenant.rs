//! `tenant acme { zone America/New_York; country US; sms on; ... }`

use super::Lowerer;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{Name, Tenant, BUILTIN_STATUSES};
use crate::syntax::document::Statement;

pub(super) const SETTINGS: &[&str] = &[
    "name",
    "zone",
    "country",
    "sms",
    "statuses",
    "missed_chat_threshold",
    "unresponsive_threshold",
    "language",
    "clock",
];

impl Lowerer {
    pub(crate) fn tenant(&mut self, s: &Statement) -> Option<Tenant> {
        let name = self.declared_name(s, "tenant acme { zone America/New_York; country US }")?;
        self.no_more_values(s, 1, "tenant acme { zone America/New_York; country US }");
        let mut tenant = Tenant {
            name,
            display_name: None,
            zone: None,
            country: None,
            sms: None,
            statuses: Vec::new(),
            missed_chat_threshold: None,
            unresponsive_threshold: None,
            language: None,
            clock: None,
            span: s.span,
        };
        if !self.require_block(s, "tenant acme { zone America/New_York; country US }") {
            return Some(tenant);
        }
        for setting in self.settings(s, "a tenant", SETTINGS, &[]) {
            match setting.key() {
                "name" => {
                    tenant.display_name = self
                        .one(setting, "\"Acme Inc.\"")
                        .and_then(|v| self.string(v, "the business name in quotes"))
                }
                "zone" => tenant.zone = self.zone(setting),
                "country" => tenant.country = self.country(setting),
                "sms" => tenant.sms = self.boolean(setting),
                "statuses" => tenant.statuses = self.statuses(setting),
                "missed_chat_threshold" => {
                    tenant.missed_chat_threshold = self.one_count(setting, 1, 100)
                }
                "unresponsive_threshold" => {
                    tenant.unresponsive_threshold = self.one_count(setting, 1, 100)
                }
                "language" => tenant.language = self.language(setting),
                "clock" => tenant.clock = self.clock_setting(setting),
                _ => {}
            }
        }
        let has = |key: &str| s.children().any(|c| c.key() == key);
        if !has("zone") {
            self.push(
                Diagnostic::new(Code::MissingSetting, tenant.name.span, format!("tenant `{}` has no time zone", tenant.name.value))
                    .hint("hours are read in the tenant's zone: add `zone America/New_York` (any IANA zone)"),
            );
        }
        if !has("country") {
            self.push(
                Diagnostic::new(
                    Code::MissingSetting,
                    tenant.name.span,
                    format!("tenant `{}` has no country", tenant.name.value),
                )
                .hint("the country picks the default compliance keywords: add `country US`"),
            );
        }
        Some(tenant)
    }

    fn statuses(&mut self, s: &Statement) -> Vec<Name> {
        let names = self.names(s, "break restroom");
        names
            .into_iter()
            .filter(|n| {
                if BUILTIN_STATUSES.contains(&n.value.as_str()) {
                    self.push(
                        Diagnostic::new(
                            Code::DuplicateName,
                            n.span,
                            format!("`{}` is a built-in status", n.value),
                        )
                        .hint("list only custom statuses; ready, on_call and offline always exist"),
                    );
                    return false;
                }
                true
            })
            .collect()
    }

    /// The name after a declaration's keyword: `agent alice {`.
    pub(crate) fn declared_name(&mut self, s: &Statement, example: &str) -> Option<Name> {
        match s.values.first() {
            Some(v) => self.name(v, &format!("a name for this {}", s.key())),
            None => {
                self.push(
                    Diagnostic::new(
                        Code::WrongArity,
                        s.key.span,
                        format!("`{}` needs a name", s.key()),
                    )
                    .hint(format!("for example: {example}")),
                );
                None
            }
        }
    }

    /// Reports values after a declaration's name that it does not take.
    pub(crate) fn no_more_values(&mut self, s: &Statement, taken: usize, example: &str) {
        if let Some(extra) = s.values.get(taken) {
            let last = s.values[s.values.len() - 1].span();
            self.push(
                Diagnostic::new(
                    Code::WrongArity,
                    extra.span().to(last),
                    format!("`{}` takes {taken} value(s) here", s.key()),
                )
                .hint(format!("for example: {example}")),
            );
        }
    }
}
