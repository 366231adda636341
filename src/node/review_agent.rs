//! The built-in review agent: after files change on this peer, it checks them (conflict markers,
//! secrets, trailing whitespace, TODO/FIXME, long lines) and posts each finding once as a review
//! comment under its own name, reporting its status and progress like any agent.

use super::live::AgentOp;
use super::Node;
use crate::agents::AgentUpdate;
use crate::checks::{self, Limits};
use crate::events::{Event, Origin};
use crate::review::CommentKind;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The agent's name.
pub const NAME: &str = "review";
/// Quiet time after the last change before a scan: a save or a checkout settles first.
const SETTLE: Duration = Duration::from_millis(500);

/// Runs the agent until the node stops.
pub async fn run(node: Node) {
    let mut events = node.subscribe();
    if node
        .agent(
            NAME,
            AgentOp::Register {
                kind: "reviewer".into(),
            },
        )
        .await
        .is_err()
    {
        return;
    }
    let mut pending: BTreeSet<String> = BTreeSet::new();
    loop {
        let ev = if pending.is_empty() {
            events.recv().await
        } else {
            match tokio::time::timeout(SETTLE, events.recv()).await {
                Ok(ev) => ev,
                Err(_) => {
                    scan(&node, std::mem::take(&mut pending)).await;
                    continue;
                }
            }
        };
        match ev {
            // Only changes made here: every peer reviewing every change would post each finding
            // once per peer.
            Ok(Event::FileChanged {
                path,
                origin: Origin::Disk | Origin::Local,
            }) => {
                pending.insert(path);
            }
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
    }
}

async fn scan(node: &Node, paths: BTreeSet<String>) {
    let total = paths.len();
    let task = format!("Review {total} changed file{}", if total == 1 { "" } else { "s" });
    let start = AgentUpdate {
        task: Some(task),
        progress: Some(0),
        ..Default::default()
    };
    if node.agent(NAME, AgentOp::Update(start)).await.is_err() {
        return;
    }
    let existing = match node.review_state().await {
        Ok((threads, _)) => threads
            .into_iter()
            .filter(|t| t.agent.as_deref() == Some(NAME))
            .map(|t| (t.file, t.start_line, t.end_line, t.body))
            .collect::<BTreeSet<_>>(),
        Err(_) => return,
    };
    for (i, path) in paths.iter().enumerate() {
        if let Ok(Some(text)) = node.text(path).await {
            for f in checks::check(path, &text, &Limits::default()) {
                let body = f.message.clone();
                if existing.contains(&(path.clone(), f.first_line, f.last_line, body.clone())) {
                    continue; // already said, once is enough
                }
                let kind = if !f.is_issue && f.suggestion.is_some() {
                    CommentKind::Suggestion
                } else {
                    CommentKind::Issue
                };
                let posted = node
                    .comment_as(
                        Some(NAME),
                        path,
                        f.first_line,
                        f.last_line,
                        kind,
                        &body,
                        f.suggestion.as_deref(),
                    )
                    .await;
                if let Err(e) = posted {
                    tracing::debug!(%path, error = %e, "review agent could not comment");
                }
            }
        }
        let progress = ((i + 1) * 100 / total.max(1)) as u8;
        let _ = node
            .agent(
                NAME,
                AgentOp::Update(AgentUpdate {
                    progress: Some(progress),
                    ..Default::default()
                }),
            )
            .await;
    }
    let _ = node.agent(NAME, AgentOp::Done).await;
}
