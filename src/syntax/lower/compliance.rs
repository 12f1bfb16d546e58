//! `compliance { opt_out STOP QUIT; opt_out_reply "..."; help HELP; ... }`

use super::Lowerer;
use crate::syntax::ast::Compliance;
use crate::syntax::document::Statement;

const SETTINGS: &[&str] = &[
    "opt_out",
    "opt_out_reply",
    "opt_in",
    "opt_in_reply",
    "help",
    "help_reply",
];

impl Lowerer {
    pub(crate) fn compliance(&mut self, s: &Statement) -> Option<Compliance> {
        self.no_more_values(s, 0, "compliance { opt_out STOP }");
        let mut compliance = Compliance {
            span: s.span,
            ..Compliance::default()
        };
        if !self.require_block(s, "compliance { opt_out STOP QUIT }") {
            return Some(compliance);
        }
        for setting in self.settings(s, "compliance", SETTINGS, &[]) {
            match setting.key() {
                "opt_out" => compliance.opt_out = Some(self.keywords(setting)),
                "opt_in" => compliance.opt_in = Some(self.keywords(setting)),
                "help" => compliance.help = Some(self.keywords(setting)),
                "opt_out_reply" => compliance.opt_out_reply = self.message(setting),
                "opt_in_reply" => compliance.opt_in_reply = self.message(setting),
                "help_reply" => compliance.help_reply = self.message(setting),
                _ => {}
            }
        }
        Some(compliance)
    }
}
