//! The Node addon: thin wrappers that expose the Rust client (and, for
//! `connect(true)`, the supervisor itself) to `lib/api.js`. JSON crosses the
//! boundary as strings so the JS side stays in control of object shapes.

#![deny(clippy::all)]

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use pm2_client::{launcher, Action, ActionOptions, Client, ConnectOptions, Paths, StartOptions};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

#[napi(js_name = "version")]
pub const VERSION: &str = pm2_client::VERSION;

fn err(e: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, e.to_string())
}

fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| err(format!("invalid {what}: {e}")))
}

fn to_json(v: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(v).map_err(err)
}

/// The path of this shared object, found through one of its own symbols.
fn addon_path() -> PathBuf {
    let mut info: libc_dl::DlInfo = unsafe { std::mem::zeroed() };
    let anchor = addon_path as *const ();
    // SAFETY: dladdr only reads the loader's tables for an address in this object.
    let found = unsafe { libc_dl::dladdr(anchor.cast(), &mut info) } != 0;
    if found && !info.dli_fname.is_null() {
        // SAFETY: dladdr filled dli_fname with a NUL-terminated path.
        let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
        return PathBuf::from(name.to_string_lossy().into_owned());
    }
    PathBuf::from(".")
}

mod libc_dl {
    #[repr(C)]
    pub struct DlInfo {
        pub dli_fname: *const std::ffi::c_char,
        pub dli_fbase: *mut std::ffi::c_void,
        pub dli_sname: *const std::ffi::c_char,
        pub dli_saddr: *mut std::ffi::c_void,
    }
    extern "C" {
        pub fn dladdr(addr: *const std::ffi::c_void, info: *mut DlInfo) -> std::ffi::c_int;
    }
}

/// A YAML ecosystem file's text as JSON text.
#[napi]
pub fn parse_yaml(text: String) -> Result<String> {
    let value = pm2_config::yaml::parse(&text).map_err(napi::Error::from_reason)?;
    Ok(value.to_string())
}

/// The daemon binary `connect` starts: `pm2-daemon` beside this addon.
#[napi]
pub fn daemon_binary() -> String {
    launcher::daemon_binary(&addon_path())
        .to_string_lossy()
        .into_owned()
}

/// `<package>/lib/container.js`, found from this addon's path.
fn container_path() -> PathBuf {
    pm2_config::package_dir(&addon_path())
        .join("lib")
        .join("container.js")
}

/// `(event, payloadJson)` called on the JS thread for each bus event.
type BusCallback =
    ThreadsafeFunction<FnArgs<(String, String)>, (), FnArgs<(String, String)>, Status, false>;

#[napi(object)]
pub struct NativeConnectOptions {
    pub home: String,
    pub daemon_mode: bool,
    pub env: HashMap<String, String>,
}

/// Supervisors running inside this process (`connect(true)`), by PM2_HOME.
fn in_process_daemons() -> &'static Mutex<HashMap<PathBuf, pm2_daemon::DaemonHandle>> {
    static DAEMONS: OnceLock<Mutex<HashMap<PathBuf, pm2_daemon::DaemonHandle>>> = OnceLock::new();
    DAEMONS.get_or_init(Default::default)
}

async fn start_in_process(paths: &Paths) -> Result<()> {
    if in_process_daemons()
        .lock()
        .map_err(err)?
        .contains_key(&paths.home)
    {
        return Ok(());
    }
    let mut settings = pm2_daemon::settings::Settings::from_env();
    settings.in_process = true;
    if std::env::var_os("PM2_CONTAINER_PATH").is_none() {
        settings.container = container_path();
    }
    match pm2_daemon::start(paths.clone(), settings).await {
        Ok(handle) => {
            in_process_daemons()
                .lock()
                .map_err(err)?
                .insert(paths.home.clone(), handle);
            Ok(())
        }
        // A daemon already serves this home: use it, as PM2 would.
        Err(pm2_daemon::StartError::AlreadyRunning(_)) => Ok(()),
        Err(e) => Err(err(e)),
    }
}

#[napi]
pub async fn connect(opts: NativeConnectOptions) -> Result<NativeClient> {
    let paths = Paths::new(&opts.home);
    if !opts.daemon_mode {
        paths.init_file_structure().map_err(err)?;
        start_in_process(&paths).await?;
    }
    let connect = ConnectOptions {
        launch: opts.daemon_mode,
        daemon_bin: launcher::daemon_binary(&addon_path()),
        env: opts.env.into_iter().collect(),
    };
    let client = Client::connect(paths, &connect).await.map_err(err)?;
    Ok(NativeClient {
        launched: client.launched_daemon(),
        inner: Mutex::new(Some(Arc::new(client))),
    })
}

#[napi]
pub struct NativeClient {
    inner: Mutex<Option<Arc<Client>>>,
    launched: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsStartOptions {
    cwd: Option<String>,
    env: pm2_config::ClientEnv,
    env_name: Option<String>,
    force: bool,
    restart_existing: bool,
    only: Vec<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsActionOptions {
    update_env: bool,
    env: pm2_config::ClientEnv,
    env_name: Option<String>,
    cwd: Option<String>,
    overrides: Map<String, Value>,
}

fn cwd_or_current(cwd: Option<String>) -> PathBuf {
    cwd.map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"))
}

#[napi]
impl NativeClient {
    fn client(&self) -> Result<Arc<Client>> {
        self.inner
            .lock()
            .map_err(err)?
            .clone()
            .ok_or_else(|| err("not connected to PM2: call connect() first"))
    }

    #[napi(getter)]
    pub fn launched_daemon(&self) -> bool {
        self.launched
    }

    /// A raw RPC call; resolves with the JSON of the reply's arguments.
    #[napi]
    pub async fn call(&self, method: String, args_json: String) -> Result<String> {
        let args: Vec<Value> = parse(&args_json, "RPC arguments")?;
        let reply = self.client()?.call(&method, args).await.map_err(err)?;
        to_json(&reply)
    }

    #[napi]
    pub async fn start(&self, apps_json: String, opts_json: String) -> Result<String> {
        let apps: Vec<Map<String, Value>> = parse(&apps_json, "apps")?;
        let o: JsStartOptions = parse(&opts_json, "start options")?;
        let opts = StartOptions {
            cwd: cwd_or_current(o.cwd),
            client_env: o.env,
            env_name: o.env_name,
            force: o.force,
            restart_existing: o.restart_existing,
            only: o.only,
            restart_keeps_env: false,
        };
        to_json(&self.client()?.start(apps, &opts).await.map_err(err)?)
    }

    #[napi]
    pub async fn action(
        &self,
        action: String,
        target: String,
        opts_json: String,
    ) -> Result<String> {
        let action =
            Action::parse(&action).ok_or_else(|| err(format!("unknown action {action}")))?;
        let o: JsActionOptions = parse(&opts_json, "action options")?;
        let opts = ActionOptions {
            update_env: o.update_env,
            client_env: o.env,
            env_name: o.env_name,
            cwd: cwd_or_current(o.cwd),
            overrides: o.overrides,
            parallel: None,
        };
        to_json(
            &self
                .client()?
                .act(action, &target, &opts)
                .await
                .map_err(err)?,
        )
    }

    #[napi]
    pub async fn list(&self) -> Result<String> {
        to_json(&self.client()?.list().await.map_err(err)?)
    }

    #[napi]
    pub async fn describe(&self, target: String) -> Result<String> {
        to_json(&self.client()?.describe(&target).await.map_err(err)?)
    }

    #[napi]
    pub async fn flush(&self, target: Option<String>) -> Result<()> {
        self.client()?.flush(target.as_deref()).await.map_err(err)
    }

    #[napi]
    pub async fn reload_logs(&self) -> Result<()> {
        self.client()?.reload_logs().await.map_err(err)
    }

    #[napi]
    pub async fn dump(&self, force: bool) -> Result<u32> {
        Ok(self.client()?.dump(force).await.map_err(err)? as u32)
    }

    #[napi]
    pub async fn resurrect(&self) -> Result<String> {
        to_json(&self.client()?.resurrect().await.map_err(err)?)
    }

    /// `pm2 update` in place: `{outcome, message}`, the outcome being
    /// `replaced`, `upToDate`, `fellBack` (resurrect), `unsupported` or
    /// `notOurs` (save, kill and resurrect).
    #[napi]
    pub async fn update_in_place(&self, env: HashMap<String, String>) -> Result<String> {
        use pm2_client::upgrade::{update_in_place, InPlace};
        let opts = ConnectOptions {
            launch: false,
            daemon_bin: launcher::daemon_binary(&addon_path()),
            env: env.into_iter().collect(),
        };
        let client = self.client()?;
        let (outcome, message) = match update_in_place(&client, &opts).await.map_err(err)? {
            InPlace::Replaced { message, .. } => ("replaced", message),
            InPlace::UpToDate { exe } => ("upToDate", exe),
            InPlace::FellBack(why) => ("fellBack", why),
            InPlace::Unsupported(why) => ("unsupported", why),
            InPlace::NotOurs => ("notOurs", String::new()),
        };
        to_json(&serde_json::json!({"outcome": outcome, "message": message}))
    }

    #[napi]
    pub async fn kill_daemon(&self) -> Result<()> {
        let client = self.client()?;
        client.kill_daemon().await.map_err(err)?;
        let handle = in_process_daemons()
            .lock()
            .map_err(err)?
            .remove(&client.paths.home);
        if let Some(h) = handle {
            h.finished().await;
        }
        Ok(())
    }

    #[napi]
    pub async fn send_signal(&self, signal: String, target: String) -> Result<()> {
        self.client()?
            .send_signal(&signal, &target)
            .await
            .map_err(err)
    }

    /// Subscribes to `pub.sock`; `on_event(event, payloadJson)` runs for each event.
    #[napi(ts_args_type = "onEvent: (event: string, payloadJson: string) => void")]
    pub async fn launch_bus(&self, on_event: BusCallback) -> Result<NativeBus> {
        let sock = self.client()?.paths.pub_sock.clone();
        let mut bus = pm2_client::bus::BusClient::connect(&sock)
            .await
            .map_err(err)?;
        let task = tokio::spawn(async move {
            while let Some((event, payload)) = bus.next().await {
                let payload = serde_json::to_string(&payload).unwrap_or_default();
                on_event.call(
                    (event, payload).into(),
                    ThreadsafeFunctionCallMode::NonBlocking,
                );
            }
        });
        Ok(NativeBus {
            task: Mutex::new(Some(task)),
        })
    }

    /// Closes the sockets; afterwards nothing of this client keeps Node alive.
    #[napi]
    pub fn close(&self) -> Result<()> {
        self.inner.lock().map_err(err)?.take();
        Ok(())
    }
}

#[napi]
pub struct NativeBus {
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[napi]
impl NativeBus {
    /// Stops listening; dropping the task releases the JS callback.
    #[napi]
    pub fn close(&self) -> Result<()> {
        if let Some(t) = self.task.lock().map_err(err)?.take() {
            t.abort();
        }
        Ok(())
    }
}
