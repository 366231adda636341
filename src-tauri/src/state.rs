//! The app's managed state: at most one running peer, and the task forwarding its events.

use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use tandem::Node;
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Mutex;

/// The event name the UI listens to; the payload is an array of [`tandem::Event`]s as JSON.
pub const ENGINE_EVENT: &str = "engine";

struct Running {
    node: Node,
    forwarder: JoinHandle<()>,
}

/// Managed by Tauri.
pub struct AppState {
    running: Mutex<Option<Running>>,
    /// The folder given on the command line, if any.
    pub startup_dir: Option<PathBuf>,
    /// The file (relative to that folder) to show in the editor once it is open, if any.
    pub startup_file: Option<String>,
    /// Whether alerts and mentions raise native notifications (a setting of the UI).
    pub notifications: AtomicBool,
}

impl AppState {
    pub fn new(startup_dir: Option<PathBuf>, startup_file: Option<String>) -> AppState {
        AppState {
            running: Mutex::new(None),
            startup_dir,
            startup_file,
            notifications: AtomicBool::new(true),
        }
    }

    /// The running peer (a cheap clone), or `no_workspace`.
    pub async fn node(&self) -> Result<Node> {
        self.running
            .lock()
            .await
            .as_ref()
            .map(|r| r.node.clone())
            .ok_or_else(|| Error::new("no_workspace", "no workspace is open; open or join one first"))
    }

    /// Makes `node` the running peer, forwarding its events to the UI; stops the previous one.
    pub async fn install(&self, app: &AppHandle, node: Node) {
        let forwarder = tauri::async_runtime::spawn(forward(app.clone(), node.clone()));
        let previous = self.running.lock().await.replace(Running { node, forwarder });
        if let Some(previous) = previous {
            stop(previous).await;
        }
    }

    /// Stops the running peer, if any.
    pub async fn close(&self) {
        let previous = self.running.lock().await.take();
        if let Some(previous) = previous {
            stop(previous).await;
        }
    }
}

async fn stop(running: Running) {
    running.forwarder.abort();
    running.node.shutdown().await;
}

/// Most events sent to the UI in one message.
const MAX_BATCH: usize = 512;

/// Sends every engine event to the UI, as arrays: the events already waiting go in one message
/// (a single event goes at once, alone). Each message is a script the web view evaluates, so a
/// burst — a thousand files imported or checked out — costs one evaluation per batch, not one per
/// event. After a lag the UI is told to reload what it shows.
async fn forward(app: AppHandle, node: Node) {
    let mut events = node.subscribe();
    loop {
        let mut batch = Vec::new();
        match events.recv().await {
            Ok(event) => batch.push(event),
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("the UI missed {n} engine events; asking it to reload");
                let lagged = serde_json::json!([{ "event": "lagged", "missed": n }]);
                let _ = app.emit(ENGINE_EVENT, lagged);
                continue;
            }
            Err(RecvError::Closed) => return,
        }
        while batch.len() < MAX_BATCH {
            match events.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break, // empty, or a lag the next recv reports
            }
        }
        for event in &batch {
            crate::notify::notify(&app, event);
        }
        if let Err(e) = app.emit(ENGINE_EVENT, &batch) {
            tracing::warn!("could not forward engine events: {e}");
        }
    }
}

/// The display name of this peer: the OS user name, else "me".
pub fn user_name() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "me".to_string())
}
