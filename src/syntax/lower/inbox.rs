//! `inbox NAME shared|queue|direct { ... }`: the three kinds of inbox.

use super::Lowerer;
use crate::diag::Spanned;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::{ClaimMode, Inbox, InboxKind};
use crate::syntax::document::Statement;

const EXAMPLE: &str = "inbox sales shared { numbers +14155550100; teams sales }";

/// Settings every kind of inbox takes.
pub(super) const COMMON: &[&str] = &[
    "name",
    "language",
    "clock",
    "numbers",
    "hours",
    "after_hours",
    "alerts",
    "hook",
];
pub(super) const SHARED: &[&str] = &[
    "teams",
    "agents",
    "claim",
    "lock",
    "autoresponder",
    "bot",
    "copy_team",
];
pub(super) const QUEUE: &[&str] = &[
    "teams",
    "agents",
    "autoresponder",
    "bot",
    "initiation_keyword",
    "initiation_message",
    "initiation_needed",
    "termination_keyword",
    "termination_message",
    "no_agents",
    "max_sessions",
    "session_timeout",
];
pub(super) const DIRECT: &[&str] = &["agent"];

impl Lowerer {
    pub(crate) fn inbox(&mut self, s: &Statement) -> Option<Inbox> {
        let name = self.declared_name(s, EXAMPLE)?;
        let kind = self.inbox_kind(s)?;
        let kind_value = kind.value;
        self.no_more_values(s, 2, EXAMPLE);
        let mut inbox = Inbox {
            name,
            display_name: None,
            language: None,
            clock: None,
            kind,
            numbers: Vec::new(),
            teams: Vec::new(),
            agents: Vec::new(),
            agent: None,
            hours: None,
            after_hours: None,
            claim: None,
            lock: None,
            autoresponder: None,
            bot: None,
            copy_team: None,
            alerts: None,
            initiation_keywords: Vec::new(),
            initiation_message: None,
            initiation_needed: None,
            termination_keywords: Vec::new(),
            termination_message: None,
            no_agents: None,
            max_sessions: None,
            session_timeout: None,
            hooks: Vec::new(),
            span: s.span,
        };
        if !self.require_block(s, EXAMPLE) {
            return Some(inbox);
        }
        let all: Vec<&str> = [COMMON, SHARED, QUEUE, DIRECT].concat();
        let own: &[&str] = match kind_value {
            InboxKind::Shared => SHARED,
            InboxKind::Queue => QUEUE,
            InboxKind::Direct => DIRECT,
        };
        for setting in self.settings(s, "an inbox", &all, &["hook"]) {
            let key = setting.key();
            if !COMMON.contains(&key) && !own.contains(&key) {
                self.wrong_kind(setting, kind_value);
                continue;
            }
            match key {
                "name" => {
                    inbox.display_name = self
                        .one(setting, "\"Lakewood Clinic\"")
                        .and_then(|v| self.string(v, "the inbox's name in quotes"))
                }
                "language" => inbox.language = self.language(setting),
                "clock" => inbox.clock = self.clock_setting(setting),
                "numbers" => {
                    let values = self.some(setting, "+14155550100");
                    inbox.numbers = values.iter().filter_map(|v| self.phone(v)).collect();
                }
                "teams" => inbox.teams = self.names(setting, "sales support"),
                "agents" => inbox.agents = self.names(setting, "alice bob"),
                "agent" => {
                    inbox.agent = self
                        .one(setting, "alice")
                        .and_then(|v| self.name(v, "the agent's name"))
                }
                "hours" => {
                    inbox.hours = self
                        .one(setting, "office")
                        .and_then(|v| self.name(v, "the name of an hours declaration"))
                }
                "after_hours" => inbox.after_hours = self.message(setting),
                "alerts" => inbox.alerts = self.one_duration(setting),
                "hook" => inbox.hooks.extend(self.hook_ref(setting)),
                "claim" => inbox.claim = self.claim(setting),
                "lock" => inbox.lock = self.lock(setting),
                "autoresponder" => inbox.autoresponder = self.message(setting),
                "bot" => {
                    inbox.bot = self
                        .one(setting, "\"Acme Bot\"")
                        .and_then(|v| self.string(v, "the bot's name in quotes"))
                }
                "copy_team" => inbox.copy_team = self.boolean(setting),
                "initiation_keyword" => inbox.initiation_keywords = self.keywords(setting),
                "initiation_message" => inbox.initiation_message = self.message(setting),
                "initiation_needed" => inbox.initiation_needed = self.message(setting),
                "termination_keyword" => inbox.termination_keywords = self.keywords(setting),
                "termination_message" => inbox.termination_message = self.message(setting),
                "no_agents" => inbox.no_agents = self.message(setting),
                "max_sessions" => {
                    inbox.max_sessions = self.one_count(setting, 1, super::agent::MAX_SESSIONS)
                }
                "session_timeout" => inbox.session_timeout = self.one_duration(setting),
                _ => {}
            }
        }
        Some(inbox)
    }

    fn inbox_kind(&mut self, s: &Statement) -> Option<Spanned<InboxKind>> {
        let Some(v) = s.values.get(1) else {
            self.push(
                Diagnostic::new(
                    Code::WrongArity,
                    s.span,
                    "an inbox needs its kind: shared, queue or direct",
                )
                .hint(format!("for example: {EXAMPLE}")),
            );
            return None;
        };
        let kind = match v.text.value.as_str() {
            "shared" => InboxKind::Shared,
            "queue" => InboxKind::Queue,
            "direct" => InboxKind::Direct,
            other => {
                let hint = match crate::diag::did_you_mean(other, &["shared", "queue", "direct"]) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "shared: a team inbox; queue: keyword sessions or a number routed to all members; direct: one agent's number".into(),
                };
                self.push(
                    Diagnostic::new(
                        Code::UnknownInboxKind,
                        v.span(),
                        format!("unknown inbox kind `{other}`"),
                    )
                    .hint(hint),
                );
                return None;
            }
        };
        Some(Spanned::new(kind, v.span()))
    }

    /// `lock 30m`, or `lock off` for no reply lock.
    fn lock(&mut self, s: &Statement) -> Option<Spanned<Option<crate::syntax::ast::Duration>>> {
        let v = self.one(s, "30m")?;
        if v.text.value == "off" {
            return Some(Spanned::new(None, v.span()));
        }
        self.duration(v)
            .map(|d| Spanned::new(Some(d.value), d.span))
    }

    fn claim(&mut self, s: &Statement) -> Option<Spanned<ClaimMode>> {
        let v = self.one(s, "can")?;
        let mode = match v.text.value.as_str() {
            "can" => ClaimMode::Can,
            "cannot" => ClaimMode::Cannot,
            "must" => ClaimMode::Must,
            other => {
                self.push(
                    Diagnostic::new(Code::WrongValue, v.span(), format!("unknown claim mode `{other}`"))
                        .hint("claim is `can` (may be claimed), `cannot` (never claimed) or `must` (claimed before a reply)"),
                );
                return None;
            }
        };
        Some(Spanned::new(mode, v.span()))
    }

    fn wrong_kind(&mut self, s: &Statement, kind: InboxKind) {
        let key = s.key();
        let belongs = if SHARED.contains(&key) && QUEUE.contains(&key) {
            "shared and queue inboxes"
        } else if SHARED.contains(&key) {
            "shared inboxes"
        } else if QUEUE.contains(&key) {
            "queue inboxes"
        } else {
            "direct inboxes"
        };
        let hint = match (kind, key) {
            (InboxKind::Direct, "teams" | "agents") => {
                "a direct inbox belongs to one agent (`agent alice`); to route a number to several agents use a queue inbox".to_string()
            }
            _ => format!("`{key}` is a setting of {belongs}"),
        };
        self.push(
            Diagnostic::new(
                Code::WrongInboxKind,
                s.key.span,
                format!("`{key}` does not apply to a {} inbox", kind.as_str()),
            )
            .hint(hint),
        );
    }
}
