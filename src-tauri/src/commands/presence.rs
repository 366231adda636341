//! What this peer tells the others about where it is, and what it hears about them.

use crate::error::Result;
use crate::state::AppState;
use tandem::node::live::LiveView;
use tandem::presence::Cursor;
use tauri::State;

/// The file open in the editor (None: none), shown in the others' People panel.
#[tauri::command]
pub async fn set_open_file(state: State<'_, AppState>, path: Option<String>) -> Result<()> {
    state.node().await?.set_presence(Some(path), None, None);
    Ok(())
}

/// The selection in the open file: `anchor` and `head` are Yjs v1-encoded relative positions
/// (`Y.encodeRelativePosition`) into the file's `content` text. Small, so sent as JSON arrays.
#[tauri::command]
pub async fn set_cursor(state: State<'_, AppState>, file: String, anchor: Vec<u8>, head: Vec<u8>) -> Result<()> {
    state
        .node()
        .await?
        .set_presence(Some(Some(file)), Some(Some(Cursor { anchor, head })), None);
    Ok(())
}

/// Every peer's presence (this one first, `me: true`), agents, metrics and alerts. Cursor
/// positions come as arrays of bytes.
#[tauri::command]
pub async fn live_view(state: State<'_, AppState>) -> Result<LiveView> {
    Ok(state.node().await?.live_view().await?)
}
