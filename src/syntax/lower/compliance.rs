//! `compliance { opt_out STOP QUIT; opt_out_reply "..."; help HELP; ... }`

use super::Lowerer;
use crate::diag::{Code, Diagnostic, Spanned};
use crate::syntax::ast::{Compliance, RevocationAction};
use crate::syntax::document::Statement;

pub(super) const SETTINGS: &[&str] = &[
    "opt_out",
    "opt_out_reply",
    "opt_in",
    "opt_in_reply",
    "help",
    "help_reply",
    "revocation",
];
const REVOCATION: &str = "revocation opt_out \"leave me alone\" \"no más\"";

impl Lowerer {
    pub(crate) fn compliance(&mut self, s: &Statement) -> Option<Compliance> {
        self.no_more_values(s, 0, "compliance { opt_out STOP }");
        let mut compliance = Compliance {
            span: s.span,
            ..Compliance::default()
        };
        if !self.require_block(s, "compliance { opt_out STOP QUIT }") {
            return Some(compliance);
        }
        for setting in self.settings(s, "compliance", SETTINGS, &["revocation"]) {
            match setting.key() {
                "opt_out" => compliance.opt_out = Some(self.keywords(setting)),
                "opt_in" => compliance.opt_in = Some(self.keywords(setting)),
                "help" => compliance.help = Some(self.keywords(setting)),
                "opt_out_reply" => compliance.opt_out_reply = self.message(setting),
                "opt_in_reply" => compliance.opt_in_reply = self.message(setting),
                "help_reply" => compliance.help_reply = self.message(setting),
                "revocation" => compliance.revocations.extend(self.revocation(setting)),
                _ => {}
            }
        }
        Some(compliance)
    }

    /// `revocation opt_out|review "phrase" ...`
    fn revocation(
        &mut self,
        s: &Statement,
    ) -> Option<(Spanned<RevocationAction>, Vec<Spanned<String>>)> {
        let values = self.some(s, REVOCATION);
        let (first, phrases) = values.split_first()?;
        let action = match first.text.value.as_str() {
            "opt_out" => RevocationAction::OptOut,
            "review" => RevocationAction::Review,
            other => {
                self.push(
                    Diagnostic::new(
                        Code::WrongValue,
                        first.span(),
                        format!("`{other}` is not what a revocation does"),
                    )
                    .hint(format!("write `opt_out` (as STOP does) or `review` (flag the conversation), then the phrases: `{REVOCATION}`")),
                );
                return None;
            }
        };
        let mut out = Vec::new();
        for v in phrases {
            let Some(phrase) = self.string(v, "a phrase in quotes") else {
                continue;
            };
            if crate::vocab::fold_phrase(&phrase.value).is_empty() {
                self.push(
                    Diagnostic::new(Code::WrongValue, phrase.span, "this phrase has no letters or digits")
                        .hint("a revocation phrase is words a customer writes, such as \"leave me alone\""),
                );
                continue;
            }
            out.push(phrase);
        }
        if phrases.is_empty() {
            self.push(
                Diagnostic::new(Code::WrongArity, s.span, "a revocation names its phrases")
                    .hint(format!("write `{REVOCATION}`")),
            );
        }
        Some((Spanned::new(action, first.span()), out))
    }
}
