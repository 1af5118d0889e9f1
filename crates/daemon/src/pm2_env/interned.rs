//! A table of shared values by content: a value equal to one some holder
//! keeps already is handed out again instead of kept twice. The table holds
//! weak references, so a value no holder keeps any more is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// The values held, by a hash of their content.
pub struct Interned<T> {
    table: Mutex<Option<Table<T>>>,
}

struct Table<T> {
    by_hash: HashMap<u64, Vec<Weak<T>>>,
    entries: usize,
    /// Entries after which the dead ones are swept out.
    sweep_at: usize,
}

impl<T> Interned<T> {
    pub const fn new() -> Interned<T> {
        Interned {
            table: Mutex::new(None),
        }
    }

    /// The held value equal to `value` (by `same`, among those of the same
    /// `hash`), or `value` itself, made ready to share by `settle` and held
    /// from now on.
    pub fn share(
        &self,
        hash: u64,
        mut value: Arc<T>,
        same: impl Fn(&T, &T) -> bool,
        settle: impl FnOnce(&mut T),
    ) -> Arc<T> {
        let mut guard = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let table = guard.get_or_insert_with(|| Table {
            by_hash: HashMap::new(),
            entries: 0,
            sweep_at: 0,
        });
        let bucket = table.by_hash.entry(hash).or_default();
        if let Some(found) = bucket
            .iter()
            .filter_map(Weak::upgrade)
            .find(|v| Arc::ptr_eq(v, &value) || same(v, &value))
        {
            return found;
        }
        if let Some(own) = Arc::get_mut(&mut value) {
            settle(own);
        }
        bucket.retain(|w| w.strong_count() > 0);
        bucket.push(Arc::downgrade(&value));
        table.entries += 1;
        if table.entries > table.sweep_at {
            table.by_hash.retain(|_, b| {
                b.retain(|w| w.strong_count() > 0);
                !b.is_empty()
            });
            table.entries = table.by_hash.values().map(Vec::len).sum();
            table.sweep_at = (table.entries * 2).max(64);
        }
        value
    }
}
