//! The wire format: gossip envelopes and the `/tandem/sync/1` request-response messages.
//!
//! Everything here is CBOR (RFC 8949) so that a peer in another language can speak it; the yrs
//! payloads inside are plain Yjs v1 updates and state vectors. PROTOCOL.md is the normative text.

use serde::{Deserialize, Serialize};

/// Version of the envelope and of the sync messages.
pub const WIRE_VERSION: u8 = 1;
/// Largest gossip message we publish or accept (gossipsub's own cap is 65,536 bytes).
pub const MAX_GOSSIP_BYTES: usize = 60 * 1024;
/// Largest single document update accepted from a peer, over gossip or sync.
pub const MAX_UPDATE_BYTES: usize = 8 * 1024 * 1024;
/// Byte budget of one sync response; a single larger document travels alone.
pub const SYNC_CHUNK_BYTES: usize = 512 * 1024;
/// Largest sync request (mostly state vectors).
pub const MAX_SYNC_REQUEST_BYTES: u64 = 4 * 1024 * 1024;
/// Largest sync response: one chunk, or one whole document at its size cap.
pub const MAX_SYNC_RESPONSE_BYTES: u64 = MAX_UPDATE_BYTES as u64 + 1024 * 1024;

/// What a gossip envelope carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `data` is a Yjs v1 update of document `doc`.
    Update,
    /// The sender has news too large to gossip: sync with it. `doc` names the document, `data` is empty.
    Nudge,
    /// `data` is the sender's presence (CBOR, see `presence::State`); `doc` is empty.
    Presence,
}

/// One gossip message: `{v, kind, doc, data}` as a CBOR map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always [`WIRE_VERSION`]; other versions are dropped.
    pub v: u8,
    /// What `data` is.
    pub kind: Kind,
    /// Document id (see [`crate::docs::DocId`]).
    pub doc: String,
    /// Payload; a CBOR byte string.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
    /// When the sender made it (Unix milliseconds of its clock), for sync-latency figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<u64>,
}

/// Why bytes from a peer were not a valid message.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not CBOR, or not the expected shape.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A version this build does not speak.
    #[error("unsupported wire version {0}")]
    Version(u8),
    /// Over the size cap.
    #[error("message of {0} bytes is over the cap of {1} bytes")]
    TooLarge(usize, usize),
}

impl Envelope {
    /// An update envelope for `doc`.
    pub fn update(doc: &str, data: Vec<u8>) -> Envelope {
        Envelope {
            t: None,
            v: WIRE_VERSION,
            kind: Kind::Update,
            doc: doc.to_string(),
            data,
        }
    }

    /// A nudge: "sync with me about `doc`".
    pub fn nudge(doc: &str) -> Envelope {
        Envelope {
            t: None,
            v: WIRE_VERSION,
            kind: Kind::Nudge,
            doc: doc.to_string(),
            data: Vec::new(),
        }
    }

    /// A presence envelope.
    pub fn presence(data: Vec<u8>) -> Envelope {
        Envelope {
            v: WIRE_VERSION,
            kind: Kind::Presence,
            doc: String::new(),
            data,
            t: None,
        }
    }

    /// CBOR bytes of this envelope.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + self.doc.len() + 32);
        // Writing to a Vec cannot fail, and every field is serialisable.
        if let Err(e) = ciborium::into_writer(self, &mut out) {
            tracing::error!(error = %e, "encoding an envelope failed");
        }
        out
    }

    /// Parses an envelope from a peer, checking size and version.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
        if bytes.len() > MAX_GOSSIP_BYTES + 1024 {
            return Err(WireError::TooLarge(bytes.len(), MAX_GOSSIP_BYTES));
        }
        // ciborium's recursion limit (256) guards the stack against nested garbage.
        let env: Envelope = ciborium::from_reader(bytes).map_err(|e| WireError::Malformed(e.to_string()))?;
        if env.v != WIRE_VERSION {
            return Err(WireError::Version(env.v));
        }
        Ok(env)
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One document's missing part, as a Yjs v1 update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocUpdate {
    /// Document id.
    pub doc: String,
    /// Yjs v1 update.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// One document's state vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocVector {
    /// Document id.
    pub doc: String,
    /// Yjs v1 state vector.
    #[serde(with = "serde_bytes")]
    pub sv: Vec<u8>,
    /// First 8 bytes of the BLAKE3 hash of the document's Yjs v1 delete set (deletions do not
    /// show in a state vector).
    #[serde(with = "serde_bytes", default)]
    pub ds: Vec<u8>,
}

/// A request on `/tandem/sync/1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum SyncRequest {
    /// "Here is what I have; send me what I miss." Documents absent from `have` are wanted whole.
    Sync {
        /// Always [`WIRE_VERSION`].
        v: u8,
        /// The requester's state vector of every document it holds.
        have: Vec<DocVector>,
        /// Paging cursor: only documents after this id (in id order, `members` first) are wanted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    },
    /// Redeem an invite: the one-time token from the code, and the joiner's display name.
    Join {
        /// Always [`WIRE_VERSION`].
        v: u8,
        /// The invite's one-time token.
        #[serde(with = "serde_bytes")]
        token: Vec<u8>,
        /// Display name of the joiner.
        name: String,
    },
    /// "My workspace key is of this epoch": answered with a newer signed key grant, if any.
    Key {
        /// Always [`WIRE_VERSION`].
        v: u8,
        /// The requester's key epoch.
        epoch: u32,
    },
}

/// A response on `/tandem/sync/1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum SyncResponse {
    /// Updates the requester misses; `more` says another request will bring more.
    Updates {
        /// Always [`WIRE_VERSION`].
        v: u8,
        /// Missing parts, `members` first.
        updates: Vec<DocUpdate>,
        /// Whether the responder still has documents the requester misses.
        more: bool,
        /// How many documents the responder holds (for progress bars).
        total_docs: u64,
    },
    /// The join was accepted with this role.
    Joined {
        /// Always [`WIRE_VERSION`].
        v: u8,
        /// The role granted.
        role: String,
    },
    /// The newest key grant the responder holds, if newer than the requester's.
    Key {
        /// Always [`WIRE_VERSION`].
        v: u8,
        /// The grant (only ever sent to members).
        grant: Option<crate::keys::Grant>,
    },
    /// The request was refused; `reason` is for humans.
    Refused {
        /// Always [`WIRE_VERSION`].
        v: u8,
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips() {
        let env = Envelope::update("f:a.txt", vec![1, 2, 3]);
        assert_eq!(Envelope::decode(&env.encode()).unwrap(), env);
    }

    #[test]
    fn envelope_with_other_version_is_refused() {
        let mut env = Envelope::nudge("ws");
        env.v = 9;
        assert!(matches!(Envelope::decode(&env.encode()), Err(WireError::Version(9))));
    }

    #[test]
    fn garbage_and_nested_garbage_are_errors_not_panics() {
        assert!(Envelope::decode(b"\xff\x00garbage").is_err());
        let nested = vec![0x81u8; 50_000]; // [[[[...
        assert!(Envelope::decode(&nested).is_err());
        assert!(Envelope::decode(&vec![0u8; MAX_GOSSIP_BYTES * 2]).is_err());
    }
}
