//! Inbox rules: members, a direct inbox's agent, a keyword queue's messages
//! and keywords.

use super::Checker;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{Inbox, InboxKind};
use std::collections::HashMap;

impl Checker<'_> {
    pub(super) fn inboxes(&mut self) {
        for inbox in &self.ast.inboxes {
            match inbox.kind.value {
                InboxKind::Direct => {
                    if inbox.agent.is_none() {
                        self.push(
                            Diagnostic::new(
                                Code::DirectWithoutAgent,
                                inbox.name.span,
                                format!("direct inbox `{}` has no agent", inbox.name.value),
                            )
                            .hint("a direct number belongs to one agent: add `agent alice`"),
                        );
                    }
                }
                InboxKind::Shared | InboxKind::Queue => {
                    let symbols = &self.symbols;
                    let all_known = inbox
                        .teams
                        .iter()
                        .all(|t| symbols.teams.contains_key(t.value.as_str()))
                        && inbox
                            .agents
                            .iter()
                            .all(|a| symbols.agents.contains_key(a.value.as_str()));
                    // An unknown name is reported already; its members are unknowable.
                    if all_known && self.member_count(inbox) == 0 {
                        let names_none = inbox.teams.is_empty() && inbox.agents.is_empty();
                        let (why, hint) = if names_none {
                            (
                                "it names no teams or agents",
                                "add `teams sales` or `agents alice bob`, so someone can answer"
                                    .to_string(),
                            )
                        } else {
                            let teams: Vec<String> = inbox
                                .teams
                                .iter()
                                .map(|t| format!("`{}`", t.value))
                                .collect();
                            (
                                "its teams have no members",
                                format!(
                                    "give team {} members, or add agents to the inbox with `agents alice`",
                                    teams.join(", ")
                                ),
                            )
                        };
                        self.push(
                            Diagnostic::new(
                                Code::NoMembers,
                                inbox.name.span,
                                format!("inbox `{}` has no members: {why}", inbox.name.value),
                            )
                            .hint(hint),
                        );
                    }
                }
            }
            if inbox.kind.value == InboxKind::Queue {
                self.keyword_queue(inbox);
            }
        }
    }

    /// Agents who would see the inbox: its agents and its teams' members.
    fn member_count(&self, inbox: &Inbox) -> usize {
        let symbols = &self.symbols;
        let mut members: Vec<usize> = inbox
            .agents
            .iter()
            .filter_map(|a| symbols.agents.get(a.value.as_str()).copied())
            .collect();
        for team in &inbox.teams {
            if let Some(&t) = symbols.teams.get(team.value.as_str()) {
                members.extend(&symbols.team_members[t]);
            }
        }
        members.sort_unstable();
        members.dedup();
        members.len()
    }

    fn keyword_queue(&mut self, inbox: &Inbox) {
        let name = &inbox.name;
        if inbox.initiation_keywords.is_empty() {
            // A queue without keywords routes every message to its members;
            // keyword messages would never be sent.
            let stray = [
                (
                    "initiation_message",
                    inbox.initiation_message.as_ref().map(|m| m.span()),
                ),
                (
                    "initiation_needed",
                    inbox.initiation_needed.as_ref().map(|m| m.span()),
                ),
                (
                    "termination_keyword",
                    inbox.termination_keywords.first().map(|k| k.span),
                ),
                (
                    "termination_message",
                    inbox.termination_message.as_ref().map(|m| m.span()),
                ),
                ("no_agents", inbox.no_agents.as_ref().map(|m| m.span())),
            ];
            for (key, span) in stray {
                if let Some(span) = span {
                    self.push(
                        Diagnostic::new(Code::MissingSetting, span, format!("`{key}` in queue `{}`, which has no initiation keyword", name.value))
                            .hint("add `initiation_keyword START` to make this a keyword queue, or remove the setting"),
                    );
                }
            }
            return;
        }
        let required = [
            (
                "initiation_message",
                inbox.initiation_message.is_some(),
                "the reply when a customer starts a session",
            ),
            (
                "initiation_needed",
                inbox.initiation_needed.is_some(),
                "the reply to a message that does not start with the keyword",
            ),
            (
                "no_agents",
                inbox.no_agents.is_some(),
                "the reply when no agent is available",
            ),
        ];
        for (key, present, what) in required {
            if !present {
                self.push(
                    Diagnostic::new(
                        Code::MissingMessage,
                        name.span,
                        format!("keyword queue `{}` has no `{key}`", name.value),
                    )
                    .hint(format!("add `{key} \"...\"`: {what}")),
                );
            }
        }
        if !inbox.termination_keywords.is_empty() && inbox.termination_message.is_none() {
            self.push(
                Diagnostic::new(
                    Code::MissingMessage,
                    name.span,
                    format!(
                        "keyword queue `{}` has a termination keyword but no `termination_message`",
                        name.value
                    ),
                )
                .hint(
                    "add `termination_message \"...\"`: the reply when a customer ends the session",
                ),
            );
        }
        let mut seen: HashMap<&str, _> = HashMap::new();
        for keyword in inbox
            .initiation_keywords
            .iter()
            .chain(&inbox.termination_keywords)
        {
            if let Some(&first) = seen.get(keyword.value.as_str()) {
                self.push(
                    Diagnostic::new(Code::DuplicateKeyword, keyword.span, format!("keyword `{}` is used twice in queue `{}`", keyword.value, name.value))
                        .related(first, "first used")
                        .hint("each keyword starts or ends a session, not both; keywords ignore case and spacing"),
                );
                continue;
            }
            seen.insert(&keyword.value, keyword.span);
        }
    }
}
