//! The names decisions and state share: conversation ids and lists of
//! agents.

use smol_str::SmolStr;

/// A conversation's id: `c` and a number, counted up by the state.
pub type ConversationId = SmolStr;

/// A list of agents, shared with the policy where it is an inbox's members.
pub type Agents = std::sync::Arc<[SmolStr]>;

/// The empty list, shared: making one costs no allocation.
pub fn no_agents() -> Agents {
    static EMPTY: std::sync::OnceLock<Agents> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Agents::from(Vec::new())).clone()
}
