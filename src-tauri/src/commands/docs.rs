//! Reading and writing file text through the CRDT.

use crate::error::{Error, Result};
use crate::state::AppState;
use tauri::State;

/// A file's current text.
#[tauri::command]
pub async fn read_file(state: State<'_, AppState>, path: String) -> Result<String> {
    state
        .node()
        .await?
        .text(&path)
        .await?
        .ok_or_else(|| Error::new("not_found", format!("{path} is not in the workspace (deleted?)")))
}

/// Replaces a file's text (the engine diffs it into CRDT operations); returns once stored.
#[tauri::command]
#[tracing::instrument(skip(state, text), err(Debug))]
pub async fn write_file(state: State<'_, AppState>, path: String, text: String) -> Result<()> {
    Ok(state.node().await?.set_text(&path, &text).await?)
}
