//! Completion: the settings a block takes where a statement starts, the
//! values a setting takes after its key (zones, countries, channels, claim
//! modes, inbox kinds, hook points, statuses), the names in scope where a
//! setting names something, hook functions the script defines, and
//! placeholders inside a message.

use super::navigate;
use super::workspace::{Analysis, Workspace};
use crate::syntax::document::Item;
use crate::syntax::lower;
use crate::syntax::names::NameKind;
use crate::vocab::{Channel, ClaimMode, HookPoint, InboxKind};
use lsp_types::{CompletionItem, CompletionItemKind};

/// What to offer at `offset`.
pub(crate) fn complete(ws: &Workspace, a: &Analysis, offset: usize) -> Vec<CompletionItem> {
    let offset = offset.min(a.text.len());
    let line_start = a.text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &a.text[line_start..offset];
    if let Some(items) = placeholders(before) {
        return items;
    }
    let (document, _) = crate::syntax::parse::parse_document(&a.text);
    let (path, kind) = block_at(&a.text, &document.items, offset);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let words: Vec<&str> = before.split_whitespace().collect();
    let typing_word = !before.ends_with(char::is_whitespace);
    // The word being typed is not yet a value: the key is the first word,
    // and the values before the cursor's one are the rest.
    let done = words.len() - usize::from(typing_word && !words.is_empty());
    if done == 0 {
        return lower::settings(&path, kind)
            .into_iter()
            .map(|s| item(s, CompletionItemKind::KEYWORD, "setting"))
            .collect();
    }
    values(ws, a, &path, words[0], done - 1)
}

/// Inside a string, after an unclosed `{`: the placeholders.
fn placeholders(before: &str) -> Option<Vec<CompletionItem>> {
    let quotes = before.matches('"').count() - before.matches("\\\"").count();
    let open = before.rfind('{')?;
    if quotes.is_multiple_of(2) || before[open..].contains('}') {
        return None;
    }
    Some(
        lower::values::PLACEHOLDERS
            .iter()
            .map(|p| {
                let mut it = item(p, CompletionItemKind::VARIABLE, "placeholder");
                it.documentation = lower::values::placeholder_meaning(p)
                    .map(|m| lsp_types::Documentation::String(m.to_string()));
                it
            })
            .collect(),
    )
}

/// The keys of the statements whose blocks hold `offset`, outermost
/// first, and the kind of the inbox among them.
fn block_at(text: &str, items: &[Item], offset: usize) -> (Vec<String>, Option<InboxKind>) {
    let mut path = Vec::new();
    let mut kind = None;
    let mut items = items;
    'down: loop {
        for statement in items.iter().filter_map(|i| match i {
            Item::Statement(s) => Some(s),
            _ => None,
        }) {
            let Some(block) = &statement.block else {
                continue;
            };
            // A block left open ends where the parser stopped it, which
            // is where the cursor is while the block is being written.
            let open = !text[..block.span.end.min(text.len())].ends_with('}');
            let inside = block.span.start < offset
                && (offset < block.span.end || (open && offset == block.span.end));
            if inside {
                if statement.key() == "inbox" {
                    kind = statement.values.get(1).and_then(|v| {
                        InboxKind::ALL
                            .into_iter()
                            .find(|k| k.as_str() == v.text.value)
                    });
                }
                path.push(statement.key().to_string());
                items = &block.items;
                continue 'down;
            }
        }
        return (path, kind);
    }
}

/// The values of `key` at position `index` (0: its first value).
fn values(
    ws: &Workspace,
    a: &Analysis,
    path: &[&str],
    key: &str,
    index: usize,
) -> Vec<CompletionItem> {
    let words = |list: &mut dyn Iterator<Item = &str>, what: &str| -> Vec<CompletionItem> {
        list.map(|w| item(w, CompletionItemKind::ENUM_MEMBER, what))
            .collect()
    };
    let names = |kind: NameKind| -> Vec<CompletionItem> {
        crate::syntax::names::declarations(&a.ast)
            .into_iter()
            .filter(|d| d.kind == kind)
            .map(|d| item(&d.name.value, CompletionItemKind::REFERENCE, kind.as_str()))
            .collect()
    };
    let on_off = || words(&mut ["on", "off"].into_iter(), "switch");
    match (path, key) {
        ([], "inbox") if index == 1 => {
            words(&mut InboxKind::ALL.iter().map(|k| k.as_str()), "inbox kind")
        }
        ([], "deflection") | ([_], "deflection") if index == 0 => {
            words(&mut ["inherit", "off"].into_iter(), "deflection")
        }
        (_, "zone") if index == 0 => words(
            &mut chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()),
            "time zone",
        ),
        (_, "country") => words(&mut crate::vocab::COUNTRIES.iter().copied(), "country"),
        (_, "channels") => words(&mut Channel::ALL.iter().map(|c| c.as_str()), "channel"),
        (_, "claim") if index == 0 => {
            words(&mut ClaimMode::ALL.iter().map(|c| c.as_str()), "claim mode")
        }
        (_, "clock") if index == 0 => words(&mut ["12h", "24h"].into_iter(), "clock"),
        (_, "sms" | "copy_team" | "edit_deflection") if index == 0 => on_off(),
        (_, "lock") if index == 0 => words(&mut ["off", "30m"].into_iter(), "lock"),
        (["inbox"], "hook") if index == 0 => {
            words(&mut HookPoint::ALL.iter().map(|h| h.as_str()), "hook point")
        }
        (["inbox"], "hook") if index == 1 => hook_functions(ws, a),
        (["inbox"], "teams") | (["agent"], "teams") => names(NameKind::Team),
        (["inbox"], "agents" | "agent") | (["team"], "members") => names(NameKind::Agent),
        (["agent"], "max_sessions") if index == 0 => names(NameKind::Inbox),
        (["hours"], "holidays") => names(NameKind::Holidays),
        (_, "hours") if index == 0 => names(NameKind::Hours),
        (["agent"], "accepts") => {
            let mut statuses: Vec<String> = crate::syntax::ast::BUILTIN_STATUSES
                .iter()
                .map(|s| s.to_string())
                .collect();
            if let Some(tenant) = &a.ast.tenant {
                statuses.extend(tenant.statuses.iter().map(|s| s.value.clone()));
            }
            words(&mut statuses.iter().map(String::as_str), "status")
        }
        (_, key) if index == 0 && is_message(key) => names(NameKind::Template),
        _ => Vec::new(),
    }
}

/// Settings whose value is a message: a template's name or a string.
fn is_message(key: &str) -> bool {
    matches!(
        key,
        "after_hours"
            | "autoresponder"
            | "message"
            | "initiation_message"
            | "initiation_needed"
            | "termination_message"
            | "no_agents"
            | "opt_out_reply"
            | "opt_in_reply"
            | "help_reply"
    )
}

/// The functions the policy's hook script defines.
fn hook_functions(ws: &Workspace, a: &Analysis) -> Vec<CompletionItem> {
    let Some((_, text)) = navigate::script_of(ws, a) else {
        return Vec::new();
    };
    crate::hooks::definitions(&text)
        .into_iter()
        .map(|(name, _)| item(&name, CompletionItemKind::FUNCTION, "hook function"))
        .collect()
}

fn item(label: &str, kind: CompletionItemKind, detail: &str) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: Some(detail.to_string()),
        ..CompletionItem::default()
    }
}
