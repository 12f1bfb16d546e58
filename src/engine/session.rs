//! Sessions: the reporting label of a message (Team Inbox, SMS Queue, SMS
//! Direct), and the end of a keyword-queue session, whoever ends it.

use super::decision::{Change, Decision, SessionEnd};
use super::draft::Draft;

use crate::policy::Inbox;
use crate::vocab::InboxKind;
use chrono::{DateTime, Utc};
use smol_str::SmolStr;

/// The reporting label of a message to or from an inbox.
pub(crate) fn session_type(inbox: &Inbox, inbound: bool) -> &'static str {
    match (inbox.kind, inbox.keywords.is_some(), inbound) {
        (InboxKind::Shared, _, true) => "Messaging Inbound (Team Inbox)",
        (InboxKind::Shared, _, false) => "Messaging Outbound (Team Inbox)",
        (InboxKind::Queue, true, true) => "Messaging Inbound (SMS Queue)",
        (InboxKind::Queue, true, false) => "Messaging Outbound (SMS Queue)",
        (_, _, true) => "Messaging Inbound (SMS Direct)",
        (_, _, false) => "Messaging Outbound (SMS Direct)",
    }
}

/// Ends a keyword-queue session and archives its conversation; counts it
/// as handled if an agent had accepted it.
pub(crate) fn end_session(
    state: &mut Draft<'_>,
    id: &str,
    at: DateTime<Utc>,
    by: SessionEnd,
    d: &mut Decision,
) {
    let ended = state.update(id, |c| {
        let session = c.session.take();
        c.closed_at = Some(at);
        c.owner = None;
        c.lock = None;
        c.alerts = None;
        let handle = session
            .and_then(|s| s.accepted_at)
            .map(|accepted| (at - accepted).num_seconds().max(0) as u64);
        (c.inbox.clone(), handle)
    });
    let Some((inbox, handle)) = ended else { return };
    if let Some(secs) = handle {
        let counters = state.counted(&inbox);
        counters.sessions_handled += 1;
        counters.handle_secs += secs;
    }
    d.changes.push(Change::SessionEnded {
        conversation: SmolStr::new(id),
        by,
        handle_secs: handle,
    });
}
