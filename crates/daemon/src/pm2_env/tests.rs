use super::*;
use serde_json::json;

/// A `pm2_env` held as one flat map, flattened the way PM2 does: what
/// `Pm2Env` must give, entry for entry and in the same order.
#[derive(Clone)]
struct Flat(Map<String, Value>);

impl Flat {
    fn flatten(&mut self) {
        if let Some(Value::Object(env)) = self.0.get("env").cloned() {
            for (k, v) in env {
                self.0.insert(k, v);
            }
        }
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn shell_env() -> Value {
    json!({"HOME": "/home/u", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "treekill": "false",
           "name": "shadowed", "PWD": "/srv", "NESTED": {"b": 1, "a": 2}})
}

fn app(name: &str, env: Value) -> Map<String, Value> {
    obj(
        json!({"name": name, "pm_exec_path": "/srv/app.js", "kill_timeout": 1600,
               "env": env, "treekill": true, "status": "stopped", "restart_time": 0}),
    )
}

/// Both built from `map` and flattened.
fn pair(map: Map<String, Value>) -> (Pm2Env, Flat) {
    let mut shared = Pm2Env::from_map(map.clone());
    shared.flatten();
    let mut flat = Flat(map);
    flat.flatten();
    (shared, flat)
}

/// The same insert into both.
fn insert_both(shared: &mut Pm2Env, flat: &mut Flat, key: &str, value: Value) {
    shared.insert(key.into(), value.clone());
    flat.0.insert(key.into(), value);
}

/// The same variable set in both `env` maps, in place.
fn set_env_var_in_both(shared: &mut Pm2Env, flat: &mut Flat, var: &str, value: Value) {
    for env in [shared.get_mut("env"), flat.0.get_mut("env")] {
        if let Some(Value::Object(e)) = env {
            e.insert(var.into(), value.clone());
        }
    }
}

/// Both launched again, and still alike.
#[track_caller]
fn flatten_both(shared: &mut Pm2Env, flat: &mut Flat) {
    shared.flatten();
    flat.flatten();
    assert_same(shared, flat);
}

#[track_caller]
fn assert_same(shared: &Pm2Env, flat: &Flat) {
    assert_eq!(
        serde_json::to_string(shared).unwrap(),
        serde_json::to_string(&flat.0).unwrap(),
        "serialized entries and their order"
    );
    assert_eq!(shared.len(), flat.0.len());
    for (k, v) in &flat.0 {
        assert!(same(shared.get(k).unwrap(), v), "value of {k}");
    }
    assert!(shared.get("no such key").is_none());
    let listed: Vec<&String> = shared.iter().map(|(k, _)| k).collect();
    let expected: Vec<&String> = flat.0.keys().collect();
    assert_eq!(listed, expected);
    assert_eq!(
        serde_json::to_string(&shared.to_map()).unwrap(),
        serde_json::to_string(&flat.0).unwrap()
    );
}

#[test]
fn the_copies_come_after_the_fields_present_at_the_first_flatten_in_env_order() {
    let (mut shared, mut flat) = pair(app("a", shell_env()));
    assert_same(&shared, &flat);
    let text = serde_json::to_string(&shared).unwrap();
    assert!(
        text.contains(r#""restart_time":0,"HOME":"/home/u","PATH""#),
        "{text}"
    );
    // A variable named as an option sets it in place.
    assert_eq!(shared["treekill"], "false");
    assert_eq!(shared["name"], "shadowed");
    // Fields added later come after the copies.
    insert_both(&mut shared, &mut flat, "pm_uptime", json!(5));
    assert_same(&shared, &flat);
    assert!(serde_json::to_string(&shared)
        .unwrap()
        .ends_with(r#""NESTED":{"b":1,"a":2},"pm_uptime":5}"#));
    // A second launch changes nothing.
    flatten_both(&mut shared, &mut flat);
}

#[test]
fn apps_with_the_same_env_share_it_and_its_copies() {
    let (a, _) = pair(app("a", shell_env()));
    let (b, _) = pair(app("b", shell_env()));
    let (ea, eb) = (a.env.as_ref().unwrap(), b.env.as_ref().unwrap());
    assert!(Arc::ptr_eq(ea, eb), "one env for both");
    let (ca, cb) = (a.copies.as_ref().unwrap(), b.copies.as_ref().unwrap());
    assert!(Arc::ptr_eq(ca, cb), "one block of copies for both");
    // The same variables in another order are another env: their order shows.
    let mut reordered = obj(shell_env());
    let home = reordered.shift_remove("HOME").unwrap();
    reordered.insert("HOME".into(), home);
    let (c, fc) = pair(app("c", Value::Object(reordered)));
    assert!(!Arc::ptr_eq(ea, c.env.as_ref().unwrap()));
    assert_same(&c, &fc);
}

#[test]
fn a_flattened_map_read_back_shares_its_copies_and_writes_the_same() {
    let (a, fa) = pair(app("a", shell_env()));
    let mut again = Pm2Env::from_map(a.to_map());
    assert!(again.copies.is_some(), "the copies are found again");
    assert!(Arc::ptr_eq(
        again.copies.as_ref().unwrap(),
        a.copies.as_ref().unwrap()
    ));
    assert_same(&again, &fa);
    again.flatten();
    assert_same(&again, &fa);
}

#[test]
fn changes_to_env_apply_at_the_next_flatten_as_in_a_flat_map() {
    let (mut shared, mut flat) = pair(app("a", shell_env()));
    insert_both(&mut shared, &mut flat, "status", json!("online"));
    // `restart --update-env`: a variable changed, one added, one dropped.
    let mut env = obj(shell_env());
    env.insert("PATH".into(), json!("/opt/bin"));
    env.insert("NEW_VAR".into(), json!("1"));
    env.shift_remove("LANG");
    insert_both(&mut shared, &mut flat, "env", Value::Object(env));
    assert_same(&shared, &flat);
    flatten_both(&mut shared, &mut flat);
    assert_eq!(
        shared["LANG"], "C.UTF-8",
        "a dropped variable's copy stays, as in PM2"
    );
    // `increment_var`-style change through the env in place.
    set_env_var_in_both(&mut shared, &mut flat, "PORT", json!("3001"));
    assert_same(&shared, &flat);
    flatten_both(&mut shared, &mut flat);
}

#[test]
fn writing_or_removing_a_copied_variable_keeps_its_place() {
    let (mut shared, mut flat) = pair(app("a", shell_env()));
    insert_both(&mut shared, &mut flat, "PATH", json!("/x"));
    assert_same(&shared, &flat);
    let (mut shared, mut flat) = pair(app("a", shell_env()));
    assert_eq!(
        shared.shift_remove("kill_timeout"),
        flat.0.shift_remove("kill_timeout")
    );
    assert_same(&shared, &flat);
    assert_eq!(shared.shift_remove("LANG"), flat.0.shift_remove("LANG"));
    assert_same(&shared, &flat);
    assert_eq!(shared.shift_remove("env"), flat.0.shift_remove("env"));
    assert_same(&shared, &flat);
    assert_eq!(shared.shift_remove("nothing"), None);
}

#[test]
fn an_env_that_is_not_an_object_or_is_missing_is_kept_as_it_is() {
    for env in [json!(null), json!("text")] {
        let (shared, flat) = pair(app("a", env));
        assert_same(&shared, &flat);
    }
    let (shared, flat) = pair(obj(json!({"name": "a"})));
    assert_same(&shared, &flat);
    assert!(shared.get("env").is_none());
    // A variable named `env` replaces the env, as a flat map's copy would.
    let (shared, flat) = pair(app("a", json!({"A": "1", "env": "x"})));
    assert_same(&shared, &flat);
}

/// A small generator, so the sequence below is the same at every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[test]
fn any_sequence_of_changes_reads_and_writes_as_a_flat_map() {
    let keys = [
        "name",
        "status",
        "PATH",
        "HOME",
        "treekill",
        "env",
        "X1",
        "X2",
        "LANG",
        "pm_uptime",
    ];
    let values = [
        json!("v"),
        json!(1),
        json!({"k": "v"}),
        json!("/usr/bin:/bin"),
        json!(null),
    ];
    for seed in 0..200 {
        let mut rng = Lcg(seed);
        let (mut shared, mut flat) = pair(app("a", shell_env()));
        for _ in 0..30 {
            let k = keys[rng.next(keys.len())].to_string();
            match rng.next(7) {
                0 | 1 => {
                    let v = values[rng.next(values.len())].clone();
                    let v = if k == "env" { shell_env() } else { v };
                    assert!(opt_same(
                        shared.insert(k.clone(), v.clone()),
                        flat.0.insert(k, v)
                    ));
                }
                2 => assert!(opt_same(shared.shift_remove(&k), flat.0.shift_remove(&k))),
                3 if rng.next(2) == 0 => {
                    assert!(opt_same(shared.shift_remove(&k), flat.0.shift_remove(&k)))
                }
                3 => {
                    let v = values[rng.next(values.len())].clone();
                    let var = keys[rng.next(keys.len())];
                    set_env_var_in_both(&mut shared, &mut flat, var, v);
                }
                4 => {
                    shared.flatten();
                    flat.flatten();
                }
                5 => shared = Pm2Env::from_map(shared.to_map()),
                _ => {
                    let v = values[rng.next(values.len())].clone();
                    if let (Some(a), Some(b)) = (shared.get_mut(&k), flat.0.get_mut(&k)) {
                        *a = v.clone();
                        *b = v;
                    }
                }
            }
            assert_same(&shared, &flat);
        }
    }
}

fn opt_same(a: Option<Value>, b: Option<Value>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(&a, &b),
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn an_env_no_process_holds_is_dropped_from_the_table() {
    let env = json!({"ONLY_HERE": format!("{:?}", std::time::Instant::now())});
    let held = intern(env.clone());
    let weak = Arc::downgrade(&held);
    assert!(Arc::ptr_eq(&held, &intern(env.clone())));
    drop(held);
    assert!(
        weak.upgrade().is_none(),
        "the table holds no strong reference"
    );
}
