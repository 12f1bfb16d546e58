//! Opt-out, opt-in and help keywords, answered before any routing.

use super::decision::{Change, Decision, Outcome, SessionEnd, Why};
use super::draft::Draft;
use super::event::Inbound;
use super::ids::{ConversationId, Slot};
use super::session::end_session;

use super::text::{answer, Fill};
use super::Cx;
use crate::policy::compliance::Revocation;
use crate::policy::Text;
use crate::vocab::{fold_phrase, ComplianceSet};
use smol_str::SmolStr;

/// Which set a message's keyword is in, if the whole message is one.
pub(crate) fn classify<'p>(cx: &Cx<'p>, body: &str) -> Option<(&'p str, ComplianceSet)> {
    let c = &cx.policy.compliance;
    // Most messages are longer than any keyword: count what could match
    // (characters other than spaces) and stop as soon as it is too many.
    let longest = c.longest_keyword;
    if body
        .chars()
        .filter(|ch| !ch.is_whitespace())
        .take(longest + 1)
        .count()
        > longest
    {
        return None;
    }
    let sets = [
        (&c.opt_out, ComplianceSet::OptOut),
        (&c.opt_in, ComplianceSet::OptIn),
        (&c.help, ComplianceSet::Help),
    ];
    for (set, name) in sets {
        if let Some(keyword) = set.iter().find(|k| keyword_matches(body, k)) {
            return Some((keyword.as_str(), name));
        }
    }
    None
}

/// Whether a message is exactly the keyword, ignoring case and spacing.
/// Keywords are stored upper case with single spaces.
pub fn keyword_matches(body: &str, keyword: &str) -> bool {
    let mut words = body.split_whitespace();
    let mut expected = keyword.split(' ');
    loop {
        match (words.next(), expected.next()) {
            (None, None) => return true,
            (Some(w), Some(k)) if w.chars().flat_map(char::to_uppercase).eq(k.chars()) => {}
            _ => return false,
        }
    }
}

/// The first of the tenant's revocation phrases the message holds, as
/// whole words, after folding case, accents and punctuation: "Please
/// leave me alone!" holds "leave me alone", "alone" does not.
pub(crate) fn revocation<'p>(cx: &Cx<'p>, body: &str) -> Option<&'p Revocation> {
    let phrases = &cx.policy.compliance.revocations;
    if phrases.is_empty() {
        return None;
    }
    let message = fold_phrase(body);
    phrases.iter().find(|r| holds_words(&message, &r.folded))
}

/// Whether `words` occurs in `text` (both folded) at word boundaries.
fn holds_words(text: &str, words: &str) -> bool {
    text.match_indices(words).any(|(at, _)| {
        let before = at == 0 || text.as_bytes()[at - 1] == b' ';
        let end = at + words.len();
        let after = end == text.len() || text.as_bytes()[end] == b' ';
        before && after
    })
}

/// A compliance keyword (or a revocation phrase that opts out), answered
/// before any routing; the caller has explained why.
pub(crate) fn handle(
    cx: &Cx<'_>,
    state: &mut Draft<'_>,
    e: &Inbound,
    set: ComplianceSet,
    d: &mut Decision,
) {
    d.outcome = Outcome::Compliance;
    d.conversation = state
        .open_conversation(&e.to, &e.from)
        .map(|c| c.id.clone());
    let c = &cx.policy.compliance;
    let (reply, why): (&Text, Why) = match set {
        ComplianceSet::OptOut => {
            if !state.opt_out(&e.from) {
                // Confirmed once already; say nothing more.
                return;
            }
            d.changes.push(Change::OptedOut {
                customer: e.from.clone(),
            });
            let_go(cx, state, &e.from, d);
            (&c.opt_out_reply, Why::OptOut)
        }
        ComplianceSet::OptIn => {
            if state.opt_in(&e.from) {
                d.changes.push(Change::OptedIn {
                    customer: e.from.clone(),
                });
            }
            (&c.opt_in_reply, Why::OptIn)
        }
        ComplianceSet::Help => (&c.help_reply, Why::Help),
    };
    let inbox = cx
        .policy
        .inbox_for_number(&e.to)
        .map(|i| cx.policy.inbox(i));
    let fill = Fill::reply(cx.policy, e, inbox);
    let text = fill.render(reply);
    answer(state, d, e, text, why);
}

/// The customer's open conversations, on each of the tenant's numbers, by
/// age (the numbers are a hash map).
fn open_conversations(
    cx: &Cx<'_>,
    state: &Draft<'_>,
    customer: &SmolStr,
) -> Vec<(Slot, ConversationId)> {
    let mut open: Vec<(Slot, ConversationId)> = cx
        .policy
        .numbers()
        .filter_map(|n| state.open_conversation_at(&n.number, customer))
        .map(|(slot, c)| (slot, c.id.clone()))
        .collect();
    open.sort_unstable();
    open
}

/// An opt-out lets go of every agent the customer holds, as explicit
/// changes: pending alerts and invites are withdrawn, the owner and the
/// lock holder let go, a pending escalation dropped, and a keyword session
/// ends (by opt-out, counted for SMS_VOL and handle time like any other
/// end). The other conversations stay open for the team to read, and an
/// agent's reply is denied (`opted_out`); after an opt-in, the customer's
/// next message offers them again as a first message does.
fn let_go(cx: &Cx<'_>, state: &mut Draft<'_>, customer: &SmolStr, d: &mut Decision) {
    let at = cx.at;
    for (slot, id) in open_conversations(cx, state, customer) {
        let Some((alerts, owner, lock, session)) = state.update_at(slot, |c| {
            let alerts = c.alerts.take().filter(|a| a.until > at);
            let lock = c.lock.take().filter(|l| l.until > at);
            // An escalation would give the conversation to agents: none runs.
            c.escalation = None;
            c.unanswered = 0;
            (alerts, c.owner.take(), lock, c.session.is_some())
        }) else {
            continue;
        };
        if let Some(alerts) = alerts {
            d.changes.push(Change::AlertsWithdrawn {
                conversation: id.clone(),
                agents: alerts.agents,
            });
        }
        if let Some(owner) = owner {
            d.changes.push(Change::OwnershipEnded {
                conversation: id.clone(),
                owner,
            });
        }
        if let Some(lock) = lock {
            d.changes.push(Change::LockLifted {
                conversation: id.clone(),
                holder: lock.holder,
            });
        }
        if session {
            end_session(state, &id, at, SessionEnd::OptOut, d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::keyword_matches;

    #[test]
    fn phrases_are_found_as_whole_words() {
        use super::holds_words;
        use crate::vocab::fold_phrase;
        let text = fold_phrase("Please, LEAVE me alone!!");
        assert!(holds_words(&text, "leave me alone"));
        assert!(!holds_words(&text, "me alon"));
        assert!(holds_words(&fold_phrase("¡No más mensajes!"), "no mas"));
        assert!(!holds_words(&fold_phrase("no masks"), "no mas"));
    }

    #[test]
    fn keywords_ignore_case_and_spacing() {
        assert!(keyword_matches("  stop ", "STOP"));
        assert!(keyword_matches("Stop\tAll", "STOP ALL"));
        assert!(!keyword_matches("stop please", "STOP"));
        assert!(!keyword_matches("", "STOP"));
        assert!(keyword_matches("arrêt", "ARRÊT"));
    }
}
