//! Where a policy declares and uses each name: the one walk over the AST's
//! names, read by the checker (is every used name declared?) and by the
//! editor server (go to definition, find references, rename).

use super::ast::{Deflection, HoursRule, Message, Name, Policy};

/// The kinds of names a policy declares and refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameKind {
    Agent,
    Team,
    Inbox,
    Hours,
    Holidays,
    Template,
}

impl NameKind {
    /// How messages and hovers call it.
    pub fn as_str(self) -> &'static str {
        match self {
            NameKind::Agent => "agent",
            NameKind::Team => "team",
            NameKind::Inbox => "inbox",
            NameKind::Hours => "hours",
            NameKind::Holidays => "holidays calendar",
            NameKind::Template => "template",
        }
    }

    /// A declaration of `name`, as a hint writes it.
    pub fn example(self, name: &str) -> String {
        match self {
            NameKind::Agent => format!("agent {name} {{ teams ... }}"),
            NameKind::Team => format!("team {name} {{ members ... }}"),
            NameKind::Inbox => format!("inbox {name} queue {{ ... }}"),
            NameKind::Hours => format!("hours {name} {{ mon-fri 09:00-17:00 }}"),
            NameKind::Holidays => format!("holidays {name} {{ holiday 2026-12-25 }}"),
            NameKind::Template => format!("template {name} \"...\""),
        }
    }
}

/// One place a name appears.
#[derive(Clone, Copy, Debug)]
pub struct NameUse<'a> {
    pub kind: NameKind,
    pub name: &'a Name,
    /// Its declaration, rather than a reference to one.
    pub declares: bool,
}

/// Every declaration, in the order of the file's kinds (hours, holidays,
/// templates, teams, agents, inboxes), each kind in declaration order.
pub fn declarations(ast: &Policy) -> Vec<NameUse<'_>> {
    let declared = |kind, name| NameUse {
        kind,
        name,
        declares: true,
    };
    let mut out = Vec::new();
    out.extend(ast.hours.iter().map(|h| declared(NameKind::Hours, &h.name)));
    out.extend(
        ast.holidays
            .iter()
            .map(|h| declared(NameKind::Holidays, &h.name)),
    );
    out.extend(
        ast.templates
            .iter()
            .map(|t| declared(NameKind::Template, &t.name)),
    );
    out.extend(ast.teams.iter().map(|t| declared(NameKind::Team, &t.name)));
    out.extend(
        ast.agents
            .iter()
            .map(|a| declared(NameKind::Agent, &a.name)),
    );
    out.extend(
        ast.inboxes
            .iter()
            .map(|i| declared(NameKind::Inbox, &i.name)),
    );
    out
}

/// Every reference to a declared name, in file order within each
/// declaration.
pub fn references(ast: &Policy) -> Vec<NameUse<'_>> {
    let mut out = Refs(Vec::new());
    for team in &ast.teams {
        out.all(NameKind::Agent, &team.members);
        out.deflection(team.deflection.as_ref().map(|d| &d.value));
    }
    for agent in &ast.agents {
        out.all(NameKind::Team, &agent.teams);
        for (queue, _) in &agent.queue_max_sessions {
            out.one(NameKind::Inbox, queue);
        }
        out.deflection(agent.deflection.as_ref().map(|d| &d.value));
    }
    for hours in &ast.hours {
        for rule in &hours.rules {
            if let HoursRule::Calendar(calendar) = rule {
                out.one(NameKind::Holidays, calendar);
            }
        }
    }
    for inbox in &ast.inboxes {
        out.all(NameKind::Team, &inbox.teams);
        out.all(NameKind::Agent, inbox.agents.iter().chain(&inbox.agent));
        if let Some(hours) = &inbox.hours {
            out.one(NameKind::Hours, hours);
        }
        for message in inbox.messages() {
            out.message(message.as_ref());
        }
    }
    out.deflection(ast.deflection.as_ref().map(|d| &d.value));
    if let Some(compliance) = &ast.compliance {
        for message in [
            &compliance.opt_out_reply,
            &compliance.opt_in_reply,
            &compliance.help_reply,
        ] {
            out.message(message.as_ref());
        }
    }
    out.0
}

struct Refs<'a>(Vec<NameUse<'a>>);

impl<'a> Refs<'a> {
    fn one(&mut self, kind: NameKind, name: &'a Name) {
        self.0.push(NameUse {
            kind,
            name,
            declares: false,
        });
    }

    fn all(&mut self, kind: NameKind, names: impl IntoIterator<Item = &'a Name>) {
        for name in names {
            self.one(kind, name);
        }
    }

    fn message(&mut self, message: Option<&'a Message>) {
        if let Some(Message::Template(name)) = message {
            self.one(NameKind::Template, name);
        }
    }

    fn deflection(&mut self, deflection: Option<&'a Deflection>) {
        if let Some(Deflection::On { hours, message }) = deflection {
            if let Some(hours) = hours {
                self.one(NameKind::Hours, hours);
            }
            self.message(message.as_ref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_is_found_with_its_kind() {
        let source = "tenant t { zone UTC; country US }\n\
            hours office { mon-fri 09:00-17:00 }\n\
            template away \"later\"\n\
            team sales { members ana }\n\
            agent ana { teams sales }\n\
            inbox main shared { teams sales; hours office; after_hours away }\n";
        let (ast, _) = crate::syntax::parse(source);
        let found: Vec<(NameKind, &str, bool)> = declarations(&ast)
            .into_iter()
            .chain(references(&ast))
            .map(|u| (u.kind, u.name.value.as_str(), u.declares))
            .collect();
        assert_eq!(
            found,
            [
                (NameKind::Hours, "office", true),
                (NameKind::Template, "away", true),
                (NameKind::Team, "sales", true),
                (NameKind::Agent, "ana", true),
                (NameKind::Inbox, "main", true),
                (NameKind::Agent, "ana", false),
                (NameKind::Team, "sales", false),
                (NameKind::Team, "sales", false),
                (NameKind::Hours, "office", false),
                (NameKind::Template, "away", false),
            ]
        );
    }
}
