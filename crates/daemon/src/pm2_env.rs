//! A process's `pm2_env` with its environment held once for all the apps
//! that have the same one.
//!
//! PM2 keeps the app's `env` (for an app started from a shell, the shell's
//! whole environment) under `env`, and copies every variable of it onto the
//! top level at each launch. Both are the same for every app started from
//! one shell: here `env` is a shared map, and the top-level copies are one
//! shared block of entries placed where PM2's insertion order puts them.
//! Reading, serializing and iterating give the same entries in the same
//! order as one flat map built PM2's way would.

use interned::Interned;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use shaped::ShapedMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The flattened `pm2_env` of one process.
#[derive(Debug, Clone, Default)]
pub struct Pm2Env {
    /// The entries the process holds itself, in order. When `env` is
    /// shared, its entry here is a `null` keeping its place.
    fields: ShapedMap,
    /// The value of `env` (an object), shared; `None` when `fields` holds
    /// `env` itself (absent, or not an object).
    env: Option<Arc<Value>>,
    /// The copies of `env`'s variables made on the top level, none of them
    /// also in `fields`: they come before `fields[copies_at]`.
    copies: Option<Arc<Value>>,
    copies_at: usize,
}

impl Pm2Env {
    /// Takes a flat `pm2_env`. A run of entries equal to `env`'s variables
    /// (the copies of a `pm2_env` flattened before, as a dump or a state
    /// record holds it) becomes the shared block of copies.
    pub fn from_map(fields: Map<String, Value>) -> Pm2Env {
        let mut fields: ShapedMap = fields.into_iter().collect();
        let env = match fields.get_mut("env") {
            Some(v @ Value::Object(_)) => Some(intern(std::mem::take(v))),
            _ => None,
        };
        let mut this = Pm2Env {
            fields,
            env,
            copies: None,
            copies_at: 0,
        };
        this.take_copies();
        this
    }

    /// The flat map, as PM2 holds it.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        if key == "env" {
            if let Some(env) = &self.env {
                return Some(env);
            }
        }
        self.fields
            .get(key)
            .or_else(|| self.copies().and_then(|c| c.get(key)))
    }

    /// The value of `key`, to change in place (a shared `env` is copied first).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        if key == "env" && self.env.is_some() {
            return self.env.as_mut().map(Arc::make_mut);
        }
        if !self.fields.contains_key(key) && self.copies().is_some_and(|c| c.contains_key(key)) {
            self.own_copies();
        }
        self.fields.get_mut(key)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` in place, or adds it at the end, as a flat map does.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        if key == "env" && self.env.is_some() {
            return match value {
                Value::Object(_) => self.env.replace(Arc::new(value)).map(Arc::unwrap_or_clone),
                other => {
                    let old = self.env.take().map(Arc::unwrap_or_clone);
                    self.fields.insert(key, other);
                    old
                }
            };
        }
        if !self.fields.contains_key(&key) {
            if let Some(copy) = self.copies().and_then(|c| c.get(&key)) {
                if same(copy, &value) {
                    return Some(value);
                }
                self.own_copies();
            }
        }
        self.fields.insert(key, value)
    }

    /// Removes `key`, the entries after it keeping their order (as `delete`
    /// does in PM2; a swap-remove would move the last entry into its place).
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        if !self.contains_key(key) {
            return None;
        }
        self.own_copies();
        let removed = self.fields.shift_remove(key);
        match (key, self.env.take()) {
            ("env", Some(env)) => Some(Arc::unwrap_or_clone(env)),
            (_, env) => {
                self.env = env;
                removed
            }
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len() + self.copies().map_or(0, Map::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries in the order of the flat map.
    pub fn iter<'a>(&'a self) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
        let at = self.copies_at.min(self.fields.len());
        let env = self.env.as_deref();
        let shown = move |(k, v): (&'a String, &'a Value)| -> (&'a String, &'a Value) {
            match env {
                Some(env) if k == "env" => (k, env),
                _ => (k, v),
            }
        };
        self.fields
            .iter()
            .take(at)
            .map(shown)
            .chain(self.copies().into_iter().flat_map(Map::iter))
            .chain(self.fields.iter().skip(at).map(shown))
    }

    /// Copies `env` onto the top level, as PM2 does at each launch: a
    /// variable already there (an option of the same name, an earlier
    /// copy) is set in place, the others are added at the end in `env`'s
    /// order. Sizes what the process holds to what it needs.
    pub fn flatten(&mut self) {
        if self.env.is_none() {
            if let Some(v @ Value::Object(_)) = self.fields.get_mut("env") {
                self.env = Some(Arc::new(std::mem::take(v)));
            }
        }
        let Some(env) = self.env.take() else {
            self.fields.compact();
            return;
        };
        let env = if env.is_object() {
            intern_shared(env)
        } else {
            // Set to something else in place: held as it is, and nothing to copy.
            if let Some(field) = self.fields.get_mut("env") {
                *field = Arc::unwrap_or_clone(env);
            }
            self.fields.compact();
            return;
        };
        self.env = Some(env.clone());
        let Some(vars) = env.as_object() else {
            return;
        };
        let mut added = Vec::new();
        let mut changed_copies: Option<Map<String, Value>> = None;
        for (k, v) in vars {
            if let Some(field) = self.fields.get_mut(k) {
                if k == "env" {
                    self.env = None;
                }
                *field = v.clone();
            } else if let Some(copy) = self.copies().and_then(|c| c.get(k)) {
                if !same(copy, v) {
                    let copies = changed_copies
                        .get_or_insert_with(|| self.copies().cloned().unwrap_or_default());
                    copies.insert(k.clone(), v.clone());
                }
            } else {
                added.push(k);
            }
        }
        if let Some(copies) = changed_copies {
            self.copies = Some(intern(Value::Object(copies)));
        }
        if self.copies.is_none() && !added.is_empty() {
            self.copies_at = self.fields.len();
            self.copies = Some(if added.len() == vars.len() {
                env.clone()
            } else {
                let block = added.iter().map(|&k| (k.clone(), vars[k].clone()));
                intern(Value::Object(block.collect()))
            });
        } else {
            for k in added {
                self.fields.insert(k.clone(), vars[k].clone());
            }
        }
        self.fields.compact();
    }

    fn copies(&self) -> Option<&Map<String, Value>> {
        self.copies.as_deref().and_then(Value::as_object)
    }

    /// Makes the copies entries of the process's own, in their places.
    fn own_copies(&mut self) {
        let Some(copies) = self.copies.take() else {
            return;
        };
        let at = self.copies_at.min(self.fields.len());
        let tail: Vec<(String, Value)> = self.fields.drain_tail(at);
        let copies = Arc::unwrap_or_clone(copies);
        if let Value::Object(copies) = copies {
            self.fields.extend(copies);
        }
        self.fields.extend(tail);
        self.copies_at = 0;
    }

    /// Finds the copies of `env`'s variables in a flat map: the longest run
    /// of entries each equal to `env`'s variable of the same name.
    fn take_copies(&mut self) {
        let Some(vars) = self.env.as_deref().and_then(Value::as_object) else {
            return;
        };
        let is_copy = |k: &String, v: &Value| k != "env" && vars.get(k).is_some_and(|e| same(e, v));
        let (mut best, mut run) = ((0, 0), (0, 0));
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if is_copy(k, v) {
                run = if run.1 == 0 {
                    (i, 1)
                } else {
                    (run.0, run.1 + 1)
                };
                if run.1 > best.1 {
                    best = run;
                }
            } else {
                run = (0, 0);
            }
        }
        // A few options that happen to equal a variable are left as they
        // are: the block is for maps flattened before.
        if best.1 == 0 || best.1 * 2 < vars.len() {
            return;
        }
        let (start, n) = best;
        let mut tail = self.fields.drain_tail(start);
        let rest = tail.split_off(n);
        self.fields.extend(rest);
        self.copies = Some(intern(Value::Object(tail.into_iter().collect())));
        self.copies_at = start;
        self.fields.compact();
    }
}

impl Serialize for Pm2Env {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl PartialEq for Pm2Env {
    fn eq(&self, other: &Pm2Env) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
    }
}

impl std::ops::Index<&str> for Pm2Env {
    type Output = Value;
    fn index(&self, key: &str) -> &Value {
        self.get(key).expect("no entry found for key")
    }
}

/// `map` rebuilt at its exact size: a map grown one insert at a time keeps
/// up to twice the room it needs.
fn compacted(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter().collect()
}

/// Equal and in the same order (`Value`'s `==` ignores the order of keys,
/// which the JSON written shows).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| same(x, y))
        }
        _ => a == b,
    }
}

fn hash_of(v: &Value, h: &mut impl Hasher) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => (2u8, n.to_string()).hash(h),
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(a) => {
            (4u8, a.len()).hash(h);
            a.iter().for_each(|x| hash_of(x, h));
        }
        Value::Object(m) => {
            (5u8, m.len()).hash(h);
            for (k, x) in m {
                k.hash(h);
                hash_of(x, h);
            }
        }
    }
}

/// The maps held by processes, by content: a map equal (in order) to one
/// held already is shared instead of kept twice.
static INTERNED: Interned<Value> = Interned::new();

/// `value` (an object), shared with every process holding an equal one.
fn intern(value: Value) -> Arc<Value> {
    intern_shared(Arc::new(value))
}

/// `value`, or the equal one the table holds: at each launch the env is
/// most often the one it holds already.
fn intern_shared(value: Arc<Value>) -> Arc<Value> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    hash_of(&value, &mut h);
    INTERNED.share(h.finish(), value, same, |v| {
        if let Value::Object(m) = v {
            *m = compacted(std::mem::take(m));
        }
    })
}

#[path = "pm2_env/interned.rs"]
mod interned;
#[path = "pm2_env/shaped.rs"]
mod shaped;

#[cfg(test)]
#[path = "pm2_env/tests.rs"]
mod tests;

/// Read access to a `pm2_env`, flat or shared.
pub trait Fields {
    fn field(&self, key: &str) -> Option<&Value>;
}

impl Fields for Map<String, Value> {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

impl Fields for Pm2Env {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}
