//! The local control API: JSON lines on a Unix socket in `.tandem/`, used by the CLI and by
//! external agents to talk to the running peer.
//!
//! One request per line, one response per line: `{"op":"status"}` →
//! `{"ok":true,"result":{...}}` or `{"ok":false,"error":"what went wrong"}`.

use crate::members::Role;
use crate::node::live::AgentOp;
use crate::node::Node;
use crate::Error;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// Longest request line accepted.
const MAX_LINE: usize = 1024 * 1024;

/// A request to the running peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Everything `tandem status` shows.
    Status,
    /// A new invite code.
    Invite {
        /// editor or viewer.
        role: Role,
        /// Validity in seconds.
        ttl_secs: u64,
    },
    /// Every member: `{"members": [...]}`.
    Members,
    /// Change a member's role (owners only).
    SetRole {
        /// Peer id or unique display name.
        peer: String,
        /// owner, editor or viewer.
        role: Role,
    },
    /// Revoke a member and rotate the workspace key (owners only): `{"epoch": N}`.
    Revoke {
        /// Peer id or unique display name.
        peer: String,
        /// How long members who were away may still come back with the old key.
        #[serde(default)]
        grace_secs: Option<u64>,
    },
    /// Open invites (owners only): `{"invites": [...]}`.
    Invites,
    /// Cancel an open invite by id (owners only).
    InviteCancel {
        /// The id from `invites`, or a unique prefix of it.
        id: String,
    },
    /// Replace a file's text; answered once the change is stored.
    SetText {
        /// Workspace-relative path.
        path: String,
        /// The new text.
        text: String,
    },
    /// A file's current text (null if there is no such file).
    GetText {
        /// Workspace-relative path.
        path: String,
    },
    /// Comment on lines of a file: `{"id": ...}`.
    CommentAdd {
        /// Workspace-relative path.
        file: String,
        /// First line, 1-based.
        start_line: usize,
        /// Last line, 1-based.
        end_line: usize,
        /// suggestion / question / issue / praise.
        kind: crate::review::CommentKind,
        /// Text.
        body: String,
        /// Replacement text (suggestions).
        #[serde(default)]
        suggest: Option<String>,
    },
    /// Reply in a thread: `{"id": ...}`.
    CommentReply {
        /// Thread id.
        thread: String,
        /// Text.
        body: String,
    },
    /// Resolve, reopen, apply or delete a comment (or delete a reply).
    CommentAct {
        /// resolve / reopen / apply / delete.
        action: String,
        /// Thread (or reply) id.
        id: String,
    },
    /// Change the text of one's own comment or reply.
    CommentEdit {
        /// Thread or reply id.
        id: String,
        /// The new text.
        body: String,
    },
    /// Every thread: `{"threads": [...]}`.
    Comments,
    /// Ask for a review: `{"id": ...}`.
    ReviewRequest {
        /// Files to review.
        files: Vec<String>,
        /// Approvals needed.
        approvals: u64,
        /// Title.
        title: String,
    },
    /// Approve (or reject, with a reason) a review.
    ReviewVote {
        /// Review id.
        id: String,
        /// Approve or request changes.
        approve: bool,
        /// Why.
        #[serde(default)]
        reason: String,
    },
    /// Every review request: `{"reviews": [...]}`.
    Reviews,
    /// Say something in the chat.
    ChatSend {
        /// Text.
        text: String,
    },
    /// The chat so far: `{"messages": [...]}`.
    ChatLog,
    /// Register (or reset) an agent hosted by this peer.
    AgentRegister {
        /// Name.
        name: String,
        /// Kind: test-runner, linter, build, assistant...
        kind: String,
    },
    /// Update an agent's status, task, progress or subtasks.
    AgentUpdate {
        /// Name.
        name: String,
        /// What changes.
        #[serde(flatten)]
        update: crate::agents::AgentUpdate,
    },
    /// An agent's task is done.
    AgentDone {
        /// Name.
        name: String,
    },
    /// An agent's task failed.
    AgentFail {
        /// Name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Every agent of every peer: `{"agents": [...]}`.
    Agents,
    /// The activity feed, newest first: `{"items": [...]}`.
    Activity,
    /// Show the others this peer's caret in a file, as an editor would (a headless peer has none).
    Presence {
        /// Workspace-relative path.
        file: String,
        /// Line, 1-based.
        line: usize,
        /// Column in characters, 1-based.
        col: usize,
    },
    /// Rename this member and/or change its colour, for every peer: `{"name": N, "colour": C}`,
    /// the ones in force. With neither field, just reads them.
    Profile {
        /// New display name: one word, not another member's.
        #[serde(default)]
        name: Option<String>,
        /// New colour, `#rrggbb`.
        #[serde(default)]
        colour: Option<String>,
    },
    /// Stream every engine event as a JSON line until the client hangs up.
    Events,
}

/// A response line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The result, when ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The error, when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Whether a peer already answers on this socket (a stale socket file is removed).
pub async fn is_served(socket: &Path) -> bool {
    if UnixStream::connect(socket).await.is_ok() {
        return true;
    }
    if socket.exists() {
        let _ = std::fs::remove_file(socket);
    }
    false
}

/// Serves the control socket for `node` until the process ends.
pub async fn serve(node: Node, socket: &Path) -> Result<(), Error> {
    let listener = UnixListener::bind(socket)
        .map_err(|e| Error::io(format!("could not open the control socket {}", socket.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600));
    }
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(node.clone(), stream));
        }
    });
    Ok(())
}

async fn handle(node: Node, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read.take(MAX_LINE as u64 * 16)).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Ok(Request::Events) = serde_json::from_str::<Request>(&line) {
            stream_events(&node, &mut write).await;
            return;
        }
        let resp = match serde_json::from_str::<Request>(&line) {
            Ok(req) => answer(&node, req).await,
            Err(e) => Err(format!("bad request: {e}")),
        };
        let resp = match resp {
            Ok(v) => Response {
                ok: true,
                result: Some(v),
                error: None,
            },
            Err(e) => Response {
                ok: false,
                result: None,
                error: Some(e),
            },
        };
        let mut out = serde_json::to_vec(&resp).unwrap_or_default();
        out.push(b'\n');
        if write.write_all(&out).await.is_err() {
            return;
        }
    }
}

async fn stream_events(node: &Node, write: &mut tokio::net::unix::OwnedWriteHalf) {
    let mut events = node.subscribe();
    loop {
        let ev = match events.recv().await {
            Ok(ev) => ev,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => return,
        };
        let mut line = serde_json::to_vec(&ev).unwrap_or_default();
        line.push(b'\n');
        if write.write_all(&line).await.is_err() {
            return;
        }
    }
}

async fn answer(node: &Node, req: Request) -> Result<serde_json::Value, String> {
    use crate::core::ReviewCmd;
    use serde_json::json;
    let err = |e: Error| e.to_string();
    let rel = |p: &str| crate::workspace::RelPath::new(p).map_err(|e| e.to_string());
    match req {
        Request::CommentAdd {
            file,
            start_line,
            end_line,
            kind,
            body,
            suggest,
        } => {
            let id = node
                .comment(&file, start_line, end_line, kind, &body, suggest.as_deref())
                .await
                .map_err(err)?;
            Ok(json!({ "id": id }))
        }
        Request::CommentReply { thread, body } => {
            let id = crate::review::new_id();
            node.review(ReviewCmd::Reply {
                id: id.clone(),
                thread,
                body,
            })
            .await
            .map_err(err)?;
            Ok(json!({ "id": id }))
        }
        Request::CommentAct { action, id } => {
            let cmd = match action.as_str() {
                "resolve" => ReviewCmd::Resolve { thread: id },
                "reopen" => ReviewCmd::Reopen { thread: id },
                "apply" => ReviewCmd::Apply { thread: id },
                "delete" => ReviewCmd::Delete { target: id },
                other => return Err(format!("unknown action {other:?}: resolve, reopen, apply or delete")),
            };
            node.review(cmd).await.map_err(err)?;
            Ok(serde_json::Value::Null)
        }
        Request::CommentEdit { id, body } => {
            node.review(ReviewCmd::Edit { target: id, body }).await.map_err(err)?;
            Ok(serde_json::Value::Null)
        }
        Request::Comments => {
            let (threads, _) = node.review_state().await.map_err(err)?;
            Ok(json!({ "threads": threads }))
        }
        Request::ReviewRequest {
            files,
            approvals,
            title,
        } => {
            let files = files.iter().map(|f| rel(f)).collect::<Result<Vec<_>, _>>()?;
            let id = crate::review::new_id();
            node.review(ReviewCmd::Request {
                id: id.clone(),
                files,
                approvals,
                title,
            })
            .await
            .map_err(err)?;
            Ok(json!({ "id": id }))
        }
        Request::ReviewVote { id, approve, reason } => {
            node.review(ReviewCmd::Vote {
                review: id,
                approve,
                reason,
            })
            .await
            .map_err(err)?;
            Ok(serde_json::Value::Null)
        }
        Request::Reviews => {
            let (_, reviews) = node.review_state().await.map_err(err)?;
            Ok(json!({ "reviews": reviews }))
        }
        Request::ChatSend { text } => {
            node.review(ReviewCmd::Chat { text }).await.map_err(err)?;
            Ok(serde_json::Value::Null)
        }
        Request::ChatLog => {
            let messages = node.chat_log().await.map_err(err)?;
            Ok(json!({ "messages": messages }))
        }
        Request::AgentRegister { name, kind } => agent(node, &name, AgentOp::Register { kind }).await,
        Request::AgentUpdate { name, update } => agent(node, &name, AgentOp::Update(update)).await,
        Request::AgentDone { name } => agent(node, &name, AgentOp::Done).await,
        Request::AgentFail { name, reason } => agent(node, &name, AgentOp::Fail(reason)).await,
        Request::Agents => Ok(json!({ "agents": node.live_view().await.map_err(err)?.agents })),
        Request::Activity => Ok(json!({ "items": node.activity().await.map_err(err)? })),
        Request::Presence { file, line, col } => {
            let doc = node.doc_diff(&format!("f:{file}"), Vec::new()).await.map_err(err)?;
            let cursor = crate::presence::Cursor::at(&doc, line, col)?;
            node.set_presence(Some(Some(file)), Some(Some(cursor)), None);
            Ok(serde_json::Value::Null)
        }
        Request::Profile { name, colour } => {
            let (name, colour) = if name.is_none() && colour.is_none() {
                node.profile().await
            } else {
                node.set_profile(name.as_deref(), colour.as_deref()).await
            }
            .map_err(err)?;
            Ok(json!({ "name": name, "colour": colour }))
        }
        Request::Events => Err("events are streamed; send this request alone on a connection".into()),
        Request::Status => {
            let status = node.status().await.map_err(|e| e.to_string())?;
            serde_json::to_value(status).map_err(|e| e.to_string())
        }
        Request::Members => Ok(json!({ "members": node.members().await.map_err(err)? })),
        Request::SetRole { peer, role } => {
            let peer = node.find_member(&peer).await.map_err(err)?;
            node.set_role(peer, role).await.map_err(err)?;
            Ok(serde_json::Value::Null)
        }
        Request::Revoke { peer, grace_secs } => {
            let peer = node.find_member(&peer).await.map_err(err)?;
            let grace = grace_secs.map_or(crate::node::DEFAULT_KEY_GRACE, Duration::from_secs);
            let epoch = node.revoke(peer, grace).await.map_err(err)?;
            Ok(json!({ "peer": peer.to_string(), "epoch": epoch }))
        }
        Request::Invites => Ok(json!({ "invites": node.invites().await.map_err(err)? })),
        Request::InviteCancel { id } => {
            node.cancel_invite(&id).await.map_err(err)?;
            Ok(serde_json::Value::Null)
        }
        Request::Invite { role, ttl_secs } => node
            .invite(role, Duration::from_secs(ttl_secs))
            .await
            .map(serde_json::Value::String)
            .map_err(|e| e.to_string()),
        Request::SetText { path, text } => node
            .set_text(&path, &text)
            .await
            .map(|()| serde_json::Value::Null)
            .map_err(|e| e.to_string()),
        Request::GetText { path } => node
            .text(&path)
            .await
            .map(|t| t.map(serde_json::Value::String).unwrap_or(serde_json::Value::Null))
            .map_err(|e| e.to_string()),
    }
}

async fn agent(node: &Node, name: &str, op: AgentOp) -> Result<serde_json::Value, String> {
    let agent = node.agent(name, op).await.map_err(|e| e.to_string())?;
    serde_json::to_value(agent).map_err(|e| e.to_string())
}

/// Why the CLI could not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nobody serves the socket.
    #[error("no peer is running for {0}; start one with `tandem serve {0}`")]
    NotRunning(String),
    /// The peer answered with an error.
    #[error("{0}")]
    Failed(String),
    /// The connection broke.
    #[error("lost the connection to the running peer: {0}")]
    Io(#[from] std::io::Error),
}

/// Sends one request to the peer serving `root` and returns its result.
pub async fn call(root: &Path, socket: &Path, req: &Request) -> Result<serde_json::Value, ClientError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|_| ClientError::NotRunning(root.display().to_string()))?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Failed(e.to_string()))?;
    line.push(b'\n');
    write.write_all(&line).await?;
    let mut lines = BufReader::new(read).lines();
    let Some(reply) = lines.next_line().await? else {
        return Err(ClientError::Failed("the running peer closed the connection".into()));
    };
    let resp: Response = serde_json::from_str(&reply).map_err(|e| ClientError::Failed(format!("bad answer: {e}")))?;
    if resp.ok {
        Ok(resp.result.unwrap_or(serde_json::Value::Null))
    } else {
        Err(ClientError::Failed(
            resp.error.unwrap_or_else(|| "unknown error".into()),
        ))
    }
}

/// Streams the running peer's events to `each` until it returns false or the peer goes away.
pub async fn follow(
    root: &Path,
    socket: &Path,
    mut each: impl FnMut(serde_json::Value) -> bool,
) -> Result<(), ClientError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|_| ClientError::NotRunning(root.display().to_string()))?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(&Request::Events).map_err(|e| ClientError::Failed(e.to_string()))?;
    line.push(b'\n');
    write.write_all(&line).await?;
    let mut lines = BufReader::new(read).lines();
    while let Some(l) = lines.next_line().await? {
        let Ok(v) = serde_json::from_str(&l) else { continue };
        if !each(v) {
            break;
        }
    }
    Ok(())
}
