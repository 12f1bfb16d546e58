//! After-hours deflection at one level:
//! `deflection inherit`, `deflection off`, or `deflection { hours ...; message ... }`.

use super::Lowerer;
use crate::diag::Spanned;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::Deflection;
use crate::syntax::document::Statement;

pub(super) const SETTINGS: &[&str] = &["hours", "message"];

/// Where a deflection is set; the global level has nothing to inherit from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Global,
    Team,
    Agent,
}

impl Lowerer {
    pub(crate) fn deflection(
        &mut self,
        s: &Statement,
        level: Level,
    ) -> Option<Spanned<Deflection>> {
        if s.block.is_some() {
            self.no_more_values(s, 0, "deflection { hours office; message \"...\" }");
            let mut hours = None;
            let mut message = None;
            for setting in self.settings(s, "a deflection", SETTINGS, &[]) {
                match setting.key() {
                    "hours" => {
                        hours = self
                            .one(setting, "office")
                            .and_then(|v| self.name(v, "the name of an hours declaration"))
                    }
                    "message" => message = self.message(setting),
                    _ => {}
                }
            }
            return Some(Spanned::new(Deflection::On { hours, message }, s.key.span));
        }
        let v = self.one(s, "inherit")?;
        let deflection = match v.text.value.as_str() {
            "off" => Deflection::Off,
            "inherit" if level != Level::Global => Deflection::Inherit,
            "inherit" => {
                self.push(
                    Diagnostic::new(
                        Code::WrongValue,
                        v.span(),
                        "the global deflection has nothing to inherit from",
                    )
                    .hint("write `deflection off`, or a block with hours and a message"),
                );
                return None;
            }
            other => {
                self.push(
                    Diagnostic::new(
                        Code::WrongValue,
                        v.span(),
                        format!("expected `inherit`, `off` or a block, found `{other}`"),
                    )
                    .hint("write `deflection inherit` to use the level above, `deflection off`, or `deflection { hours office; message \"...\" }`"),
                );
                return None;
            }
        };
        Some(Spanned::new(deflection, s.key.span))
    }
}
