//! `hooks "acme.rhai"` at the top, and `hook routing route_vip` in an inbox.

use super::Lowerer;
use crate::syntax::ast::{HookPoint, HookRef, HookScript};
use crate::syntax::diagnostic::{Code, Diagnostic};
use crate::syntax::document::Statement;
use crate::syntax::span::Spanned;

impl Lowerer {
    pub(crate) fn hook_script(&mut self, s: &Statement) -> Option<HookScript> {
        let v = self.one(s, "\"hooks.rhai\"")?;
        let path = self.string(v, "the script's path in quotes")?;
        Some(HookScript { path, span: s.span })
    }

    pub(crate) fn hook_ref(&mut self, s: &Statement) -> Option<HookRef> {
        let [point, function] = s.values.as_slice() else {
            self.push(
                Diagnostic::new(
                    Code::WrongArity,
                    s.span,
                    "`hook` takes a hook point and a function",
                )
                .hint("write `hook routing route_vip`"),
            );
            return None;
        };
        let names: Vec<&str> = HookPoint::ALL.iter().map(|p| p.as_str()).collect();
        let Some(found) = HookPoint::ALL
            .iter()
            .find(|p| p.as_str() == point.text.value)
        else {
            let hint = match super::did_you_mean(&point.text.value, &names) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("hook points are {}", names.join(", ")),
            };
            self.push(
                Diagnostic::new(
                    Code::UnknownHookPoint,
                    point.span(),
                    format!("unknown hook point `{}`", point.text.value),
                )
                .hint(hint),
            );
            return None;
        };
        let function = self.name(function, "the name of a function in the hook script")?;
        Some(HookRef {
            point: Spanned::new(*found, point.span()),
            function,
        })
    }
}
