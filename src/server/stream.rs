//! `GET /v1/tenants/{tenant}/stream`: a tenant's decisions as server-sent
//! events, as they become durable: those the API asked for and those the
//! service decided on its own clock (a lock that expired, an alert that
//! lapsed, an escalation), and each policy revision served or refused.
//!
//! Each decision is an event with `id:` its sequence number, so a client
//! that reconnects with `Last-Event-ID` (browsers' `EventSource` does it by
//! itself) gets what it missed from the store, then the live stream, with
//! nothing twice. `?agent=` keeps what concerns one agent, `?inbox=` one
//! inbox's. A listener that reads too slowly never slows deciding: the
//! tenant's stream holds `--stream-buffer` items for it, and past that it
//! is told (`lagged`) and its stream goes on from the store where it was.

use crate::runtime::stream::{Item, Streamed};
use crate::runtime::Tenant;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, watch};

/// How many stored decisions are read from the store at a time.
const PAGE: usize = 512;
/// How many events wait for a slow client before the feed waits too.
const QUEUED: usize = 64;

/// The stream for one client, resuming after `after` (its checked
/// `Last-Event-ID`) and keeping what `filter` asks for; it ends with an
/// `end` event when `closing` turns true.
pub(super) fn respond(
    tenant: Arc<Tenant>,
    filter: Filter,
    after: Option<u64>,
    mut closing: watch::Receiver<bool>,
) -> Response {
    // Listening first, then reading the store: whatever lands in between
    // is in one or the other (and sent once, by sequence number).
    let live = tenant.listen();
    let (send, mut events) = mpsc::channel(QUEUED);
    let last_word = send.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = feed(tenant, live, after, filter, send) => {}
            () = async { let _ = closing.wait_for(|closing| *closing).await; } => {
                let note = json!({
                    "reason": "the service is shutting down",
                    "then": "reconnect with Last-Event-ID",
                });
                let _ = last_word.send(Event::default().event("end").data(note.to_string())).await;
            }
        }
    });
    let events = futures_util::stream::poll_fn(move |cx| {
        events
            .poll_recv(cx)
            .map(|event| event.map(Ok::<Event, Infallible>))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Sends the tenant's stream to one client until it leaves or the tenant
/// stops being decided here.
async fn feed(
    tenant: Arc<Tenant>,
    mut live: broadcast::Receiver<Item>,
    after: Option<u64>,
    filter: Filter,
    client: mpsc::Sender<Event>,
) {
    // The last sequence number sent (or skipped by the filter).
    let mut last = after;
    let mut behind = after.is_some();
    loop {
        if behind {
            match catch_up(&tenant, &filter, &mut last, &client).await {
                Ok(()) => behind = false,
                Err(Gone) => return,
            }
        }
        let item = match live.recv().await {
            Ok(item) => item,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let note = json!({
                    "missed": missed,
                    "after": last,
                    "then": "what was missed follows from the store",
                });
                if send(
                    &client,
                    Event::default().event("lagged").data(note.to_string()),
                )
                .await
                .is_err()
                {
                    return;
                }
                behind = true;
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let event = match item {
            Item::Decision(decided) => {
                if last.is_some_and(|l| decided.seq <= l) {
                    continue;
                }
                last = Some(decided.seq);
                match filter.wants(&tenant, &decided) {
                    true => decision(&decided),
                    false => continue,
                }
            }
            Item::Serving { revision } => Event::default()
                .event("serving")
                .data(json!({ "revision": revision }).to_string()),
            Item::Refused {
                revision,
                diagnostics,
            } => Event::default()
                .event("refused")
                .data(json!({ "revision": revision, "diagnostics": diagnostics }).to_string()),
            Item::End { reason } => {
                let note = json!({ "reason": reason, "then": "reconnect with Last-Event-ID" });
                let _ = send(
                    &client,
                    Event::default().event("end").data(note.to_string()),
                )
                .await;
                return;
            }
        };
        if send(&client, event).await.is_err() {
            return;
        }
    }
}

/// The client left.
struct Gone;

async fn send(client: &mpsc::Sender<Event>, event: Event) -> Result<(), Gone> {
    client.send(event).await.map_err(|_| Gone)
}

/// Sends the stored decisions after `last`, page by page, until the store
/// has no more; says so first if some are no longer stored.
async fn catch_up(
    tenant: &Arc<Tenant>,
    filter: &Filter,
    last: &mut Option<u64>,
    client: &mpsc::Sender<Event>,
) -> Result<(), Gone> {
    let mut first_page = true;
    loop {
        let from = last.unwrap_or(0);
        let reader = tenant.clone();
        let page = tokio::task::spawn_blocking(move || reader.stored_after(from, PAGE)).await;
        let page = match page {
            Ok(Ok(page)) => page,
            Ok(Err(why)) => {
                let note = json!({ "reason": format!("the store could not be read: {why}") });
                send(client, Event::default().event("end").data(note.to_string())).await?;
                return Err(Gone);
            }
            Err(_) => return Err(Gone),
        };
        if first_page {
            first_page = false;
            let wanted = from.saturating_add(1);
            if let Some(oldest) = page.first().filter(|d| d.seq > wanted) {
                let note = json!({
                    "from": wanted,
                    "to": oldest.seq - 1,
                    "reason": "no longer stored (past the retention window)",
                });
                send(
                    client,
                    Event::default().event("skipped").data(note.to_string()),
                )
                .await?;
            }
        }
        let full = page.len() == PAGE;
        for decided in page {
            *last = Some(decided.seq);
            if filter.wants(tenant, &decided) {
                send(client, decision(&decided)).await?;
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// `id: 42`, `event: decision`, `data: {"seq":42,"event":...,"decision":...}`.
fn decision(d: &Streamed) -> Event {
    Event::default()
        .id(d.seq.to_string())
        .event("decision")
        .data(format!(
            "{{\"seq\":{},\"event\":{},\"decision\":{}}}",
            d.seq, d.event, d.decision
        ))
}

/// Which decisions a client asked for: those concerning an agent, an
/// inbox, or both (names the policy declares).
pub(super) struct Filter {
    pub agent: Option<String>,
    pub inbox: Option<String>,
}

impl Filter {
    /// Whether a decision concerns the agent (and the inbox) asked about.
    ///
    /// An agent: the event is theirs (`agent`), they see the conversation
    /// (`visible_to`), are offered it (`offered_to`) or copied
    /// (`copied_to`), or a change names them (an owner, a lock holder,
    /// alerted agents). An inbox: the decision's `inbox`, or a change to
    /// one of its conversations (what a tick decides names no inbox).
    pub(super) fn wants(&self, tenant: &Tenant, d: &Streamed) -> bool {
        if self.agent.is_none() && self.inbox.is_none() {
            return true;
        }
        let (Ok(event), Ok(decision)) = (
            serde_json::from_str::<Value>(&d.event),
            serde_json::from_str::<Value>(&d.decision),
        ) else {
            return false;
        };
        let changes = decision["changes"].as_array().cloned().unwrap_or_default();
        if let Some(agent) = &self.agent {
            let named = |v: &Value| match v {
                Value::String(s) => s == agent,
                Value::Array(items) => items.iter().any(|i| i.as_str() == Some(agent)),
                _ => false,
            };
            let concerns = event["agent"].as_str() == Some(agent)
                || ["visible_to", "offered_to", "copied_to"]
                    .iter()
                    .any(|k| named(&decision[*k]))
                || changes.iter().any(|c| {
                    c.as_object().is_some_and(|fields| {
                        fields
                            .iter()
                            .any(|(k, v)| k != "change" && k != "conversation" && named(v))
                    })
                });
            if !concerns {
                return false;
            }
        }
        if let Some(inbox) = &self.inbox {
            if decision["inbox"].as_str() == Some(inbox) {
                return true;
            }
            let view = tenant.view();
            return changes.iter().any(|c| {
                c["conversation"]
                    .as_str()
                    .and_then(|id| view.state.conversation(id))
                    .is_some_and(|conversation| conversation.inbox == inbox.as_str())
            });
        }
        true
    }
}
