//! Filling message placeholders, and sending: the one place every outbound
//! message passes, so opt-outs are enforced once.

use super::decision::{Decision, Outbound, Step, Why};
use super::event::Customer;
use super::state::State;
use crate::policy::Text;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use smol_str::SmolStr;

/// The values a message's placeholders take.
pub(crate) struct Fill<'a> {
    pub tenant: &'a str,
    pub customer_number: &'a str,
    pub customer: &'a Customer,
    pub inbox: &'a str,
    pub business_number: &'a str,
    pub agent: Option<&'a str>,
    /// When the relevant hours next open, in their zone.
    pub next_open: Option<(DateTime<Utc>, Tz)>,
}

impl Fill<'_> {
    pub fn render(&self, text: &Text) -> String {
        text.render(|name| {
            Some(match name {
                "customer_name" => self.customer.name.as_deref().unwrap_or("").to_string(),
                "customer_number" => self.customer_number.to_string(),
                "inbox" => self.inbox.to_string(),
                "business_number" => self.business_number.to_string(),
                "agent" => self.agent.unwrap_or("").to_string(),
                "tenant" => self.tenant.to_string(),
                "next_open" => match self.next_open {
                    Some((at, zone)) => at
                        .with_timezone(&zone)
                        .format("%a %b %-d at %H:%M")
                        .to_string(),
                    None => "soon".to_string(),
                },
                _ => return None,
            })
        })
    }
}

/// Adds a message to the decision, unless the customer opted out and the
/// message is not the opt-out confirmation itself.
pub(crate) fn send(
    state: &State,
    d: &mut Decision,
    to: &SmolStr,
    from: &SmolStr,
    text: String,
    sender: Option<SmolStr>,
    why: Why,
) {
    if why != Why::OptOut && state.is_opted_out(to) {
        d.explanation.steps.push(Step::Suppressed { why });
        return;
    }
    d.messages.push(Outbound {
        to: to.clone(),
        from: from.clone(),
        text,
        sender,
        why,
    });
}
