//! Byte offsets in a text and the editor's positions: zero-based lines and
//! columns counted in UTF-16 code units, as the protocol counts them unless
//! a client and server agree otherwise.

use crate::diag::Span;
use lsp_types::{Position, Range};

/// Maps between byte offsets and protocol positions in one text.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    /// The position of a byte offset (clamped to the text, and back to a
    /// character boundary).
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let column: usize = self.text[self.starts[line]..offset]
            .chars()
            .map(char::len_utf16)
            .sum();
        Position::new(line as u32, column as u32)
    }

    /// The byte offset of a position. A column past the end of its line
    /// is the line's end; a line past the end of the text is the text's end.
    pub(crate) fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(position.line as usize + 1)
            .map_or(self.text.len(), |&next| next - 1);
        let end = start + self.text[start..end].trim_end_matches('\r').len();
        let mut units = 0;
        for (i, c) in self.text[start..end].char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }

    pub(crate) fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    /// The whole text, as a range to replace.
    pub(crate) fn all(&self) -> Range {
        Range::new(Position::new(0, 0), self.position(self.text.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_units_and_round_trip() {
        let text = "agent ana\n# café 😀 x\r\nlast";
        let lines = Lines::new(text);
        let x = text.find(" x").unwrap() + 1;
        // "# café 😀 " is 2 + 4 + 1 + 2 (the emoji is two units) + 1.
        assert_eq!(lines.position(x), Position::new(1, 10));
        assert_eq!(lines.offset(Position::new(1, 10)), x);
        assert_eq!(lines.offset(Position::new(2, 2)), text.len() - 2);
        assert_eq!(lines.offset(Position::new(0, 99)), "agent ana".len());
        assert_eq!(lines.offset(Position::new(1, 99)), text.find('\r').unwrap());
        assert_eq!(lines.offset(Position::new(9, 0)), text.len());
        // Inside the emoji's surrogate pair: the character's own offset.
        let emoji = text.find('😀').unwrap();
        assert_eq!(lines.position(emoji + 2), lines.position(emoji));
    }
}
