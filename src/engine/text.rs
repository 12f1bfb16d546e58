//! Filling message placeholders, and sending: the one place every outbound
//! message passes, so opt-outs are enforced once and every text is one a
//! carrier can take.

use super::decision::{Decision, Outbound, Rule, Why};
use super::draft::Draft;
use super::event::Inbound;

use crate::policy::{Inbox, Policy, Text};
use crate::vocab::{is_sendable, Channel};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use smol_str::SmolStr;

/// The values a message's placeholders take, for an automatic reply to a
/// customer's message.
pub(crate) struct Fill<'a> {
    pub policy: &'a Policy,
    /// The customer's message being answered.
    pub message: &'a Inbound,
    /// The inbox answering, if the number has one.
    pub inbox: Option<&'a Inbox>,
    pub agent: Option<&'a str>,
    /// When the relevant hours next open, in their zone.
    pub next_open: Option<(DateTime<Utc>, Tz)>,
}

impl<'a> Fill<'a> {
    /// The values for a reply from `inbox` to `message`, with no agent and
    /// no next opening.
    pub fn reply(policy: &'a Policy, message: &'a Inbound, inbox: Option<&'a Inbox>) -> Self {
        Fill {
            policy,
            message,
            inbox,
            agent: None,
            next_open: None,
        }
    }

    /// The text with its placeholders filled. `{next_open}` with no
    /// opening in sight says `soon`, unless the text gives a fallback.
    pub fn render(&self, text: &Text) -> SmolStr {
        let e = self.message;
        let value = |name: &str| -> Option<String> {
            Some(match name {
                "customer_name" => e.customer.name.as_deref()?.to_string(),
                "customer_number" => e.from.to_string(),
                "inbox" => self.inbox?.shown_name().to_string(),
                "business_number" => e.to.to_string(),
                "agent" => self.agent?.to_string(),
                "tenant" => self.policy.tenant.display_name.to_string(),
                "next_open" => {
                    let (at, zone) = self.next_open?;
                    match self.inbox.and_then(|i| i.dates.as_ref()) {
                        Some(dates) => dates.format(at, zone),
                        None => at
                            .with_timezone(&zone)
                            .format("%a %b %-d at %H:%M")
                            .to_string(),
                    }
                }
                _ => return None,
            })
        };
        text.render_or(value, |name| match name {
            "next_open" => "soon",
            _ => "",
        })
    }
}

/// Where a message goes: to whom, from which business number, on which
/// channel.
pub(crate) struct Envelope<'a> {
    pub to: &'a SmolStr,
    pub from: &'a SmolStr,
    pub channel: Channel,
}

impl<'a> Envelope<'a> {
    /// The answer to a customer's message.
    pub fn reply_to(e: &'a Inbound) -> Self {
        Envelope {
            to: &e.from,
            from: &e.to,
            channel: e.channel,
        }
    }
}

/// An unsigned automatic reply to the customer's message `e`; false if it
/// was suppressed.
pub(crate) fn answer(
    state: &Draft<'_>,
    d: &mut Decision,
    e: &crate::engine::event::Inbound,
    text: SmolStr,
    why: Why,
) -> bool {
    send(state, d, Envelope::reply_to(e), text, None, why)
}

/// The text without the characters no message can carry (a hook may echo
/// a customer's control characters), so what a decision records is what
/// was sent.
fn sendable(text: SmolStr) -> SmolStr {
    // Bytes first: below U+0020 only tab and line ends are sendable, and
    // the two unsendable characters above it (U+FFFE, U+FFFF) start with
    // 0xEF, so a text with neither kind of byte is sendable as it is.
    let plain = |b: &u8| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0xEE | 0xF0..);
    if text.as_bytes().iter().all(plain) || text.chars().all(is_sendable) {
        return text;
    }
    text.chars().filter(|&c| is_sendable(c)).collect()
}

/// Adds a message to the decision, unless the customer opted out and the
/// message is neither the opt-out confirmation nor the help reply (which
/// carriers require in every state: CTIA messaging principles). Returns
/// whether it went.
pub(crate) fn send(
    state: &Draft<'_>,
    d: &mut Decision,
    to: Envelope<'_>,
    text: SmolStr,
    sender: Option<SmolStr>,
    why: Why,
) -> bool {
    if !matches!(why, Why::OptOut | Why::Help) && state.is_opted_out(to.to) {
        d.explain(|| Rule::Suppressed { why });
        return false;
    }
    d.messages.push(Outbound {
        to: to.to.clone(),
        from: to.from.clone(),
        channel: to.channel,
        text: sendable(text),
        sender,
        why,
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_does_not_allow_are_not_sent() {
        let text = SmolStr::new("a\u{7}b\u{b}c\u{0}d\u{fffe}e\u{ffff}f\u{1f}");
        assert_eq!(sendable(text), "abcdef");
        let kept = SmolStr::new("tab\tnew\nline\r é 😀 \u{fffd} \u{efff} \u{10ffff}");
        assert_eq!(sendable(kept.clone()), kept);
    }
}
