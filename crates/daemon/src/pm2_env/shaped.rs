//! An ordered map whose list of keys is shared by every map with the same
//! keys in the same order.
//!
//! Each process's `pm2_env` has some forty fields, and the apps of one
//! ecosystem file have the same fields in the same order. A JSON map holds
//! per entry its key (a string of its own), the key's hash and a slot of
//! its index; here a process holds only its values, beside a shared
//! [`Shape`] that maps keys to positions. A map whose keys change gets a
//! shape of its own, until [`ShapedMap::compact`] finds the shared one again.

use super::interned::Interned;
use indexmap::IndexSet;
use serde_json::Value;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The keys of a map, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    keys: IndexSet<String>,
}

/// Entries in insertion order, as `serde_json::Map` with `preserve_order`.
#[derive(Debug, Clone, Default)]
pub struct ShapedMap {
    shape: Arc<Shape>,
    /// `values[i]` is the value of `shape.keys[i]`.
    values: Vec<Value>,
}

impl ShapedMap {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    fn index_of(&self, key: &str) -> Option<usize> {
        self.shape.keys.get_index_of(key)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index_of(key).map(|i| &self.values[i])
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.index_of(key).map(|i| &mut self.values[i])
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.index_of(key).is_some()
    }

    /// Sets `key` in place, or adds it at the end.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        if let Some(i) = self.index_of(&key) {
            return Some(std::mem::replace(&mut self.values[i], value));
        }
        Arc::make_mut(&mut self.shape).keys.insert(key);
        self.values.push(value);
        None
    }

    /// Removes `key`; the entries after it keep their order.
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        let i = self.index_of(key)?;
        Arc::make_mut(&mut self.shape).keys.shift_remove_index(i);
        Some(self.values.remove(i))
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &Value)> + ExactSizeIterator {
        self.shape.keys.iter().zip(self.values.iter())
    }

    /// Removes the entries from `at` on and returns them, in order.
    pub fn drain_tail(&mut self, at: usize) -> Vec<(String, Value)> {
        let at = at.min(self.len());
        let values = self.values.split_off(at);
        let shape = Arc::make_mut(&mut self.shape);
        let keys: Vec<String> = shape.keys.drain(at..).collect();
        keys.into_iter().zip(values).collect()
    }

    /// Shares the shape of an equal map held already, and holds the values
    /// at their exact size (a map grown one insert at a time keeps up to
    /// twice the room it needs).
    pub fn compact(&mut self) {
        self.values.shrink_to_fit();
        self.shape = intern(std::mem::take(&mut self.shape));
    }
}

impl Extend<(String, Value)> for ShapedMap {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, entries: I) {
        for (k, v) in entries {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(String, Value)> for ShapedMap {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(entries: I) -> ShapedMap {
        let mut map = ShapedMap::default();
        map.extend(entries);
        map
    }
}

/// The shapes held by maps, by their keys: one held already is shared
/// instead of kept twice.
static SHAPES: Interned<Shape> = Interned::new();

fn intern(shape: Arc<Shape>) -> Arc<Shape> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    shape.keys.len().hash(&mut h);
    shape.keys.iter().for_each(|k| k.hash(&mut h));
    let same = |a: &Shape, b: &Shape| a.keys.iter().eq(b.keys.iter());
    SHAPES.share(h.finish(), shape, same, |s| s.keys.shrink_to_fit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries(m: &ShapedMap) -> Vec<(String, Value)> {
        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    #[test]
    fn keeps_order_through_inserts_removals_and_tails() {
        let mut m: ShapedMap = [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        assert_eq!(m.insert("b".into(), json!(20)), Some(json!(2)));
        assert_eq!(m.shift_remove("a"), Some(json!(1)));
        m.insert("e".into(), json!(5));
        let tail = m.drain_tail(2);
        assert_eq!(
            tail,
            vec![("d".to_string(), json!(4)), ("e".to_string(), json!(5))]
        );
        assert_eq!(
            entries(&m),
            vec![("b".to_string(), json!(20)), ("c".to_string(), json!(3))]
        );
        assert_eq!(m.get("c"), Some(&json!(3)));
        assert_eq!(m.get("d"), None);
    }

    #[test]
    fn maps_with_the_same_keys_share_one_shape_and_part_on_a_change() {
        let make = |n: i64| -> ShapedMap {
            let mut m: ShapedMap = ["name", "pm_id", "status"]
                .into_iter()
                .map(|k| (k.to_string(), json!(n)))
                .collect();
            m.compact();
            m
        };
        let (a, mut b) = (make(1), make(2));
        assert!(Arc::ptr_eq(&a.shape, &b.shape));
        b.insert("extra".into(), json!(true));
        assert!(!Arc::ptr_eq(&a.shape, &b.shape));
        assert_eq!(a.len(), 3, "a keeps its keys");
        b.shift_remove("extra");
        b.compact();
        assert!(
            Arc::ptr_eq(&a.shape, &b.shape),
            "back to the same keys: shared again"
        );
        assert_eq!(b.get("pm_id"), Some(&json!(2)));
    }
}
