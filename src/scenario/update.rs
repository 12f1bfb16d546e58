//! `--update` rewrites the `expect` of each step it changed, in place: the
//! rest of the file (comments, notes, the order of keys, quoting) stays as
//! the admin wrote it. Inside a rewritten block, keys keep the order the
//! old block gave them (new keys after them), and each value keeps the
//! form its key had: a list or map written inline (`[ana, ben]`, `- {change:
//! locked, holder: ana}`) stays inline, one written as a block stays a
//! block. Where the old block says nothing, lists of plain values and maps
//! of plain values inside lists are written inline, as scenarios usually
//! are.

use serde_json::Value;
use serde_yaml_ng::Value as Yaml;
use std::collections::HashSet;

/// The file with these steps' (0-based) `expect` blocks replaced or added,
/// or `None` when the file is not laid out as a block list of steps under
/// a top-level `steps:` (the caller then writes the scenario whole).
pub fn rewrite(text: &str, step_count: usize, updates: &[(usize, Value)]) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (starts, end) = step_starts(&lines)?;
    let item_indent = indent_of(lines[*starts.first()?]);
    if starts.len() != step_count {
        return None;
    }
    let key_indent = item_indent + 2;
    // Replace from the last step up, so earlier line numbers hold.
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut updates: Vec<&(usize, Value)> = updates.iter().collect();
    updates.sort_by_key(|(step, _)| std::cmp::Reverse(*step));
    for (step, expected) in updates {
        let from = *starts.get(*step)?;
        let to = starts.get(step + 1).copied().unwrap_or(end);
        // The step's own lines, without the blank or comment lines that
        // follow its last key.
        let mut last = to;
        while last > from + 1 && !meaningful(&out[last - 1]) {
            last -= 1;
        }
        let existing = (from..last).find(|&i| {
            indent_of(&out[i]) == key_indent && out[i][key_indent..].starts_with("expect:")
        });
        let block_end = |at: usize| {
            let mut stop = at + 1;
            while stop < last && (!meaningful(&out[stop]) || indent_of(&out[stop]) > key_indent) {
                stop += 1;
            }
            stop
        };
        let old_block = existing.map(|at| out[at..block_end(at)].concat());
        let block = expect_block(expected, key_indent, old_block.as_deref())?;
        match existing {
            Some(at) => {
                let stop = block_end(at);
                out.splice(at..stop, [block]);
            }
            None if out[from][item_indent + 2..].starts_with("expect:") => return None,
            None => {
                if !out[last - 1].ends_with('\n') {
                    out[last - 1].push('\n');
                }
                out.insert(last, block)
            }
        }
    }
    let mut text = out.concat();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Some(text)
}

/// Where a step's `key` is written (the key's name), or the step's `- `
/// when the key is not found or not given; `None` when the file is not a
/// block list of steps.
pub fn step_key_span(text: &str, step: usize, key: Option<&str>) -> Option<crate::diag::Span> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (starts, end) = step_starts(&lines)?;
    let from = *starts.get(step)?;
    let to = starts.get(step + 1).copied().unwrap_or(end);
    let offset = |i: usize| lines[..i].iter().map(|l| l.len()).sum::<usize>();
    if let Some(key) = key {
        for (i, line) in lines.iter().enumerate().take(to).skip(from) {
            let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
            if trimmed.starts_with(&format!("{key}:")) {
                let at = offset(i) + (line.len() - trimmed.len());
                return Some(crate::diag::Span::new(at, at + key.len()));
            }
        }
    }
    let line = lines[from];
    let at = offset(from) + (line.len() - line.trim_start().len());
    Some(crate::diag::Span::new(at, at + 1))
}

/// Where each step starts (its `- ` line) and where the list ends, in a
/// file whose top-level `steps:` is a block list.
fn step_starts(lines: &[&str]) -> Option<(Vec<usize>, usize)> {
    let steps_at = lines.iter().position(|l| l.trim_end() == "steps:")?;
    let first = lines[steps_at + 1..]
        .iter()
        .position(|l| meaningful(l))
        .map(|i| i + steps_at + 1)?;
    let item_indent = indent_of(lines[first]);
    if !lines[first][item_indent..].starts_with("- ") {
        return None;
    }
    let mut starts = Vec::new();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate().skip(first) {
        if !meaningful(line) {
            continue;
        }
        let indent = indent_of(line);
        if indent < item_indent || (indent == item_indent && !line[indent..].starts_with("- ")) {
            end = i;
            break;
        }
        if indent == item_indent {
            starts.push(i);
        }
    }
    Some((starts, end))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn meaningful(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// `expect:` and the value under it, as YAML indented for a step's key,
/// in the key order and forms of `old` (the block it replaces), if any.
fn expect_block(expected: &Value, indent: usize, old: Option<&str>) -> Option<String> {
    let (shape, styles) = match old {
        Some(text) => {
            // The old block, moved to the left edge, read as YAML.
            let dedented: String = text
                .lines()
                .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
                .collect::<Vec<_>>()
                .join("\n");
            let shape = serde_yaml_ng::from_str::<Yaml>(&dedented)
                .ok()
                .and_then(|y| y.get("expect").cloned());
            (shape, Styles::of(text))
        }
        // A new block names the main keys first, as the reference lists
        // them.
        None => {
            let keys = super::DEFAULT_KEYS
                .iter()
                .map(|k| (Yaml::String(k.to_string()), Yaml::Null))
                .collect();
            (Some(Yaml::Mapping(keys)), Styles::default())
        }
    };
    let pad = " ".repeat(indent);
    let mut out = format!("{pad}expect:");
    let mut writer = Writer {
        out: &mut out,
        styles: &styles,
    };
    writer.value_after_key("expect", expected, shape.as_ref(), indent);
    out.push('\n');
    Some(out)
}

/// How the old block wrote its keys' values.
#[derive(Default)]
struct Styles {
    /// Keys whose value was written as a block (`key:` then lines below).
    block: HashSet<String>,
    /// Keys whose value was written inline (`key: [...]`, `key: {...}`).
    inline: HashSet<String>,
    /// List keys whose map items were written as blocks (`- key: value`
    /// then more keys below).
    block_items: HashSet<String>,
    /// List keys whose map items were written inline (`- {key: value}`).
    inline_items: HashSet<String>,
    /// Strings the old block wrote in double quotes.
    quoted: HashSet<String>,
    /// Strings the old block wrote in single quotes.
    single_quoted: HashSet<String>,
    /// How far list items sit right of their key: 2 (`key:` then `  - a`)
    /// or 0 (`key:` then `- a`), as the old block first did.
    item_offset: Option<usize>,
}

impl Styles {
    fn of(text: &str) -> Styles {
        let mut styles = Styles::default();
        // The keys of the lines above, by indentation, to find a list
        // item's key.
        let mut open: Vec<(usize, String)> = Vec::new();
        for line in text.lines() {
            let code = line.split(" #").next().unwrap_or(line).trim_end();
            let trimmed = code.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = code.len() - trimmed.len();
            quoted_strings(line, &mut styles.quoted, &mut styles.single_quoted);
            let (item, rest) = match trimmed.strip_prefix("- ") {
                Some(rest) => (true, rest),
                None => (false, trimmed),
            };
            // A list's items may sit at their key's indentation.
            open.retain(|(i, _)| if item { *i <= indent } else { *i < indent });
            if let (true, Some((key_indent, _))) = (item, open.last()) {
                styles.item_offset.get_or_insert(indent - key_indent);
            }
            if let (true, Some((_, list))) = (item, open.last()) {
                if rest.starts_with('{') {
                    styles.inline_items.insert(list.clone());
                } else if rest.contains(": ") || rest.ends_with(':') {
                    styles.block_items.insert(list.clone());
                }
            }
            let Some((key, value)) = rest.split_once(':') else {
                continue;
            };
            if key.contains([' ', '{', '[', '"', '\'']) {
                continue;
            }
            let value = value.trim();
            if value.is_empty() {
                styles.block.insert(key.to_string());
            } else if value.starts_with(['[', '{']) {
                styles.inline.insert(key.to_string());
            }
            let key_indent = if item { indent + 2 } else { indent };
            open.push((key_indent, key.to_string()));
        }
        styles
    }
}

/// Collects the quoted strings of one line, double and single, each where
/// a scalar starts (after a space, `[`, `{` or `,`), skipping what is
/// inside another quoted string.
fn quoted_strings(line: &str, double: &mut HashSet<String>, single: &mut HashSet<String>) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = i == 0 || matches!(bytes[i - 1], b' ' | b'[' | b'{' | b',');
        match bytes[i] {
            b'"' if starts => {
                let mut de = serde_json::Deserializer::from_str(&line[i..]).into_iter::<String>();
                match de.next() {
                    Some(Ok(text)) => {
                        double.insert(text);
                        i += de.byte_offset().max(1);
                    }
                    _ => i += 1,
                }
            }
            b'\'' if starts => {
                let mut text = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < bytes.len() {
                    if bytes[j] == b'\'' {
                        if bytes.get(j + 1) == Some(&b'\'') {
                            text.push('\'');
                            j += 2;
                            continue;
                        }
                        closed = true;
                        break;
                    }
                    let c = line[j..].chars().next().unwrap_or(' ');
                    text.push(c);
                    j += c.len_utf8();
                }
                if closed {
                    single.insert(text);
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
}

/// A string in single quotes.
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

struct Writer<'a> {
    out: &'a mut String,
    styles: &'a Styles,
}

impl Writer<'_> {
    /// Whether a map item of the list under `key` is written as a block:
    /// as the old block wrote that list's items, or, where it wrote both
    /// forms (or none), when it does not fit on a line.
    fn block_item(&self, key: &str, item: &Value) -> bool {
        let inline = self.styles.inline_items.contains(key);
        let block = self.styles.block_items.contains(key);
        match (inline, block) {
            (true, false) => false,
            (false, true) => true,
            _ => !fits_inline(item),
        }
    }

    /// A string, quoted where the old block quoted it or YAML needs it.
    fn string(&self, text: &str, in_flow: bool) -> String {
        if self.styles.quoted.contains(text) {
            serde_json::to_string(text).unwrap_or_default()
        } else if self.styles.single_quoted.contains(text) && !text.contains('\n') {
            single_quoted(text)
        } else {
            scalar(text, in_flow)
        }
    }

    /// Writes `value` after `key:` (on the same line, or indented below).
    fn value_after_key(&mut self, key: &str, value: &Value, shape: Option<&Yaml>, indent: usize) {
        let inline = match value {
            Value::Object(m) if m.is_empty() => true,
            Value::Array(a) if a.is_empty() => true,
            Value::Object(_) | Value::Array(_) => {
                self.styles.inline.contains(key)
                    || (!self.styles.block.contains(key) && plain_list(value) && fits_inline(value))
            }
            _ => true,
        };
        if inline {
            self.out.push(' ');
            match value {
                Value::String(text) => self.out.push_str(&self.string(text, false)),
                _ => self.out.push_str(&flow(value, shape, self.styles)),
            }
            return;
        }
        match value {
            Value::Object(map) => {
                for (k, v) in ordered(map, shape) {
                    self.out.push('\n');
                    self.out.push_str(&" ".repeat(indent + 2));
                    self.out.push_str(&key_text(k));
                    self.out.push(':');
                    self.value_after_key(k, v, shape.and_then(|s| s.get(k)), indent + 2);
                }
            }
            Value::Array(items) => {
                let at = indent + self.styles.item_offset.unwrap_or(2);
                for (i, item) in items.iter().enumerate() {
                    self.out.push('\n');
                    self.out.push_str(&" ".repeat(at));
                    self.out.push('-');
                    let item_shape = shape.and_then(|s| s.get(i));
                    self.item(key, item, item_shape, at);
                }
            }
            _ => {}
        }
    }

    /// A list item under `key`, after its `-`.
    fn item(&mut self, key: &str, item: &Value, shape: Option<&Yaml>, indent: usize) {
        match item {
            Value::Object(map) if !map.is_empty() && self.block_item(key, item) => {
                for (n, (k, v)) in ordered(map, shape).into_iter().enumerate() {
                    if n == 0 {
                        self.out.push(' ');
                    } else {
                        self.out.push('\n');
                        self.out.push_str(&" ".repeat(indent + 2));
                    }
                    self.out.push_str(&key_text(k));
                    self.out.push(':');
                    self.value_after_key(k, v, shape.and_then(|s| s.get(k)), indent + 2);
                }
            }
            Value::String(text) => {
                self.out.push(' ');
                self.out.push_str(&self.string(text, false));
            }
            _ => {
                self.out.push(' ');
                self.out.push_str(&flow(item, shape, self.styles));
            }
        }
    }
}

/// A map's entries: the keys the old block named first, in its order, then
/// the rest.
fn ordered<'v>(
    map: &'v serde_json::Map<String, Value>,
    shape: Option<&Yaml>,
) -> Vec<(&'v String, &'v Value)> {
    let mut entries: Vec<(&String, &Value)> = Vec::with_capacity(map.len());
    if let Some(Yaml::Mapping(old)) = shape {
        for key in old.keys().filter_map(Yaml::as_str) {
            if let Some((k, v)) = map.get_key_value(key) {
                entries.push((k, v));
            }
        }
    }
    for (k, v) in map {
        if !entries.iter().any(|(e, _)| *e == k) {
            entries.push((k, v));
        }
    }
    entries
}

/// A list of plain values, written inline unless the old block said not.
fn plain_list(value: &Value) -> bool {
    matches!(value, Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()))
}

/// Whether a value reads well on one line: plain values, or one level of
/// them, short enough.
fn fits_inline(value: &Value) -> bool {
    let flat = match value {
        Value::Array(items) => items.iter().all(|i| !i.is_object() && !i.is_array()),
        Value::Object(map) => map.values().all(|v| !v.is_object() && !v.is_array()),
        _ => true,
    };
    flat && flow(value, None, &Styles::default()).len() <= 100
}

/// A value in YAML's flow form, its keys in the order `shape` has them.
fn flow(value: &Value, shape: Option<&Yaml>, styles: &Styles) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(i, item)| flow(item, shape.and_then(|s| s.get(i)), styles))
                .collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = ordered(map, shape)
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        key_text(k),
                        flow(v, shape.and_then(|s| s.get(k)), styles)
                    )
                })
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::String(text) if styles.quoted.contains(text) => {
            serde_json::to_string(text).unwrap_or_default()
        }
        Value::String(text) if styles.single_quoted.contains(text) && !text.contains('\n') => {
            single_quoted(text)
        }
        Value::String(text) => scalar(text, true),
        other => other.to_string(),
    }
}

fn key_text(key: &str) -> String {
    scalar(key, true)
}

/// A string as a plain scalar where YAML reads it back as the same string
/// (inside `[...]` or `{...}` too, when `in_flow`), else double-quoted.
fn scalar(text: &str, in_flow: bool) -> String {
    let special = text.is_empty()
        || text.contains(['#', '\n', '"'])
        || (in_flow && text.contains([',', '[', ']', '{', '}']))
        || text.contains(": ")
        || text.ends_with([':', ' '])
        || text.starts_with([
            ' ', '-', '?', ':', '&', '*', '!', '|', '>', '%', '@', '`', '\'', '[', '{',
        ]);
    let plain = !special
        && serde_yaml_ng::from_str::<Yaml>(text).ok() == Some(Yaml::String(text.to_string()));
    match plain {
        true => text.to_string(),
        false => serde_json::to_string(text).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;
    use serde_json::json;

    const FILE: &str = "\
description: d
# the first message
steps:
  - note: Monday.
    type: inbound
    at: 2026-03-02T17:00:00Z
    body: Hi   # a comment the update keeps
    expect:
      outcome: denied
      visible_to: [ana]

  - type: tick
    at: 2026-03-02T18:00:00Z
";

    #[test]
    fn only_the_expectations_change() {
        let updated = rewrite(
            FILE,
            2,
            &[
                (
                    0,
                    json!({"outcome": "routed", "visible_to": ["ana", "ben"]}),
                ),
                (1, json!({"outcome": "ticked"})),
            ],
        )
        .unwrap();
        assert_eq!(
            updated,
            "\
description: d
# the first message
steps:
  - note: Monday.
    type: inbound
    at: 2026-03-02T17:00:00Z
    body: Hi   # a comment the update keeps
    expect:
      outcome: routed
      visible_to: [ana, ben]

  - type: tick
    at: 2026-03-02T18:00:00Z
    expect:
      outcome: ticked
"
        );
    }

    #[test]
    fn a_rewritten_block_keeps_its_key_order_and_forms() {
        let file = "\
description: d
steps:
  - type: reply
    at: 2026-03-02T17:00:00Z
    expect:
      outcome: denied
      changes:
        - {change: locked, holder: ana}
      messages:
        - why: reply
          text: Hi
      visible_to:
        - ana
";
        let fresh = json!({
            "outcome": "allowed",
            "changes": [{"change": "locked", "holder": "bob"}, {"change": "claimed", "owner": "bob"}],
            "messages": [{"text": "Hi, there: yes", "why": "reply"}],
            "visible_to": ["ana", "bob"],
        });
        let updated = rewrite(file, 1, &[(0, fresh)]).unwrap();
        assert_eq!(
            updated,
            "\
description: d
steps:
  - type: reply
    at: 2026-03-02T17:00:00Z
    expect:
      outcome: allowed
      changes:
        - {change: locked, holder: bob}
        - {change: claimed, owner: bob}
      messages:
        - why: reply
          text: \"Hi, there: yes\"
      visible_to:
        - ana
        - bob
"
        );
        let reread: serde_yaml_ng::Value = serde_yaml_ng::from_str(&updated).unwrap();
        assert_eq!(
            reread["steps"][0]["expect"]["messages"][0]["text"],
            "Hi, there: yes"
        );
    }

    #[test]
    fn a_file_laid_out_otherwise_is_left_to_the_caller() {
        assert_eq!(rewrite("description: d\nsteps: []\n", 0, &[]), None);
        assert_eq!(
            rewrite(FILE, 3, &[]),
            None,
            "a step count that does not match"
        );
    }
}
