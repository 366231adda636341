//! Comments and the team chat.

use crate::error::{Error, Result};
use crate::state::AppState;
use tandem::core::ReviewCmd;
use tandem::review::{ChatMessage, CommentKind, Review, Thread};
use tandem::workspace::RelPath;
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

/// Replies in a thread; returns the reply's id.
#[tauri::command]
#[tracing::instrument(skip(state, body), err(Debug))]
pub async fn reply_comment(state: State<'_, AppState>, thread: String, body: String) -> Result<String> {
    let body = body.trim().to_string();
    if body.is_empty() {
        return Err(Error::new("invalid", "A reply needs some text."));
    }
    let id = tandem::review::new_id();
    let cmd = ReviewCmd::Reply {
        id: id.clone(),
        thread,
        body,
    };
    state.node().await?.review(cmd).await?;
    Ok(id)
}

/// What can be done to a thread (or, for `delete`, to one's own comment or reply).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentAction {
    Resolve,
    Reopen,
    Apply,
    Delete,
}

impl CommentAction {
    fn cmd(self, id: String) -> ReviewCmd {
        match self {
            CommentAction::Resolve => ReviewCmd::Resolve { thread: id },
            CommentAction::Reopen => ReviewCmd::Reopen { thread: id },
            CommentAction::Apply => ReviewCmd::Apply { thread: id },
            CommentAction::Delete => ReviewCmd::Delete { target: id },
        }
    }
}

/// Resolves, reopens, applies (a suggestion) or deletes (one's own) a thread or reply by id.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn comment_action(state: State<'_, AppState>, action: CommentAction, id: String) -> Result<()> {
    Ok(state.node().await?.review(action.cmd(id)).await?)
}

/// Every review request with its votes and outcome, oldest first.
#[tauri::command]
pub async fn reviews(state: State<'_, AppState>) -> Result<Vec<Review>> {
    Ok(state.node().await?.review_state().await?.1)
}

/// Asks for a review of `files` needing `approvals` approvals; returns the request's id.
#[tauri::command]
#[tracing::instrument(skip(state), err(Debug))]
pub async fn request_review(
    state: State<'_, AppState>,
    title: String,
    files: Vec<String>,
    approvals: u64,
) -> Result<String> {
    let title = title.trim().to_string();
    if title.is_empty() {
        return Err(Error::new("invalid", "A review request needs a title."));
    }
    if files.is_empty() {
        return Err(Error::new("invalid", "Pick at least one file to review."));
    }
    let files = files
        .iter()
        .map(|f| RelPath::new(f).map_err(|e| Error::new("invalid", format!("{f}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let id = tandem::review::new_id();
    let cmd = ReviewCmd::Request {
        id: id.clone(),
        files,
        approvals: approvals.max(1),
        title,
    };
    state.node().await?.review(cmd).await?;
    Ok(id)
}

/// Approves a review request, or requests changes (a reason is then required).
#[tauri::command]
#[tracing::instrument(skip(state, reason), err(Debug))]
pub async fn vote_review(state: State<'_, AppState>, review: String, approve: bool, reason: String) -> Result<()> {
    let reason = reason.trim().to_string();
    if !approve && reason.is_empty() {
        return Err(Error::new("invalid", "Say what should change."));
    }
    let cmd = ReviewCmd::Vote {
        review,
        approve,
        reason,
    };
    Ok(state.node().await?.review(cmd).await?)
}

/// Says something in the chat.
#[tauri::command]
#[tracing::instrument(skip(state, text), err(Debug))]
pub async fn chat_send(state: State<'_, AppState>, text: String) -> Result<()> {
    let cmd = ReviewCmd::Chat { text };
    Ok(state.node().await?.review(cmd).await?)
}

/// The chat so far.
#[tauri::command]
pub async fn chat_log(state: State<'_, AppState>) -> Result<Vec<ChatMessage>> {
    Ok(state.node().await?.chat_log().await?)
}
