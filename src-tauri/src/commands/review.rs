//! Comments and the team chat.

use crate::error::Result;
use crate::state::AppState;
use tandem::review::{ChatMessage, CommentKind, Thread};
use tauri::State;

/// Every comment thread.
#[tauri::command]
pub async fn comments(state: State<'_, AppState>) -> Result<Vec<Thread>> {
    Ok(state.node().await?.review_state().await?.0)
}

/// Comments on one line (1-based) of a file; returns the thread id.
#[tauri::command]
#[tracing::instrument(skip(state, body), err(Debug))]
pub async fn add_comment(
    state: State<'_, AppState>,
    file: String,
    line: usize,
    kind: CommentKind,
    body: String,
) -> Result<String> {
    Ok(state
        .node()
        .await?
        .comment(&file, line, line, kind, &body, None)
        .await?)
}

/// Says something in the chat.
#[tauri::command]
#[tracing::instrument(skip(state, text), err(Debug))]
pub async fn chat_send(state: State<'_, AppState>, text: String) -> Result<()> {
    let cmd = tandem::core::ReviewCmd::Chat { text };
    Ok(state.node().await?.review(cmd).await?)
}

/// The chat so far.
#[tauri::command]
pub async fn chat_log(state: State<'_, AppState>) -> Result<Vec<ChatMessage>> {
    Ok(state.node().await?.chat_log().await?)
}
