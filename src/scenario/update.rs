//! `--update` rewrites the `expect` of each step it changed, in place: the
//! rest of the file (comments, notes, the order of keys, quoting) stays as
//! the admin wrote it.

use serde_json::Value;

/// The file with these steps' (0-based) `expect` blocks replaced or added,
/// or `None` when the file is not laid out as a block list of steps under
/// a top-level `steps:` (the caller then writes the scenario whole).
pub fn rewrite(text: &str, step_count: usize, updates: &[(usize, Value)]) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let steps_at = lines.iter().position(|l| l.trim_end() == "steps:")?;
    // Where each step starts: `- ` at the list's indentation.
    let indent_of = |line: &str| line.len() - line.trim_start_matches(' ').len();
    let meaningful = |line: &str| {
        let t = line.trim();
        !t.is_empty() && !t.starts_with('#')
    };
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
        let block = expect_block(expected, key_indent)?;
        let existing = (from..last).find(|&i| {
            indent_of(&out[i]) == key_indent && out[i][key_indent..].starts_with("expect:")
        });
        match existing {
            Some(at) => {
                let mut stop = at + 1;
                while stop < last && (!meaningful(&out[stop]) || indent_of(&out[stop]) > key_indent)
                {
                    stop += 1;
                }
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

/// `expect:` and the value under it, as YAML indented for a step's key.
fn expect_block(expected: &Value, indent: usize) -> Option<String> {
    let yaml = serde_yaml_ng::to_string(expected).ok()?;
    let pad = " ".repeat(indent);
    let mut block = format!("{pad}expect:");
    match expected {
        Value::Object(_) | Value::Array(_) if !yaml.trim().starts_with(['{', '[']) => {
            block.push('\n');
            for line in yaml.lines() {
                block.push_str(&format!("{pad}  {line}\n"));
            }
        }
        _ => block.push_str(&format!(" {}\n", yaml.trim_end())),
    }
    Some(block)
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
      visible_to:
      - ana
      - ben

  - type: tick
    at: 2026-03-02T18:00:00Z
    expect:
      outcome: ticked
"
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
