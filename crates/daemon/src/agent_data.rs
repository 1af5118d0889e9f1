//! What an app's agent (ours, `@pm2/io`, `pmx`) sends about itself, kept in its
//! pm2_env as PM2 keeps it: `axm:monitor` merged into `axm_monitor` (several
//! senders in one app add up, a name sent again is updated), `axm:action`
//! appended to `axm_actions` once per name, `axm:option:configuration` merged
//! into `axm_options`. Bounded: an app cannot grow the daemon by inventing
//! names without end.

use serde_json::{Map, Value};

/// Metric names kept per process; further new names are dropped.
pub const MAX_METRICS: usize = 256;
/// Actions kept per process.
pub const MAX_ACTIONS: usize = 256;
/// Option keys kept per process.
pub const MAX_OPTIONS: usize = 256;

/// Merges `data` into the map `into`, updating known keys and adding new
/// ones while fewer than `cap` are kept. The entries are moved, not copied:
/// every app's agent reports once a second.
fn merge_capped(into: &mut Map<String, Value>, data: Map<String, Value>, cap: usize) {
    for (k, v) in data {
        if let Some(slot) = into.get_mut(&k) {
            *slot = v;
        } else if into.len() < cap {
            into.insert(k, v);
        }
    }
}

/// `axm:monitor`: `{name: {historic, unit, type, value}, …}`.
pub fn merge_monitor(monitor: &mut Value, data: Value) {
    if let (Value::Object(m), Value::Object(d)) = (monitor, data) {
        merge_capped(m, d, MAX_METRICS);
    }
}

/// `axm:option:configuration`: the agent's settings.
pub fn merge_options(options: &mut Value, data: Value) {
    if let (Value::Object(m), Value::Object(d)) = (options, data) {
        merge_capped(m, d, MAX_OPTIONS);
    }
}

/// `axm:action`: `{action_name, action_type, arity, opts?}`, once per name.
pub fn add_action(actions: &mut Value, data: Value) {
    let Value::Array(list) = actions else {
        return;
    };
    let name = data.get("action_name");
    if name.is_none() || list.len() >= MAX_ACTIONS {
        return;
    }
    if !list.iter().any(|a| a.get("action_name") == name) {
        list.push(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metrics_from_several_senders_add_up() {
        let mut m = json!({});
        merge_monitor(
            &mut m,
            json!({"Heap Size": {"value": "1.00"}, "HTTP": {"value": 1}}),
        );
        merge_monitor(&mut m, json!({"Widgets": {"value": 42}}));
        merge_monitor(&mut m, json!({"Heap Size": {"value": "2.00"}}));
        assert_eq!(
            m,
            json!({"Heap Size": {"value": "2.00"}, "HTTP": {"value": 1}, "Widgets": {"value": 42}})
        );
        merge_monitor(&mut m, json!("not an object"));
        assert_eq!(m.as_object().unwrap().len(), 3);
    }

    #[test]
    fn new_names_stop_at_the_cap_but_known_ones_still_update() {
        let mut m = json!({});
        let many: Map<String, Value> = (0..MAX_METRICS + 10)
            .map(|i| (format!("m{i}"), json!({"value": i})))
            .collect();
        merge_monitor(&mut m, Value::Object(many));
        assert_eq!(m.as_object().unwrap().len(), MAX_METRICS);
        merge_monitor(&mut m, json!({"m0": {"value": -1}, "new": {"value": 0}}));
        assert_eq!(m["m0"]["value"], -1);
        assert!(m.get("new").is_none());
    }

    #[test]
    fn actions_are_kept_once_per_name_and_bounded() {
        let mut a = json!([]);
        add_action(&mut a, json!({"action_name": "km:heapdump", "arity": 2}));
        add_action(&mut a, json!({"action_name": "km:heapdump", "arity": 1}));
        add_action(&mut a, json!({"no_name": true}));
        assert_eq!(a, json!([{"action_name": "km:heapdump", "arity": 2}]));
        for i in 0..MAX_ACTIONS + 5 {
            add_action(&mut a, json!({"action_name": format!("a{i}")}));
        }
        assert_eq!(a.as_array().unwrap().len(), MAX_ACTIONS);
    }

    #[test]
    fn options_merge() {
        let mut o = json!({"a": 1});
        merge_options(&mut o, json!({"b": 2, "a": 3}));
        assert_eq!(o, json!({"a": 3, "b": 2}));
    }
}
