//! Opening, creating, joining and inviting to a workspace; its status.

use crate::error::{Error, Result};
use crate::state::{user_name, AppState};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tandem::node::Status;
use tandem::{Node, NodeConfig, Role};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

fn config(path: &Path, name: Option<String>) -> NodeConfig {
    let mut cfg = NodeConfig::new(path);
    cfg.name = Some(name.filter(|n| !n.trim().is_empty()).unwrap_or_else(user_name));
    cfg
}

fn absolute(path: &str) -> Result<PathBuf> {
    let path = path.trim();
    if path.is_empty() {
        return Err(Error::new("refused", "type the path of a folder"));
    }
    std::path::absolute(path).map_err(|e| Error::new("refused", format!("{path} is not a usable path: {e}")))
}

/// The folder given on the command line, if any.
#[tauri::command]
pub fn startup_dir(state: State<'_, AppState>) -> Option<String> {
    state.startup_dir.as_ref().map(|p| p.display().to_string())
}

/// The file given on the command line after the folder, if any (relative to it).
#[tauri::command]
pub fn startup_file(state: State<'_, AppState>) -> Option<String> {
    state.startup_file.clone()
}

/// Starts serving an existing workspace as `name` (else the OS user name); `not_a_workspace` when
/// `path` has no `.tandem/`.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn open_workspace(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    name: Option<String>,
) -> Result<Status> {
    let root = absolute(&path)?;
    let layout = tandem::workspace::Layout::new(&root).map_err(tandem::Error::from)?;
    if !layout.is_workspace() {
        return Err(Error::new(
            "not_a_workspace",
            format!("{} is not a Tandem workspace yet", root.display()),
        ));
    }
    state.close().await;
    let node = Node::start(config(&root, name)).await?;
    let status = node.status().await?;
    state.install(&app, node).await;
    Ok(status)
}

/// Makes `path` a workspace owned by this machine, then opens it.
#[tauri::command]
#[tracing::instrument(skip(app, state), err(Debug))]
pub async fn init_workspace(
    app: AppHandle,
    state: State<'_, AppState>,
    path: String,
    name: Option<String>,
) -> Result<Status> {
    let root = absolute(&path)?;
    Node::init(&root)?;
    open_workspace(app, state, root.display().to_string(), name).await
}

/// How far a join is: `received` documents of `total`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct JoinProgress {
    received: u64,
    total: u64,
}

/// Joins with an invite code into `path` (absent or empty), then serves it; `progress` hears how
/// many documents have arrived while they do.
#[tauri::command]
#[tracing::instrument(skip(app, state, code, progress), err(Debug))]
pub async fn join_workspace(
    app: AppHandle,
    state: State<'_, AppState>,
    code: String,
    path: String,
    name: String,
    progress: Channel<JoinProgress>,
) -> Result<Status> {
    let root = absolute(&path)?;
    let report = |received, total| {
        // A closed window cannot be told; the join goes on regardless.
        let _ = progress.send(JoinProgress { received, total });
    };
    let node = Node::join(config(&root, Some(name)), code.trim(), report).await?;
    let status = node.status().await?;
    state.install(&app, node).await;
    Ok(status)
}

/// Stops the running peer (back to the welcome screen).
#[tauri::command]
pub async fn close_workspace(state: State<'_, AppState>) -> Result<()> {
    state.close().await;
    Ok(())
}

/// Everything `tandem status` shows.
#[tauri::command]
pub async fn status(state: State<'_, AppState>) -> Result<Status> {
    Ok(state.node().await?.status().await?)
}

/// A single-use invite code for `role`, valid `ttl_secs` seconds.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn invite(state: State<'_, AppState>, role: Role, ttl_secs: u64) -> Result<String> {
    Ok(state.node().await?.invite(role, Duration::from_secs(ttl_secs)).await?)
}
