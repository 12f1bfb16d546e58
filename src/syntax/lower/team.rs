//! `team sales { members alice bob; deflection inherit }`

use super::deflection::Level;
use super::Lowerer;
use crate::syntax::ast::Team;
use crate::syntax::document::Statement;

const EXAMPLE: &str = "team sales { members alice bob }";
pub(super) const SETTINGS: &[&str] = &["members", "deflection"];

impl Lowerer {
    pub(crate) fn team(&mut self, s: &Statement) -> Option<Team> {
        let name = self.declared_name(s, EXAMPLE)?;
        self.no_more_values(s, 1, EXAMPLE);
        let mut team = Team {
            name,
            members: Vec::new(),
            deflection: None,
            span: s.span,
        };
        for setting in self.settings(s, "a team", SETTINGS, &[]) {
            match setting.key() {
                "members" => team.members = self.names(setting, "alice bob"),
                "deflection" => team.deflection = self.deflection(setting, Level::Team),
                _ => {}
            }
        }
        Some(team)
    }
}
