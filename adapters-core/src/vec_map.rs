//! A map kept as a vector of pairs, for the few entries a connection or a socket holds (its
//! namespaces, its event handlers): one allocation of exactly the room its entries take, where
//! a hash map of one entry takes room for four and its control bytes.

use std::borrow::Borrow;

/// Entries in insertion order; lookups compare keys one by one.
pub(crate) struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

/// Up to this many entries the vector grows one entry at a time (most maps stay this small),
/// then as usual.
const EXACT: usize = 8;

impl<K: Eq, V> VecMap<K, V> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        self.0
            .iter()
            .find(|(k, _)| k.borrow() == key)
            .map(|(_, v)| v)
    }

    /// Inserts or replaces; the value replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        if let Some((_, v)) = self.0.iter_mut().find(|(k, _)| *k == key) {
            return Some(std::mem::replace(v, value));
        }
        if self.0.len() == self.0.capacity() && self.0.len() < EXACT {
            self.0.reserve_exact(1);
        }
        self.0.push((key, value));
        None
    }

    /// Removes `key`'s entry (the others keep their order).
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let i = self.0.iter().position(|(k, _)| k.borrow() == key)?;
        let (_, v) = self.0.remove(i);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
        Some(v)
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::VecMap;

    #[test]
    fn inserts_replaces_finds_and_removes_in_order_with_exact_room() {
        let mut m: VecMap<String, u32> = VecMap::new();
        assert_eq!(m.0.capacity(), 0);
        assert_eq!(m.insert("a".into(), 1), None);
        assert_eq!(m.0.capacity(), 1, "room for exactly one entry");
        assert_eq!(m.insert("b".into(), 2), None);
        assert_eq!(m.insert("c".into(), 3), None);
        assert_eq!(m.0.capacity(), 3);
        assert_eq!(m.insert("b".into(), 20), Some(2));
        assert_eq!(m.get("b"), Some(&20));
        assert_eq!(m.get("z"), None);
        assert_eq!(m.remove("a"), Some(1));
        assert_eq!(m.remove("a"), None);
        for i in 0..100 {
            m.insert(format!("k{i}"), i);
        }
        assert_eq!(m.get("k99"), Some(&99));
        let keys: Vec<String> = m.into_iter().map(|(k, _)| k).take(3).collect();
        assert_eq!(keys, ["b", "c", "k0"]);
    }

    #[test]
    fn emptied_map_gives_its_room_back() {
        let mut m: VecMap<u8, u8> = VecMap::new();
        m.insert(1, 1);
        m.remove(&1);
        assert_eq!(m.0.capacity(), 0);
    }
}
