//! The settings tab: this member's name and colour, notifications, alert thresholds.

use crate::error::{Error, Result};
use crate::state::AppState;
use serde::Serialize;
use std::sync::atomic::Ordering;
use tandem::alerts::Rules;
use tauri::State;

/// Turns the native notifications for alerts and mentions on or off.
#[tauri::command]
pub fn set_notifications(state: State<'_, AppState>, enabled: bool) {
    state.notifications.store(enabled, Ordering::Relaxed);
}

/// The name and colour teammates see for this member.
#[derive(Debug, Serialize)]
pub struct Profile {
    name: String,
    colour: String,
}

/// This member's name and colour in force.
#[tauri::command]
pub async fn profile(state: State<'_, AppState>) -> Result<Profile> {
    let (name, colour) = state.node().await?.profile().await?;
    Ok(Profile { name, colour })
}

/// Renames this member and/or changes its colour, for every peer, at once.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn set_profile(state: State<'_, AppState>, name: Option<String>, colour: Option<String>) -> Result<Profile> {
    let node = state.node().await?;
    let (name, colour) = node.set_profile(name.as_deref(), colour.as_deref()).await?;
    Ok(Profile { name, colour })
}

/// The alert thresholds in force (`[alerts]` of `.tandem/config.toml`, else defaults).
#[tauri::command]
pub async fn alert_rules(state: State<'_, AppState>) -> Result<Rules> {
    Ok(state.node().await?.alert_rules()?)
}

/// Saves the alert thresholds; they are in force at once.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn set_alert_rules(state: State<'_, AppState>, rules: Rules) -> Result<()> {
    state
        .node()
        .await?
        .set_alert_rules(rules)
        .map_err(|e| Error::new("invalid", e.to_string()))
}
