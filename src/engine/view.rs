//! The agent's view: the conversations an agent can see, filtered by inbox,
//! with lock holders (the "Team SMS" tab).

use super::state::State;
use super::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use smol_str::SmolStr;

/// One row of an agent's conversation list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConversationRow {
    pub conversation: SmolStr,
    pub inbox: SmolStr,
    pub customer: SmolStr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<SmolStr>,
    pub last_inbound_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<SmolStr>,
    /// Who holds the reply lock now, and until when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_by: Option<SmolStr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    /// The agent has a pending alert for it (and whether they hid it).
    pub alerted: bool,
    pub hidden: bool,
}

impl Engine {
    /// The open conversations `agent` can see at `now`, newest message
    /// first; only those of `inbox` if given. A conversation is seen by its
    /// owner, else by the agents a hook assigned it to, else by every
    /// member of its inbox.
    pub fn visible_conversations(
        &self,
        state: &State,
        agent: &str,
        inbox: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<ConversationRow> {
        let policy = self.policy();
        let Some(agent_id) = policy.agent_id(agent) else {
            return Vec::new();
        };
        let mut rows: Vec<ConversationRow> = state
            .conversations()
            .filter(|c| c.is_open())
            .filter(|c| inbox.is_none_or(|i| c.inbox == i))
            // As the decisions' `visible_to`: the owner, else the agents a
            // hook assigned, else every member.
            .filter(|c| match (&c.owner, &c.assigned) {
                (Some(owner), _) => owner == agent,
                (None, Some(assigned)) => assigned.iter().any(|a| a == agent),
                (None, None) => policy
                    .inbox_id(&c.inbox)
                    .is_some_and(|i| policy.inbox(i).members.binary_search(&agent_id).is_ok()),
            })
            .map(|c| {
                let lock = c.lock_at(now);
                let alerts = c.alerts.as_ref().filter(|a| now < a.until);
                ConversationRow {
                    conversation: c.id.clone(),
                    inbox: c.inbox.clone(),
                    customer: c.customer.clone(),
                    customer_name: c.customer_info.as_ref().and_then(|i| i.name.clone()),
                    last_inbound_at: c.last_inbound_at,
                    owner: c.owner.clone(),
                    locked_by: lock.map(|l| l.holder.clone()),
                    locked_until: lock.map(|l| l.until),
                    alerted: alerts.is_some_and(|a| a.agents.iter().any(|x| x == agent)),
                    hidden: alerts.is_some_and(|a| a.hidden.iter().any(|x| x == agent)),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.last_inbound_at
                .cmp(&a.last_inbound_at)
                .then_with(|| a.conversation.cmp(&b.conversation))
        });
        rows
    }
}
