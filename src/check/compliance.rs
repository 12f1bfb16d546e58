//! Compliance: the tenant country's keyword sets, overridden where the policy
//! says so; no keyword in two sets, and no queue keyword that is one.

use super::Checker;
use crate::diag::Span;
use crate::diag::{Code, Diagnostic};
use crate::policy::compliance::{self, Compliance, Revocation};
use crate::policy::Text;
use crate::syntax::ast::{Keyword, Message};
use crate::vocab::ComplianceSet;
use std::collections::HashMap;

impl Checker<'_> {
    /// The effective compliance rules; reports keywords in two sets.
    pub(super) fn compliance(&mut self) -> Compliance {
        let country = self
            .ast
            .tenant
            .as_ref()
            .and_then(|t| t.country.as_ref())
            .map_or("", |c| c.value.as_str());
        let defaults = compliance::defaults(country).unwrap_or(&compliance::FALLBACK);
        let declared = self.ast.compliance.as_ref();
        let set = |chosen: Option<&Vec<Keyword>>, default: &[&str]| -> Vec<(String, Span)> {
            match chosen {
                Some(list) => list.iter().map(|k| (k.value.clone(), k.span)).collect(),
                None => default
                    .iter()
                    .map(|k| (k.to_string(), Span::default()))
                    .collect(),
            }
        };
        let opt_out = set(declared.and_then(|c| c.opt_out.as_ref()), defaults.opt_out);
        let opt_in = set(declared.and_then(|c| c.opt_in.as_ref()), defaults.opt_in);
        let help = set(declared.and_then(|c| c.help.as_ref()), defaults.help);

        let mut seen: HashMap<&str, (&str, Span)> = HashMap::new();
        let sets = [
            (ComplianceSet::OptOut, &opt_out),
            (ComplianceSet::OptIn, &opt_in),
            (ComplianceSet::Help, &help),
        ];
        for (set_name, set) in sets {
            let set_name = set_name.as_str();
            for (keyword, span) in set {
                if let Some((other, first)) = seen.get(keyword.as_str()) {
                    let at = if span.end > 0 { *span } else { *first };
                    let mut d = Diagnostic::new(
                        Code::DuplicateComplianceKeyword,
                        at,
                        format!(
                            "`{keyword}` is both {} and {} keyword",
                            with_article(other),
                            with_article(set_name)
                        ),
                    )
                    .hint("a keyword can do one thing; remove it from one set");
                    if first.end > 0 && span.end > 0 {
                        d = d.related(*first, format!("listed in {other}"));
                    } else {
                        d = d.note(format!(
                            "`{keyword}` is a default {} keyword for {country}",
                            if first.end == 0 { *other } else { set_name }
                        ));
                    }
                    self.push(d);
                    continue;
                }
                seen.insert(keyword, (set_name, *span));
            }
        }

        let replies = defaults.replies.as_ref();
        let reply = |message: Option<&Message>, default: &str| -> Text {
            let text = match message {
                Some(Message::Text(t)) => t.value.clone(),
                Some(Message::Template(name)) => self
                    .ast
                    .templates
                    .iter()
                    .find(|t| t.name.value == name.value)
                    .map_or_else(String::new, |t| t.text.value.clone()),
                None => default.to_string(),
            };
            Text::parse(&text)
        };
        Compliance {
            opt_out_reply: reply(
                declared.and_then(|c| c.opt_out_reply.as_ref()),
                replies.map_or(compliance::DEFAULT_OPT_OUT_REPLY, |r| r.opt_out),
            ),
            opt_in_reply: reply(
                declared.and_then(|c| c.opt_in_reply.as_ref()),
                replies.map_or(compliance::DEFAULT_OPT_IN_REPLY, |r| r.opt_in),
            ),
            help_reply: reply(
                declared.and_then(|c| c.help_reply.as_ref()),
                replies.map_or(compliance::DEFAULT_HELP_REPLY, |r| r.help),
            ),
            longest_keyword: opt_out
                .iter()
                .chain(&opt_in)
                .chain(&help)
                .map(|(k, _)| k.chars().filter(|c| !c.is_whitespace()).count())
                .max()
                .unwrap_or(0),
            opt_out: opt_out.into_iter().map(|(k, _)| k).collect(),
            opt_in: opt_in.into_iter().map(|(k, _)| k).collect(),
            help: help.into_iter().map(|(k, _)| k).collect(),
            revocations: declared
                .map(|c| c.revocations.as_slice())
                .unwrap_or_default()
                .iter()
                .flat_map(|(action, phrases)| {
                    phrases.iter().map(|p| Revocation {
                        phrase: p.value.clone(),
                        folded: crate::vocab::fold_phrase(&p.value),
                        action: action.value,
                    })
                })
                .collect(),
        }
    }

    /// Compliance keywords are answered before any routing, so a queue
    /// keyword that is one would never start or end a session.
    pub(super) fn keyword_collisions(&mut self, compliance: &Compliance) {
        for inbox in &self.ast.inboxes {
            for keyword in inbox
                .initiation_keywords
                .iter()
                .chain(&inbox.termination_keywords)
            {
                let set = if compliance.opt_out.contains(&keyword.value) {
                    ComplianceSet::OptOut
                } else if compliance.opt_in.contains(&keyword.value) {
                    ComplianceSet::OptIn
                } else if compliance.help.contains(&keyword.value) {
                    ComplianceSet::Help
                } else {
                    continue;
                };
                let set = set.as_str();
                self.push(
                    Diagnostic::new(
                        Code::KeywordIsCompliance,
                        keyword.span,
                        format!(
                            "`{}` is {} keyword, so queue `{}` would never see it",
                            keyword.value,
                            with_article(set),
                            inbox.name.value
                        ),
                    )
                    .hint("compliance keywords are handled before routing; pick another keyword"),
                );
            }
        }
    }
}

/// "an opt-out", "a help".
fn with_article(set: &str) -> String {
    let article = if set.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {set}")
}
