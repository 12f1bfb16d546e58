//! `hooks "acme.rhai"` at the top, and `hook routing route_vip` in an inbox.

use super::Lowerer;
use crate::diag::Spanned;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{HookLimits, HookPoint, HookRef, HookScript, Table};
use crate::syntax::document::{Statement, ValueKind};

/// The limits a `hooks` block may set.
pub(super) const LIMITS: &[&str] = &[
    "timeout",
    "max_operations",
    "max_call_depth",
    "max_string_size",
    "max_array_size",
    "max_map_size",
];

impl Lowerer {
    pub(crate) fn hook_script(&mut self, s: &Statement) -> Option<HookScript> {
        let v = self.one(s, "\"hooks.rhai\"")?;
        let path = self.string(v, "the script's path in quotes")?;
        let mut limits = HookLimits::default();
        for setting in self.settings(s, "hooks", LIMITS, &[]) {
            let (min, max) = match setting.key() {
                "timeout" => {
                    limits.timeout_ms = self.timeout(setting);
                    continue;
                }
                // Caps that keep one call bounded: deep recursion must fit a
                // thread's stack, and the data caps bound what a single
                // operation over an array or string can cost.
                "max_operations" => (1_000, 10_000_000),
                "max_call_depth" => (1, 64),
                "max_string_size" => (1, 1_000_000),
                _ => (1, 100_000),
            };
            let value = self
                .one(setting, "1000")
                .and_then(|v| self.count(v, min, max))
                .map(|n| Spanned::new(u64::from(n.value), n.span));
            match setting.key() {
                "max_operations" => limits.max_operations = value,
                "max_call_depth" => limits.max_call_depth = value,
                "max_string_size" => limits.max_string_size = value,
                "max_array_size" => limits.max_array_size = value,
                _ => limits.max_map_size = value,
            }
        }
        Some(HookScript {
            path,
            limits,
            span: s.span,
        })
    }

    /// `timeout 20ms`, from 1ms to 10s: still read and checked so older
    /// policies keep checking, but it limits nothing (the checker warns,
    /// W0009). The span is the whole setting, the line to remove.
    fn timeout(&mut self, s: &Statement) -> Option<Spanned<u64>> {
        let v = self.one(s, "20ms")?;
        let millis = if v.kind == ValueKind::Duration {
            super::values::parse_duration_millis(&v.text.value)
        } else {
            None
        };
        match millis {
            Some(ms) if (1..=10_000).contains(&ms) => Some(Spanned::new(ms, s.span)),
            _ => {
                self.push(
                    Diagnostic::new(
                        Code::BadDuration,
                        v.span(),
                        format!("`{}` is not a hook timeout", v.text.value),
                    )
                    .hint("a hook timeout runs from 1ms to 10s, e.g. `timeout 20ms`"),
                );
                None
            }
        }
    }

    /// `table vips "vips.csv"`
    pub(crate) fn table(&mut self, s: &Statement) -> Option<Table> {
        const EXAMPLE: &str = "table vips \"vips.csv\"";
        let name = self.declared_name(s, EXAMPLE)?;
        let Some(v) = s.values.get(1) else {
            self.push(
                Diagnostic::new(
                    Code::WrongArity,
                    s.span,
                    format!("table `{}` needs its file", name.value),
                )
                .hint(format!("for example: {EXAMPLE}")),
            );
            return None;
        };
        let path = self.string(v, "the table's file in quotes")?;
        self.no_more_values(s, 2, EXAMPLE);
        Some(Table {
            name,
            path,
            span: s.span,
        })
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
            let hint = match crate::diag::did_you_mean(&point.text.value, &names) {
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
