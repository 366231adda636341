//! The metrics and activity parts of the side panel: a peer's recent samples and the feed.

use crate::error::Result;
use crate::state::AppState;
use tandem::activity::Item;
use tandem::metrics::Metrics;
use tauri::State;

/// A peer's metrics over the last ten minutes, oldest first (`at` in unix milliseconds).
#[tauri::command]
pub async fn metrics_series(state: State<'_, AppState>, peer: String) -> Result<Vec<Metrics>> {
    Ok(state.node().await?.metrics_series(&peer).await?)
}

/// The activity feed, newest first (`at` in unix seconds).
#[tauri::command]
pub async fn activity(state: State<'_, AppState>) -> Result<Vec<Item>> {
    Ok(state.node().await?.activity().await?)
}
