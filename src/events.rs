//! What the engine tells its subscribers (the CLI, the desktop app, tests).

use crate::members::Role;
use serde::Serialize;

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Through the engine's API on this peer.
    Local,
    /// A save on this peer's disk.
    Disk,
    /// From another peer.
    Remote,
}

/// An engine event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A file's content changed.
    FileChanged { path: String, origin: Origin },
    /// A file came into being (new, or re-created after a delete).
    FileCreated { path: String, origin: Origin },
    /// A document's text reached this peer's disk.
    FileWritten { path: String },
    /// A file was deleted.
    FileDeleted { path: String, origin: Origin },
    /// A member joined through one of our invites.
    MemberJoined { peer: String, name: String, role: Role },
    /// The members changed here or elsewhere: a role, a revocation.
    MembersChanged,
    /// This peer moved to a new workspace key (after a revocation).
    KeyRotated { epoch: u32 },
    /// Something from a peer was refused.
    Refused { peer: String, reason: String },
    /// A connection to a peer opened.
    PeerConnected { peer: String, address: String },
    /// A connection attempt failed (e.g. the other side lacks the workspace key).
    ConnectionFailed { error: String },
    /// The last connection to a peer closed.
    PeerDisconnected { peer: String },
    /// A sync exchange with a peer finished.
    Synced { peer: String, applied: usize },
    /// Documents are arriving (joining, or catching up): `received` of `total`.
    Progress { received: u64, total: u64 },
    /// Comments, replies or reviews changed.
    ReviewChanged,
    /// A new chat message.
    Chat { message: crate::review::ChatMessage },
    /// This peer's user was mentioned in the chat.
    Mentioned { by: String, text: String },
    /// A line of the activity feed.
    Activity { item: crate::activity::Item },
    /// An alert fired or cleared.
    Alert { change: crate::alerts::Change },
    /// What the side panel shows of a peer changed: name, colour, status, open file, cursor,
    /// agents, or it went offline (metrics alone are not evented: they change every second).
    PresenceChanged { peer: String },
    /// The workspace folder vanished: file sync stopped.
    RootMissing,
}
