//! Warnings: legal, but probably not what the admin meant.

use super::Checker;
use crate::diag::{Code, Diagnostic};
use crate::policy::compliance;
use crate::syntax::ast::{Channel, Deflection, HoursRule, Message};
use std::collections::HashSet;

impl Checker<'_> {
    pub(super) fn warnings(&mut self) {
        let ast = self.ast;
        let mut used_hours: HashSet<&str> = HashSet::new();
        let mut used_templates: HashSet<&str> = HashSet::new();
        let mut used_teams: HashSet<&str> = HashSet::new();
        let mut used_numbers: HashSet<&str> = HashSet::new();

        for inbox in &ast.inboxes {
            used_teams.extend(inbox.teams.iter().map(|t| t.value.as_str()));
            used_numbers.extend(inbox.numbers.iter().map(|n| n.value.as_str()));
            for m in inbox.messages() {
                note_message(m, &mut used_templates);
            }
            if let Some(hours) = &inbox.hours {
                used_hours.insert(&hours.value);
                self.never_open(&hours.value, hours.span, &inbox.name.value);
            }
            if inbox.autoresponder.is_some() && !inbox.numbers.is_empty() {
                let texts_sms = inbox.numbers.iter().any(|n| {
                    ast.numbers.iter().any(|d| {
                        d.number.value == n.value
                            && d.channels.iter().any(|c| c.value == Channel::Sms)
                    })
                });
                if !texts_sms {
                    self.push(
                        Diagnostic::new(Code::AutoresponderNeverSent, inbox.name.span, format!("inbox `{}` has an autoresponder but no SMS number", inbox.name.value))
                            .hint("the policy's autoresponder goes out on SMS only; an autoresponder hook can answer on WhatsApp"),
                    );
                }
            }
        }
        let deflections = ast
            .teams
            .iter()
            .filter_map(|t| t.deflection.as_ref())
            .chain(ast.agents.iter().filter_map(|a| a.deflection.as_ref()))
            .chain(ast.deflection.as_ref());
        for deflection in deflections {
            if let Deflection::On { hours, message } = &deflection.value {
                if let Some(h) = hours {
                    used_hours.insert(&h.value);
                }
                note_message(message, &mut used_templates);
            }
        }
        if let Some(c) = &ast.compliance {
            for m in [&c.opt_out_reply, &c.opt_in_reply, &c.help_reply] {
                note_message(m, &mut used_templates);
            }
        }

        for team in &ast.teams {
            // A team's deflection shapes its members' direct numbers.
            let sets_deflection = team
                .deflection
                .as_ref()
                .is_some_and(|d| d.value != Deflection::Inherit);
            if !sets_deflection && !used_teams.contains(team.name.value.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::UnusedTeam,
                        team.name.span,
                        format!("no inbox uses team `{}`", team.name.value),
                    )
                    .hint("add it to an inbox with `teams`, or remove it"),
                );
            }
        }
        for number in &ast.numbers {
            if !used_numbers.contains(number.number.value.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::UnusedNumber,
                        number.number.span,
                        format!(
                            "number {} is in no inbox; messages to it are not routed",
                            number.number.value
                        ),
                    )
                    .hint("add it to an inbox's `numbers`, or remove it"),
                );
            }
        }
        let used_calendars: HashSet<&str> = ast
            .hours
            .iter()
            .flat_map(|h| &h.rules)
            .filter_map(|r| match r {
                HoursRule::Calendar(name) => Some(name.value.as_str()),
                _ => None,
            })
            .collect();
        for calendar in &ast.holidays {
            if !used_calendars.contains(calendar.name.value.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::UnusedHolidays,
                        calendar.name.span,
                        format!("no hours use holidays `{}`", calendar.name.value),
                    )
                    .hint(format!(
                        "name it in the hours it closes (`holidays {}`), or remove it",
                        calendar.name.value
                    )),
                );
            }
        }
        for hours in &ast.hours {
            if !used_hours.contains(hours.name.value.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::UnusedHours,
                        hours.name.span,
                        format!("nothing uses hours `{}`", hours.name.value),
                    )
                    .hint("name it in an inbox (`hours ...`) or a deflection, or remove it"),
                );
            }
        }
        for template in &ast.templates {
            if !used_templates.contains(template.name.value.as_str()) {
                self.push(
                    Diagnostic::new(
                        Code::UnusedTemplate,
                        template.name.span,
                        format!("nothing uses template `{}`", template.name.value),
                    )
                    .hint("name it where a message goes, or remove it"),
                );
            }
        }
        if let Some(country) = ast.tenant.as_ref().and_then(|t| t.country.as_ref()) {
            if compliance::defaults(&country.value).is_none() {
                self.push(
                    Diagnostic::new(Code::CountryWithoutDefaults, country.span, format!("switchboard has no default compliance keywords for {}", country.value))
                        .hint("list them in a `compliance` block; until then STOP, UNSUBSCRIBE, START and HELP apply"),
                );
            }
        }
    }

    /// Warns when an inbox's hours never open.
    fn never_open(&mut self, hours: &str, span: crate::diag::Span, inbox: &str) {
        let Some(decl) = self.ast.hours.iter().find(|h| h.name.value == hours) else {
            return;
        };
        let opens = decl.rules.iter().any(|rule| match rule {
            HoursRule::Weekly { intervals, .. } | HoursRule::Special { intervals, .. } => {
                !intervals.is_empty()
            }
            HoursRule::Always(_) => true,
            HoursRule::Holiday { .. } | HoursRule::Calendar(_) => false,
        });
        if !opens {
            self.push(
                Diagnostic::new(Code::NeverOpen, span, format!("inbox `{inbox}` is never open: hours `{hours}` open on no day"))
                    .hint("every message will get the after-hours reply; add opening times such as `mon-fri 09:00-17:00`"),
            );
        }
    }
}

fn note_message<'a>(message: &'a Option<Message>, used: &mut HashSet<&'a str>) {
    if let Some(Message::Template(name)) = message {
        used.insert(name.value.as_str());
    }
}
