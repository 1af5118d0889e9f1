//! The env a restart with `--update-env` gives a process.

use super::{ActionOptions, Client};
use crate::target;
use pm2_config::{Options, ResolveContext};
use serde_json::Value;

impl Client {
    /// The names of the env variables of `ids` that a refresh with
    /// `--update-env` would add or change (what a refresh without it keeps
    /// as it was), sorted and each once.
    pub fn env_changes(
        &self,
        ids: &[u64],
        list: &[Value],
        opts: &ActionOptions,
    ) -> std::collections::BTreeSet<String> {
        let ctx = self.resolve_context(&opts.cwd, &opts.client_env, opts.env_name.as_ref());
        let mut names = std::collections::BTreeSet::new();
        for &id in ids {
            let stored = list
                .iter()
                .find(|p| target::pm_id(p) == Some(id))
                .and_then(|p| p.get("pm2_env")?.get("env")?.as_object().cloned())
                .unwrap_or_default();
            let fresh = refreshed_env(id, &stored, list, opts, &ctx);
            // What the app's process sees is text: `3000` and `"3000"` are one value.
            let as_env = |v: &Value| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            names.extend(
                fresh
                    .into_iter()
                    .filter(|(k, v)| stored.get(k).map(as_env) != Some(as_env(v)))
                    .map(|(k, _)| k),
            );
        }
        names
    }
}

/// The env process `id` gets from a refresh with `--update-env`: its stored
/// env, then the caller's and the app's options over it.
pub(super) fn refreshed_env(
    id: u64,
    stored: &Options,
    list: &[Value],
    opts: &ActionOptions,
    ctx: &ResolveContext,
) -> Options {
    // The app's name selects its module config (`pm2 set app:key`).
    let mut app = opts.overrides.clone();
    if !app.contains_key("name") {
        if let Some(name) = list
            .iter()
            .find(|p| target::pm_id(p) == Some(id))
            .and_then(|p| p.get("name"))
        {
            app.insert("name".into(), name.clone());
        }
    }
    pm2_config::updated_env(stored, &app, ctx)
}
