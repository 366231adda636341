//! The settings tab: what the shell itself keeps.

use crate::error::{Error, Result};
use crate::state::AppState;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use tandem::alerts::Rules;
use tandem::workspace::Layout;
use tauri::State;

/// Turns the native notifications for alerts and mentions on or off.
#[tauri::command]
pub fn set_notifications(state: State<'_, AppState>, enabled: bool) {
    state.notifications.store(enabled, Ordering::Relaxed);
}

/// The alert thresholds of the open workspace (`[alerts]` of `.tandem/config.toml`, else defaults).
#[tauri::command]
pub async fn alert_rules(state: State<'_, AppState>) -> Result<Rules> {
    let path = config_path(&state).await?;
    tandem::alerts::load(&path).map_err(|e| Error::new("invalid", e.to_string()))
}

/// Saves the alert thresholds; the peer applies them when the workspace is next opened.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn set_alert_rules(state: State<'_, AppState>, rules: Rules) -> Result<()> {
    let path = config_path(&state).await?;
    tandem::alerts_config::save(&path, &rules).map_err(|e| Error::new("invalid", e.to_string()))
}

async fn config_path(state: &AppState) -> Result<PathBuf> {
    let node = state.node().await?;
    let layout = Layout::new(node.root()).map_err(tandem::Error::from)?;
    Ok(layout.state_dir().join("config.toml"))
}
