//! `template welcome "Hi {customer_name}, thanks for texting {inbox}!"`

use super::Lowerer;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::Template;
use crate::syntax::document::Statement;

const EXAMPLE: &str = "template welcome \"Thanks for texting {inbox}!\"";

impl Lowerer {
    pub(crate) fn template(&mut self, s: &Statement) -> Option<Template> {
        let name = self.declared_name(s, EXAMPLE)?;
        if s.block.is_some() {
            self.push(
                Diagnostic::new(
                    Code::MissingBlock,
                    s.span,
                    "a template takes its text, not a block",
                )
                .hint(format!("for example: {EXAMPLE}")),
            );
        }
        let Some(v) = s.values.get(1) else {
            self.push(
                Diagnostic::new(
                    Code::WrongArity,
                    s.span,
                    format!("template `{}` has no text", name.value),
                )
                .hint(format!("for example: {EXAMPLE}")),
            );
            return None;
        };
        let text = self.string(v, "the template's text in quotes")?;
        self.placeholders(&text);
        self.no_more_values(s, 2, EXAMPLE);
        Some(Template {
            name,
            text,
            span: s.span,
        })
    }
}
