//! `agent alice { name "Alice Ng"; teams sales; accepts ready break; max_sessions 3 }`

use super::deflection::Level;
use super::Lowerer;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::Agent;
use crate::syntax::document::Statement;

const EXAMPLE: &str = "agent alice { teams sales }";
pub(super) const SETTINGS: &[&str] = &[
    "name",
    "teams",
    "accepts",
    "max_sessions",
    "deflection",
    "edit_deflection",
];

/// The most sessions an agent can hold in one queue.
pub const MAX_SESSIONS: u32 = 100;

impl Lowerer {
    pub(crate) fn agent(&mut self, s: &Statement) -> Option<Agent> {
        let name = self.declared_name(s, EXAMPLE)?;
        self.no_more_values(s, 1, EXAMPLE);
        let mut agent = Agent {
            name,
            display_name: None,
            teams: Vec::new(),
            accepts: None,
            max_sessions: None,
            queue_max_sessions: Vec::new(),
            deflection: None,
            edit_deflection: None,
            span: s.span,
        };
        for setting in self.settings(s, "an agent", SETTINGS, &["max_sessions"]) {
            match setting.key() {
                "name" => {
                    agent.display_name = self
                        .one(setting, "\"Alice Ng\"")
                        .and_then(|v| self.string(v, "the agent's name in quotes"))
                }
                "teams" => agent.teams = self.names(setting, "sales support"),
                "accepts" => agent.accepts = Some(self.names(setting, "ready break restroom")),
                "max_sessions" => self.max_sessions(setting, &mut agent),
                "deflection" => agent.deflection = self.deflection(setting, Level::Agent),
                "edit_deflection" => agent.edit_deflection = self.boolean(setting),
                _ => {}
            }
        }
        Some(agent)
    }

    /// `max_sessions 3` for every queue, or `max_sessions billing 5` for one.
    fn max_sessions(&mut self, s: &Statement, agent: &mut Agent) {
        match s.values.as_slice() {
            [count] => {
                if agent.max_sessions.is_some() {
                    self.push(
                        Diagnostic::new(
                            Code::RepeatedSetting,
                            s.key.span,
                            "the agent's default `max_sessions` is set twice",
                        )
                        .hint("set it once; name a queue to set that queue's limit: `max_sessions billing 5`"),
                    );
                    return;
                }
                agent.max_sessions = self.count(count, 1, MAX_SESSIONS);
            }
            [queue, count] => {
                let queue = self.name(queue, "a queue inbox's name");
                let count = self.count(count, 1, MAX_SESSIONS);
                if let (Some(queue), Some(count)) = (queue, count) {
                    agent.queue_max_sessions.push((queue, count));
                }
            }
            _ => self.push(
                Diagnostic::new(
                    Code::WrongArity,
                    s.span,
                    "`max_sessions` takes a count, or a queue and a count",
                )
                .hint("write `max_sessions 3` or `max_sessions billing 5`"),
            ),
        }
    }
}
