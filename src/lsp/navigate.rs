//! What is under the cursor, and where else it is: go to definition, find
//! references and rename, over the names `syntax::names` finds, the hook
//! functions inboxes name (defined in the `.rhai` script) and the files a
//! policy names.

use super::position::Lines;
use super::workspace::{Analysis, Workspace};
use crate::diag::{Span, Spanned};
use crate::syntax::ast;
use crate::syntax::names::{self, NameKind, NameUse};
use lsp_types::{Location, Range, TextEdit, Url, WorkspaceEdit};
use std::collections::HashMap;

/// Something the cursor can be on.
pub(crate) enum Target<'a> {
    Name(NameUse<'a>),
    /// `hook routing route_vip`: a function of the hook script.
    HookFunction(&'a ast::Name),
    /// `hooks "acme.rhai"`, `table vips "vips.csv"`.
    File(&'a Spanned<String>),
    /// `{next_open}` inside a message.
    Placeholder {
        name: &'static str,
        span: Span,
    },
}

/// The kinds rename changes. An inbox's name is how stored conversations
/// find their inbox, so renaming one in the text would orphan them.
const RENAMES: [NameKind; 5] = [
    NameKind::Agent,
    NameKind::Team,
    NameKind::Hours,
    NameKind::Holidays,
    NameKind::Template,
];

/// Every name the policy declares or uses.
pub(crate) fn uses(ast: &ast::Policy) -> Vec<NameUse<'_>> {
    let mut all = names::declarations(ast);
    all.extend(names::references(ast));
    all
}

/// What is at a byte offset (the cursor touching either end of a name
/// counts as on it).
pub(crate) fn at(a: &Analysis, offset: usize) -> Option<Target<'_>> {
    let on = |span: Span| span.start <= offset && offset <= span.end;
    if let Some(found) = uses(&a.ast).into_iter().find(|u| on(u.name.span)) {
        return Some(Target::Name(found));
    }
    if let Some(hook) = a
        .ast
        .inboxes
        .iter()
        .flat_map(|i| &i.hooks)
        .find(|h| on(h.function.span))
    {
        return Some(Target::HookFunction(&hook.function));
    }
    let files = a.ast.hooks.iter().map(|h| &h.path);
    if let Some(path) = files
        .chain(a.ast.tables.iter().map(|t| &t.path))
        .find(|p| on(p.span))
    {
        return Some(Target::File(path));
    }
    placeholder_at(&a.text, offset)
}

/// A `{placeholder}` (or `{placeholder|fallback}`) around `offset`.
fn placeholder_at(text: &str, offset: usize) -> Option<Target<'static>> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let open = line_start + text[line_start..offset].rfind('{')?;
    let close = open + text[open..].find(['}', '\n'])?;
    if !text[close..].starts_with('}') || offset > close + 1 {
        return None;
    }
    let inside = &text[open + 1..close];
    let written = inside.split('|').next().unwrap_or(inside);
    let name = crate::syntax::lower::values::PLACEHOLDERS
        .iter()
        .find(|p| **p == written)?;
    Some(Target::Placeholder {
        name,
        span: Span::new(open, close + 1),
    })
}

/// The declaration of a name of this kind.
pub(crate) fn declaration<'a>(
    ast: &'a ast::Policy,
    kind: NameKind,
    name: &str,
) -> Option<&'a ast::Name> {
    names::declarations(ast)
        .into_iter()
        .find(|d| d.kind == kind && d.name.value == name)
        .map(|d| d.name)
}

/// Where the cursor's target is defined.
pub(crate) fn definition(
    ws: &Workspace,
    uri: &Url,
    a: &Analysis,
    offset: usize,
) -> Option<Location> {
    let lines = Lines::new(&a.text);
    match at(a, offset)? {
        Target::Name(used) => {
            let declared = declaration(&a.ast, used.kind, &used.name.value)?;
            Some(Location::new(uri.clone(), lines.range(declared.span)))
        }
        Target::HookFunction(function) => {
            let (script, text) = script_of(ws, a)?;
            let (_, range) = crate::hooks::definitions(&text)
                .into_iter()
                .find(|(name, _)| *name == function.value)?;
            let script_lines = Lines::new(&text);
            Some(Location::new(
                script,
                script_lines.range(Span::new(range.start, range.end)),
            ))
        }
        Target::File(path) => {
            let uri = Workspace::beside(a.folder.as_deref()?, &path.value)?;
            Some(Location::new(uri, Range::default()))
        }
        Target::Placeholder { .. } => None,
    }
}

/// The hook script a policy names, and its text (the editor's or the
/// disk's).
pub(crate) fn script_of(ws: &Workspace, a: &Analysis) -> Option<(Url, String)> {
    let path = &a.ast.hooks.as_ref()?.path.value;
    let uri = Workspace::beside(a.folder.as_deref()?, path)?;
    let text = ws.text(&uri)?;
    Some((uri, text))
}

/// Every place the cursor's name appears in the file.
pub(crate) fn references(
    uri: &Url,
    a: &Analysis,
    offset: usize,
    include_declaration: bool,
) -> Option<Vec<Location>> {
    let lines = Lines::new(&a.text);
    let spans: Vec<Span> = match at(a, offset)? {
        Target::Name(used) => same_name(&a.ast, used)
            .filter(|u| include_declaration || !u.declares)
            .map(|u| u.name.span)
            .collect(),
        Target::HookFunction(function) => a
            .ast
            .inboxes
            .iter()
            .flat_map(|i| &i.hooks)
            .filter(|h| h.function.value == function.value)
            .map(|h| h.function.span)
            .collect(),
        Target::File(_) | Target::Placeholder { .. } => return None,
    };
    Some(
        spans
            .into_iter()
            .map(|s| Location::new(uri.clone(), lines.range(s)))
            .collect(),
    )
}

fn same_name<'a>(ast: &'a ast::Policy, used: NameUse<'a>) -> impl Iterator<Item = NameUse<'a>> {
    uses(ast)
        .into_iter()
        .filter(move |u| u.kind == used.kind && u.name.value == used.name.value)
}

/// Whether the cursor's target can be renamed: its range, or why not.
pub(crate) fn prepare_rename(a: &Analysis, offset: usize) -> Result<Range, String> {
    let lines = Lines::new(&a.text);
    match at(a, offset) {
        Some(Target::Name(used)) if RENAMES.contains(&used.kind) => Ok(lines.range(used.name.span)),
        Some(Target::Name(used)) => Err(format!(
            "an {}'s name is how stored conversations find it; renaming it in the policy \
             would leave them behind, so it is not renamed here",
            used.kind.as_str()
        )),
        _ => Err("rename works on agents, teams, hours, holidays and templates".into()),
    }
}

/// Renames the cursor's name everywhere in the file.
pub(crate) fn rename(
    uri: &Url,
    a: &Analysis,
    offset: usize,
    new_name: &str,
) -> Result<WorkspaceEdit, String> {
    prepare_rename(a, offset)?;
    let Some(Target::Name(used)) = at(a, offset) else {
        return Err("nothing to rename here".into());
    };
    if !is_name(new_name) {
        return Err(format!(
            "`{new_name}` is not a name: a letter or `_`, then letters, digits or `_`"
        ));
    }
    if new_name != used.name.value && declaration(&a.ast, used.kind, new_name).is_some() {
        return Err(format!(
            "the policy already declares a {} `{new_name}`",
            used.kind.as_str()
        ));
    }
    let lines = Lines::new(&a.text);
    let edits = same_name(&a.ast, used)
        .map(|u| TextEdit::new(lines.range(u.name.span), new_name.to_string()))
        .collect();
    Ok(WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    })
}

/// What the grammar reads as a name.
fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_is_found_inside_its_braces_only() {
        let text = "template t \"Back {next_open|soon}, {nope}\"";
        let inside = text.find("next_open").unwrap() + 2;
        match placeholder_at(text, inside) {
            Some(Target::Placeholder { name, span }) => {
                assert_eq!(name, "next_open");
                assert_eq!(&text[span.start..span.end], "{next_open|soon}");
            }
            _ => panic!("no placeholder found"),
        }
        assert!(placeholder_at(text, text.find("nope").unwrap()).is_none());
        assert!(placeholder_at(text, text.find("Back").unwrap()).is_none());
    }

    #[test]
    fn names_are_what_the_grammar_reads_as_names() {
        assert!(is_name("ana_2") && is_name("_x"));
        assert!(!is_name("2ana") && !is_name("an-a") && !is_name(""));
    }
}
