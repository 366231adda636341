//! The app's managed state: at most one running peer, and the task forwarding its events.

use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use tandem::Node;
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Mutex;

/// The event name the UI listens to; the payload is a [`tandem::Event`] as JSON.
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
    /// Whether alerts and mentions raise native notifications (a setting of the UI).
    pub notifications: AtomicBool,
}

impl AppState {
    pub fn new(startup_dir: Option<PathBuf>) -> AppState {
        AppState {
            running: Mutex::new(None),
            startup_dir,
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

/// Sends every engine event to the UI. After a lag the UI is told to reload what it shows.
async fn forward(app: AppHandle, node: Node) {
    let mut events = node.subscribe();
    loop {
        match events.recv().await {
            Ok(event) => {
                crate::notify::notify(&app, &event);
                if let Err(e) = app.emit(ENGINE_EVENT, &event) {
                    tracing::warn!("could not forward an engine event: {e}");
                }
            }
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("the UI missed {n} engine events; asking it to reload");
                let _ = app.emit(ENGINE_EVENT, serde_json::json!({ "event": "lagged", "missed": n }));
            }
            Err(RecvError::Closed) => return,
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
