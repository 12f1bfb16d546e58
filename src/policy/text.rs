//! Message texts with `{placeholders}`, split once at compile time.

use serde::Serialize;
use smol_str::SmolStr;

/// A message text: literal runs and placeholders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Text {
    pub parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Part {
    Literal(SmolStr),
    /// One of `syntax::lower::values::PLACEHOLDERS`, and what to write when
    /// it has no value (`{customer_name|there}`).
    Placeholder {
        name: String,
        fallback: Option<String>,
    },
}

impl Text {
    /// Splits a checked text; `{{` and `}}` are literal braces.
    pub fn parse(source: &str) -> Text {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let inside: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal).into()));
                    }
                    let (name, fallback) = match inside.split_once('|') {
                        Some((name, fallback)) => (name.to_string(), Some(fallback.to_string())),
                        None => (inside, None),
                    };
                    parts.push(Part::Placeholder { name, fallback });
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal.into()));
        }
        Text { parts }
    }

    /// Fills the placeholders: a placeholder with no value (`lookup` gives
    /// `None` or nothing) renders its fallback, else nothing.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> SmolStr {
        self.render_or(lookup, |_| "")
    }

    /// Fills the placeholders; one with no value and no fallback renders
    /// `missing` of its name. A text without placeholders is its one
    /// literal, shared, not copied.
    pub fn render_or<'m>(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
        missing: impl Fn(&str) -> &'m str,
    ) -> SmolStr {
        match self.parts.as_slice() {
            [] => return SmolStr::default(),
            [Part::Literal(s)] => return s.clone(),
            _ => {}
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Placeholder { name, fallback } => {
                    match lookup(name).filter(|v| !v.is_empty()) {
                        Some(value) => out.push_str(&value),
                        None => out.push_str(fallback.as_deref().unwrap_or_else(|| missing(name))),
                    }
                }
            }
        }
        out.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_placeholders_is_its_literal() {
        let t = Text::parse("Thanks! We'll be right with you, {{soon}}.");
        assert_eq!(t.parts.len(), 1);
        assert_eq!(
            t.render(|_| None),
            "Thanks! We'll be right with you, {soon}."
        );
        assert_eq!(Text::parse("").render(|_| None), "");
    }

    #[test]
    fn placeholders_and_braces() {
        let t = Text::parse("Hi {customer_name}, {{literal}}");
        let rendered = t.render(|n| (n == "customer_name").then(|| "Ann".to_string()));
        assert_eq!(rendered, "Hi Ann, {literal}");
    }

    #[test]
    fn a_placeholder_without_a_value_renders_its_fallback() {
        let t = Text::parse("Hi {customer_name|there}! {agent|}.");
        assert_eq!(t.render(|_| None), "Hi there! .");
        assert_eq!(t.render(|_| Some(String::new())), "Hi there! .");
        assert_eq!(t.render(|_| Some("Ann".into())), "Hi Ann! Ann.");
    }
}
