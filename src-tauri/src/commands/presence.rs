//! What this peer tells the others about where it is.

use crate::error::Result;
use crate::state::AppState;
use tauri::State;

/// The file open in the editor (None: none), shown in the others' People panel.
#[tauri::command]
pub async fn set_open_file(state: State<'_, AppState>, path: Option<String>) -> Result<()> {
    state.node().await?.set_presence(Some(path), None, None);
    Ok(())
}
