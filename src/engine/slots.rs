//! Conversations by slot: a persistent radix trie, 64 ways at each level.
//!
//! Slots are small integers counted up as conversations open, so the slot
//! itself says where its conversation sits: six bits of it pick the child
//! at each level, and a lookup reads one cache line per level (four levels
//! up to 16 million slots) instead of binary-searching a B-tree node at
//! each. Cloning shares every node; changing a clone copies only the nodes
//! on the changed slot's path, as `imbl`'s maps do. A node left with no
//! entries is dropped, so evicted conversations cost nothing, and walking
//! the trie gives the slots in order.
//!
//! `imbl` has no map over dense integer keys; its `OrdMap` took about 40%
//! of a read-only decision at 100,000 conversations (docs/PERFORMANCE.md).

use std::sync::Arc;

const BITS: u32 = 6;
const WIDTH: usize = 1 << BITS;
const MASK: u64 = WIDTH as u64 - 1;

pub(crate) struct Slots<V> {
    root: Option<Arc<Node<V>>>,
    /// Levels below the root: the root covers slots `0..64^(height+1)`.
    height: u32,
    len: usize,
}

enum Node<V> {
    Branch(Box<[Option<Arc<Node<V>>>; WIDTH]>),
    Leaf(Box<[Option<V>; WIDTH]>),
}

impl<V: Clone> Clone for Node<V> {
    fn clone(&self) -> Self {
        match self {
            Node::Branch(children) => Node::Branch(children.clone()),
            Node::Leaf(values) => Node::Leaf(values.clone()),
        }
    }
}

impl<V> Node<V> {
    fn empty(height: u32) -> Node<V> {
        if height == 0 {
            Node::Leaf(Box::new(std::array::from_fn(|_| None)))
        } else {
            Node::Branch(Box::new(std::array::from_fn(|_| None)))
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Node::Branch(children) => children.iter().all(Option::is_none),
            Node::Leaf(values) => values.iter().all(Option::is_none),
        }
    }
}

fn index(slot: u64, height: u32) -> usize {
    ((slot >> (BITS * height)) & MASK) as usize
}

impl<V> Default for Slots<V> {
    fn default() -> Self {
        Slots {
            root: None,
            height: 0,
            len: 0,
        }
    }
}

impl<V> Clone for Slots<V> {
    fn clone(&self) -> Self {
        Slots {
            root: self.root.clone(),
            height: self.height,
            len: self.len,
        }
    }
}

impl<V: Clone> Slots<V> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the trie's levels reach `slot`.
    fn covers(&self, slot: u64) -> bool {
        let bits = BITS * (self.height + 1);
        bits >= 64 || slot >> bits == 0
    }

    pub fn get(&self, slot: u64) -> Option<&V> {
        if !self.covers(slot) {
            return None;
        }
        let mut node = self.root.as_deref()?;
        let mut height = self.height;
        loop {
            match node {
                Node::Branch(children) => {
                    node = children[index(slot, height)].as_deref()?;
                    height -= 1;
                }
                Node::Leaf(values) => return values[index(slot, 0)].as_ref(),
            }
        }
    }

    pub fn contains_key(&self, slot: u64) -> bool {
        self.get(slot).is_some()
    }

    /// The value at `slot`, to change: copies the nodes on its path that
    /// another clone shares.
    pub fn get_mut(&mut self, slot: u64) -> Option<&mut V> {
        // Only a path that leads somewhere is copied.
        self.get(slot)?;
        let height = self.height;
        let mut node = Arc::make_mut(self.root.as_mut()?);
        let mut level = height;
        loop {
            match node {
                Node::Branch(children) => {
                    node = Arc::make_mut(children[index(slot, level)].as_mut()?);
                    level -= 1;
                }
                Node::Leaf(values) => return values[index(slot, 0)].as_mut(),
            }
        }
    }

    /// Puts `value` at `slot`; returns the value it replaced.
    pub fn insert(&mut self, slot: u64, value: V) -> Option<V> {
        while !self.covers(slot) {
            // One more level on top: the old root becomes the first child.
            let old = self.root.take();
            self.height += 1;
            if let Some(old) = old {
                let mut top = Node::empty(self.height);
                if let Node::Branch(children) = &mut top {
                    children[0] = Some(old);
                }
                self.root = Some(Arc::new(top));
            }
        }
        let height = self.height;
        let mut node = Arc::make_mut(
            self.root
                .get_or_insert_with(|| Arc::new(Node::empty(height))),
        );
        let mut level = height;
        let replaced = loop {
            match node {
                Node::Branch(children) => {
                    let child = children[index(slot, level)]
                        .get_or_insert_with(|| Arc::new(Node::empty(level - 1)));
                    node = Arc::make_mut(child);
                    level -= 1;
                }
                Node::Leaf(values) => break values[index(slot, 0)].replace(value),
            }
        };
        if replaced.is_none() {
            self.len += 1;
        }
        replaced
    }

    /// Takes the value at `slot` out; nodes left empty are dropped.
    pub fn remove(&mut self, slot: u64) -> Option<V> {
        if !self.contains_key(slot) {
            return None;
        }
        let root = self.root.as_mut()?;
        let removed = Self::remove_in(root, slot, self.height);
        if root.is_empty() {
            self.root = None;
        }
        if removed.is_some() {
            self.len -= 1;
        }
        removed
    }

    fn remove_in(node: &mut Arc<Node<V>>, slot: u64, level: u32) -> Option<V> {
        match Arc::make_mut(node) {
            Node::Leaf(values) => values[index(slot, 0)].take(),
            Node::Branch(children) => {
                let at = index(slot, level);
                let child = children[at].as_mut()?;
                let removed = Self::remove_in(child, slot, level - 1);
                if child.is_empty() {
                    children[at] = None;
                }
                removed
            }
        }
    }

    /// Every slot and its value, in slot order.
    pub fn iter(&self) -> Iter<'_, V> {
        let mut stack = Vec::with_capacity(self.height as usize + 1);
        if let Some(root) = &self.root {
            stack.push((&**root, 0u64, 0usize));
        }
        Iter {
            stack,
            height: self.height,
        }
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }
}

/// Walks the trie depth first: each stack entry is a node, the first slot
/// it covers, and the next child to visit.
pub(crate) struct Iter<'a, V> {
    stack: Vec<(&'a Node<V>, u64, usize)>,
    height: u32,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (u64, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let depth = self.stack.len();
            let (node, base, at) = self.stack.last_mut()?;
            if *at == WIDTH {
                self.stack.pop();
                continue;
            }
            let (node, base, i) = (*node, *base, *at);
            *at += 1;
            let level = self.height + 1 - depth as u32;
            let slot = base | ((i as u64) << (BITS * level));
            match node {
                Node::Leaf(values) => {
                    if let Some(v) = &values[i] {
                        return Some((slot, v));
                    }
                }
                Node::Branch(children) => {
                    if let Some(child) = &children[i] {
                        self.stack.push((&**child, slot, 0));
                    }
                }
            }
        }
    }
}

impl<V: Clone + std::fmt::Debug> std::fmt::Debug for Slots<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;
    use std::collections::BTreeMap;

    /// Against a BTreeMap: inserts, removes and lookups over slots that
    /// grow the trie, with clones that must not see each other's changes.
    #[test]
    fn agrees_with_a_btree_map() {
        let mut slots = Slots::default();
        let mut model = BTreeMap::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut saved = Vec::new();
        for round in 0..20_000u64 {
            let slot = match next() % 4 {
                0 => next() % 300_000,
                1 => next() % 70,
                _ => round * 13,
            };
            match next() % 3 {
                0 => assert_eq!(slots.remove(slot), model.remove(&slot)),
                1 => {
                    if let Some(v) = slots.get_mut(slot) {
                        *v += 1;
                    }
                    if let Some(v) = model.get_mut(&slot) {
                        *v += 1;
                    }
                }
                _ => assert_eq!(slots.insert(slot, round), model.insert(slot, round)),
            }
            assert_eq!(slots.get(slot), model.get(&slot));
            assert_eq!(slots.len(), model.len());
            if round % 5_000 == 0 {
                saved.push((slots.clone(), model.clone()));
            }
        }
        let walked: Vec<_> = slots.iter().map(|(k, v)| (k, *v)).collect();
        let expected: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(walked, expected);
        for (slots, model) in saved {
            let walked: Vec<_> = slots.iter().map(|(k, v)| (k, *v)).collect();
            assert_eq!(walked, model.into_iter().collect::<Vec<_>>());
        }
        for slot in expected.iter().map(|(k, _)| *k) {
            slots.remove(slot);
        }
        assert_eq!(slots.len(), 0);
        assert!(slots.root.is_none(), "an emptied trie holds no nodes");
        assert_eq!(slots.get(u64::MAX), None);
        slots.insert(u64::MAX, 1);
        assert_eq!(slots.get(u64::MAX), Some(&1));
    }
}
