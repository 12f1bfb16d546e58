//! Message texts with `{placeholders}`, split once at compile time.

use serde::Serialize;

/// A message text: literal runs and placeholders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Text {
    pub parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Part {
    Literal(String),
    /// One of `syntax::lower::values::PLACEHOLDERS`.
    Placeholder(String),
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
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Placeholder(name));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Text { parts }
    }

    /// Fills the placeholders; an unknown one renders empty.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Placeholder(name) => out.push_str(&lookup(name).unwrap_or_default()),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_braces() {
        let t = Text::parse("Hi {customer_name}, {{literal}}");
        let rendered = t.render(|n| (n == "customer_name").then(|| "Ann".to_string()));
        assert_eq!(rendered, "Hi Ann, {literal}");
    }
}
