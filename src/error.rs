//! The engine's error type: what failed, with enough context to act on.

use std::path::PathBuf;

/// An engine error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The workspace folder or a path in it.
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    /// The database.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Networking.
    #[error(transparent)]
    Net(#[from] crate::net::NetError),
    /// An invite code.
    #[error(transparent)]
    Invite(#[from] crate::invite::InviteError),
    /// The watcher.
    #[error(transparent)]
    Watch(#[from] crate::fs_sync::WatchError),
    /// The identity key file.
    #[error("identity key {path}: {why}")]
    Identity { path: PathBuf, why: String },
    /// The workspace's stored settings are missing or damaged.
    #[error("workspace settings damaged: {0}; re-join the workspace")]
    Settings(String),
    /// Joining failed.
    #[error("{0}")]
    Join(String),
    /// The engine is shutting down or one of its tasks stopped.
    #[error("the engine stopped")]
    Stopped,
    /// A refused request (bad input, not allowed).
    #[error("{0}")]
    Refused(String),
    /// Another peer already serves this folder.
    #[error("a peer is already running for {0}")]
    AlreadyRunning(PathBuf),
    /// I/O outside the store.
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

impl Error {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
