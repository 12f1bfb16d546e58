//! The names decisions and state share: conversation ids and lists of
//! agents.

use smol_str::SmolStr;

/// A conversation's id: `c` and a number, counted up by the state.
pub type ConversationId = SmolStr;

/// Where a conversation is kept: the number of its id (`c7` is kept at 7),
/// so slots grow in the order conversations opened and an id finds its
/// conversation without an index.
pub(crate) type Slot = u64;

/// The slot of a conversation id: `c` and a number from 1, written without
/// leading zeros, as [`conversation_id`] makes them; `None` for any other.
pub(crate) fn slot_of(id: &str) -> Option<Slot> {
    let digits = id.strip_prefix('c')?.as_bytes();
    if digits.first().is_none_or(|&b| b == b'0') {
        return None;
    }
    // One pass: every action names its conversation by id.
    digits.iter().try_fold(0u64, |slot, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        slot.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The id of the conversation at `slot`, written on the stack: an id is at
/// most 21 bytes, so it stays inline in the `SmolStr` and costs no
/// allocation.
pub(crate) fn conversation_id(slot: Slot) -> ConversationId {
    let mut buffer = [0u8; 21];
    let mut at = buffer.len();
    let mut n = slot;
    loop {
        at -= 1;
        buffer[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    at -= 1;
    buffer[at] = b'c';
    // Only ASCII digits and `c` were written.
    SmolStr::new(std::str::from_utf8(&buffer[at..]).unwrap_or_default())
}

/// A list of agents, shared with the policy where it is an inbox's members.
pub type Agents = std::sync::Arc<[SmolStr]>;

/// The empty list, shared: making one costs no allocation.
pub fn no_agents() -> Agents {
    static EMPTY: std::sync::OnceLock<Agents> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Agents::from(Vec::new())).clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slots_round_trip() {
        for slot in [1, 7, 10, 999, 1_000_000, u64::MAX] {
            let id = conversation_id(slot);
            assert_eq!(id, format!("c{slot}"));
            assert_eq!(slot_of(&id), Some(slot));
        }
        assert_eq!(slot_of("c07"), None);
        assert_eq!(slot_of("c"), None);
        assert_eq!(slot_of("x1"), None);
        assert_eq!(slot_of("c1x"), None);
        assert_eq!(slot_of("c18446744073709551616"), None, "past u64::MAX");
    }
}
