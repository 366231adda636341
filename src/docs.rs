//! The yrs documents of a workspace: one per file plus the members document, and the only place
//! where bytes from a peer are decoded and applied — inside a panic boundary, checked afterwards.

use crate::members::Role;
use crate::merge::Splice;
use crate::wire::{DocVector, MAX_UPDATE_BYTES};
use crate::workspace::RelPath;
use libp2p::PeerId;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, Array, ClientID, Doc, GetString, IndexedSequence, Map, Options, Out, ReadTxn, StateVector, Text, Transact,
    Update,
};

/// Name of the text root in a file document.
pub const CONTENT: &str = "content";
/// Name of the map root in a file document (`deleted`: bool).
pub const META: &str = "meta";
/// Name of the map root in the members document (peer id → record).
pub const MEMBERS: &str = "members";
/// Name of the map root of revoked peers in the members document (peer id → revoking owner).
pub const REVOKED: &str = "revoked";

/// Which document: the members document, or a file's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocId {
    /// `members`: who belongs and with which role.
    Members,
    /// `f:<path>`: one text file.
    File(RelPath),
    /// `review`: the append-only log of comments, replies, resolutions and review requests.
    Review,
    /// `chat`: the append-only log of the team's chat.
    Chat,
}

impl DocId {
    /// Parses a document id from the wire; the path inside is validated by [`RelPath`].
    pub fn parse(s: &str) -> Option<DocId> {
        match s {
            "members" => return Some(DocId::Members),
            "review" => return Some(DocId::Review),
            "chat" => return Some(DocId::Chat),
            _ => {}
        }
        s.strip_prefix("f:").and_then(|p| RelPath::new(p).ok()).map(DocId::File)
    }
}

impl std::fmt::Display for DocId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DocId::Members => f.write_str("members"),
            DocId::File(p) => write!(f, "f:{p}"),
            DocId::Review => f.write_str("review"),
            DocId::Chat => f.write_str("chat"),
        }
    }
}

/// The yrs client id a peer writes with: 32 bits of a hash of its peer id, then a 16-bit slot, so
/// every receiver can tell whose an inserted item is without any registry (and it stays below
/// JavaScript's 2^53).
pub fn client_id_for(peer: &PeerId, slot: u16) -> u64 {
    (u64::from(peer_tag(peer)) << 16) | u64::from(slot)
}

/// The 32-bit tag of a peer inside its client ids.
pub fn peer_tag(peer: &PeerId) -> u32 {
    let h = blake3::hash(&peer.to_bytes());
    let b = h.as_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The peer tag inside a client id, or None for ids outside the scheme.
pub fn tag_of_client(client: u64) -> Option<u32> {
    (client < (1 << 48)).then_some((client >> 16) as u32)
}

/// A member as recorded in the members document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberRecord {
    /// Role in the workspace.
    pub role: Role,
    /// Display name given at join (may be empty).
    pub name: String,
    /// Peer id of who added them.
    pub added_by: String,
    /// Unix seconds.
    pub added_at: u64,
}

/// Why an update from a peer was refused.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Over [`MAX_UPDATE_BYTES`].
    #[error("update of {0} bytes is over the cap")]
    TooLarge(usize),
    /// Not a Yjs v1 update.
    #[error("update does not decode: {0}")]
    Malformed(String),
    /// It deletes, and the peer that delivered it may not change this document.
    #[error("update deletes content, and its sender may not change this document")]
    DeletesNotAllowed,
    /// It inserts content under a client id that the sender may not write with.
    #[error("update carries content of client {0}, which is not an author allowed here")]
    Unauthorised(u64),
    /// It would create a document beyond the limit this peer holds.
    #[error("update would create a document beyond the limit of {0}")]
    LimitReached(usize),
    /// Applying it panicked or left a document that no longer encodes; the document must be
    /// restored from the store.
    #[error("update poisoned the document: {0}")]
    Poisoned(String),
}

/// All documents of the workspace, in memory.
pub struct DocSet {
    client: u64,
    max_docs: usize,
    docs: BTreeMap<DocId, Doc>,
    /// Each file's text as a string, kept in step with local edits and dropped on remote ones, so
    /// a keystroke costs neither a full copy of the text nor a scan for its byte offset.
    texts: RefCell<HashMap<RelPath, CachedText>>,
}

impl CachedText {
    fn read(doc: &Doc) -> CachedText {
        let txn = doc.transact();
        let text = txn.get_text(CONTENT).map(|t| t.get_string(&txn)).unwrap_or_default();
        CachedText {
            ascii: text.is_ascii(),
            text: Some(text),
        }
    }
}

struct CachedText {
    /// The text, when known; an ASCII file's edits only drop it (rebuilt when next read).
    text: Option<String>,
    ascii: bool,
}

fn new_doc(client: u64) -> Doc {
    let mut opts = Options::with_client_id(ClientID::new(client));
    opts.offset_kind = yrs::OffsetKind::Bytes;
    Doc::with_options(opts)
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

impl DocSet {
    /// An empty set whose local edits use `client`.
    pub fn new(client: u64) -> DocSet {
        DocSet {
            client,
            max_docs: MAX_DOCS,
            docs: BTreeMap::new(),
            texts: RefCell::new(HashMap::new()),
        }
    }

    /// Sets the most documents this set takes from peers and from disk (default [`MAX_DOCS`]).
    pub fn set_max_docs(&mut self, max: usize) {
        self.max_docs = max;
    }

    /// Whether a document `id` may come into being (it exists, or there is room for it).
    pub fn has_room_for(&self, id: &DocId) -> bool {
        self.docs.contains_key(id) || self.docs.len() < self.max_docs
    }

    /// The most documents this set takes.
    pub fn max_docs(&self) -> usize {
        self.max_docs
    }

    /// Ids of every document held.
    pub fn ids(&self) -> impl Iterator<Item = &DocId> {
        self.docs.keys()
    }

    /// Number of documents held.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no document is held.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    fn doc(&mut self, id: &DocId) -> &Doc {
        let client = self.client;
        self.docs.entry(id.clone()).or_insert_with(|| new_doc(client))
    }

    /// Drops a document from memory (before it is reloaded from the store).
    pub fn forget(&mut self, id: &DocId) {
        self.uncache(id);
        self.docs.remove(id);
    }

    /// Applies a stored update (ours or a peer's, already validated once) inside the panic
    /// boundary. Used when loading from the store.
    pub fn load(&mut self, id: &DocId, bytes: &[u8]) -> Result<(), ApplyError> {
        self.apply_checked(id, bytes, true, &|_| true).map(|_| ())
    }

    /// Applies an update from a peer: size cap, decode in isolation, every inserting client id
    /// checked with `may_author`, deletions only if `may_delete`, apply in a panic boundary, then
    /// the document must still encode. Returns whether the document changed.
    pub fn apply_remote(
        &mut self,
        id: &DocId,
        bytes: &[u8],
        may_delete: bool,
        may_author: &dyn Fn(u64) -> bool,
    ) -> Result<bool, ApplyError> {
        self.apply_checked(id, bytes, may_delete, may_author)
    }

    fn apply_checked(
        &mut self,
        id: &DocId,
        bytes: &[u8],
        may_delete: bool,
        may_author: &dyn Fn(u64) -> bool,
    ) -> Result<bool, ApplyError> {
        if bytes.len() > MAX_UPDATE_BYTES {
            return Err(ApplyError::TooLarge(bytes.len()));
        }
        if !crate::decode_limits::update_counts_fit(bytes) {
            return Err(ApplyError::Malformed(
                "it claims more clients than its bytes hold".into(),
            ));
        }
        let update = catch_unwind(|| Update::decode_v1(bytes))
            .map_err(|p| ApplyError::Malformed(panic_text(p)))?
            .map_err(|e| ApplyError::Malformed(e.to_string()))?;
        if !crate::decode_limits::blocks_in_clock_order(&update) {
            return Err(ApplyError::Malformed(
                "it lists a client's blocks out of clock order".into(),
            ));
        }
        for client in update.insertions(true).client_ids() {
            if !may_author(client.get()) {
                return Err(ApplyError::Unauthorised(client.get()));
            }
        }
        let deletes = !update.delete_set().is_empty();
        if deletes && !may_delete {
            return Err(ApplyError::DeletesNotAllowed);
        }
        if !self.has_room_for(id) {
            return Err(ApplyError::LimitReached(self.max_docs));
        }
        let is_file = matches!(id, DocId::File(_));
        self.uncache(id);
        let doc = self.doc(id);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut txn = doc.transact_mut();
            let before = txn.state_vector();
            txn.apply_update(update).map_err(|e| e.to_string())?;
            // Some hostile updates apply cleanly and then make every later encode panic: encode
            // the new part now, inside the boundary.
            let _ = txn.encode_diff_v1(&before);
            if is_file {
                let bytes = txn.get_text(CONTENT).map_or(0, |t| t.len(&txn)) as u64;
                if bytes > crate::workspace::MAX_FILE_BYTES {
                    return Err(format!(
                        "the file would grow to {bytes} bytes (limit {})",
                        crate::workspace::MAX_FILE_BYTES
                    ));
                }
            }
            // Parts waiting for predecessors that never come would pile up without end.
            let waiting = pending_bytes(&txn);
            if waiting > MAX_PENDING_BYTES {
                return Err(format!(
                    "{waiting} bytes would wait for missing predecessors (cap {MAX_PENDING_BYTES})"
                ));
            }
            // Parts still waiting on missing predecessors are re-encoded and merged whenever the
            // whole document is (a snapshot for compaction), and yrs can panic there: try it now.
            if txn.has_missing_updates() {
                let _ = txn.encode_state_as_update_v1(&txn.state_vector());
            }
            Ok::<bool, String>(deletes || txn.state_vector() != before)
        }));
        match outcome {
            Ok(Ok(changed)) => Ok(changed),
            Ok(Err(e)) => Err(ApplyError::Poisoned(e)),
            Err(p) => Err(ApplyError::Poisoned(panic_text(p))),
        }
    }

    /// Current text of a file document, if it exists and is not deleted.
    pub fn live_text(&self, path: &RelPath) -> Option<String> {
        let doc = self.docs.get(&DocId::File(path.clone()))?;
        if is_deleted(&doc.transact()) {
            return None;
        }
        Some(self.with_text(path, doc, |c| c.text.clone().unwrap_or_default()))
    }

    /// Whether a file document exists and is not deleted (without copying its text).
    pub fn is_live(&self, path: &RelPath) -> bool {
        self.docs
            .get(&DocId::File(path.clone()))
            .is_some_and(|d| !is_deleted(&d.transact()))
    }

    fn with_text<R>(&self, path: &RelPath, doc: &Doc, f: impl FnOnce(&mut CachedText) -> R) -> R {
        let mut texts = self.texts.borrow_mut();
        let cached = texts.entry(path.clone()).or_insert_with(|| CachedText::read(doc));
        if cached.text.is_none() {
            *cached = CachedText::read(doc);
        }
        f(cached)
    }

    fn uncache(&self, id: &DocId) {
        if let DocId::File(p) = id {
            self.texts.borrow_mut().remove(p);
        }
    }

    /// Text of a file document even if deleted (None if there is no such document).
    pub fn raw_text(&self, path: &RelPath) -> Option<String> {
        let doc = self.docs.get(&DocId::File(path.clone()))?;
        let txn = doc.transact();
        Some(txn.get_text(CONTENT).map(|t| t.get_string(&txn)).unwrap_or_default())
    }

    /// Paths of every live (not deleted) file document.
    pub fn live_files(&self) -> Vec<RelPath> {
        self.docs
            .iter()
            .filter_map(|(id, doc)| match id {
                DocId::File(p) if !is_deleted(&doc.transact()) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    /// Applies splices (char offsets on the current text, descending) to a file, un-deleting it
    /// if needed. Returns the update, or None if nothing changed.
    pub fn edit_file(&mut self, path: &RelPath, splices: &[Splice]) -> Option<Vec<u8>> {
        self.doc(&DocId::File(path.clone()));
        let doc = self.docs.get(&DocId::File(path.clone()))?;
        let text = doc.get_or_insert_text(CONTENT);
        let meta = doc.get_or_insert_map(META);
        let mut texts = self.texts.borrow_mut();
        let cached = texts.entry(path.clone()).or_insert_with(|| CachedText::read(doc));
        let mut txn = doc.transact_mut();
        let was_deleted = is_deleted(&txn);
        if was_deleted {
            meta.insert(&mut txn, "deleted", false);
        }
        if !cached.ascii && cached.text.is_none() {
            cached.text = Some(text.get_string(&txn));
        }
        for s in splices {
            // ASCII text (most code) needs neither a copy nor a scan: a char offset is a byte
            // offset. Other text keeps its string in step to find byte offsets.
            let (at, del_bytes) = match (&mut cached.text, cached.ascii) {
                (Some(current), false) => {
                    let at = char_to_byte(current, std::iter::once(s.at))[0];
                    let del: usize = current[at..].chars().take(s.delete).map(char::len_utf8).sum();
                    current.replace_range(at..at + del, &s.insert);
                    (at, del)
                }
                _ => {
                    let len = text.len(&txn) as usize;
                    let at = s.at.min(len);
                    (at, s.delete.min(len - at))
                }
            };
            if del_bytes > 0 {
                text.remove_range(&mut txn, at as u32, del_bytes as u32);
            }
            if !s.insert.is_empty() {
                text.insert(&mut txn, at as u32, &s.insert);
            }
            if cached.ascii {
                cached.text = None;
                cached.ascii = s.insert.is_ascii();
            }
        }
        let update = txn.encode_update_v1();
        (was_deleted || !splices.is_empty()).then_some(update)
    }

    /// Marks a file deleted (its history stays). Returns the update, or None if already deleted.
    pub fn delete_file(&mut self, path: &RelPath) -> Option<Vec<u8>> {
        let doc = self.docs.get(&DocId::File(path.clone()))?;
        let meta = doc.get_or_insert_map(META);
        let mut txn = doc.transact_mut();
        if is_deleted(&txn) {
            return None;
        }
        meta.insert(&mut txn, "deleted", true);
        Some(txn.encode_update_v1())
    }

    /// Every member recorded in the members document.
    pub fn members(&self) -> HashMap<String, MemberRecord> {
        let Some(doc) = self.docs.get(&DocId::Members) else {
            return HashMap::new();
        };
        let txn = doc.transact();
        let Some(map) = txn.get_map(MEMBERS) else {
            return HashMap::new();
        };
        map.iter(&txn)
            .filter_map(|(peer, value)| Some((peer.to_string(), record_from(&value)?)))
            .collect()
    }

    /// Adds or replaces a member record. Returns the update.
    pub fn set_member(&mut self, peer: &PeerId, rec: &MemberRecord) -> Vec<u8> {
        let doc = self.doc(&DocId::Members);
        let map = doc.get_or_insert_map(MEMBERS);
        let mut txn = doc.transact_mut();
        let value: HashMap<String, Any> = HashMap::from([
            ("role".to_string(), Any::from(rec.role.as_str())),
            ("name".to_string(), Any::from(rec.name.as_str())),
            ("added_by".to_string(), Any::from(rec.added_by.as_str())),
            ("added_at".to_string(), Any::from(rec.added_at as f64)),
        ]);
        map.insert(&mut txn, peer.to_string(), Any::from(value));
        txn.encode_update_v1()
    }

    /// Peers revoked from the workspace (peer id → who revoked them), kept apart from `members`
    /// so that a concurrent change of a revoked member's record cannot bring them back.
    pub fn revoked(&self) -> HashMap<String, String> {
        let Some(doc) = self.docs.get(&DocId::Members) else {
            return HashMap::new();
        };
        let txn = doc.transact();
        let Some(map) = txn.get_map(REVOKED) else {
            return HashMap::new();
        };
        map.iter(&txn)
            .map(|(peer, by)| {
                let by = match by {
                    Out::Any(Any::String(s)) => s.to_string(),
                    _ => String::new(),
                };
                (peer.to_string(), by)
            })
            .collect()
    }

    /// Records `peer` as revoked by `by`. Returns the update.
    pub fn revoke(&mut self, peer: &PeerId, by: &PeerId) -> Vec<u8> {
        let doc = self.doc(&DocId::Members);
        let map = doc.get_or_insert_map(REVOKED);
        let mut txn = doc.transact_mut();
        map.insert(&mut txn, peer.to_string(), Any::from(by.to_string()));
        txn.encode_update_v1()
    }

    /// A document, if held.
    pub fn get(&self, id: &DocId) -> Option<&Doc> {
        self.docs.get(id)
    }

    /// Appends an op to the array `root` of an append-only document. Returns the update.
    pub fn append(&mut self, id: &DocId, root: &str, value: Any) -> Vec<u8> {
        let doc = self.doc(id);
        let arr = doc.get_or_insert_array(root);
        let mut txn = doc.transact_mut();
        arr.push_back(&mut txn, value);
        txn.encode_update_v1()
    }

    /// Sticky anchors (Yjs v1 relative positions) at the first character of line `first` and the
    /// last character of line `last` (1-based) of a live file.
    pub fn anchor(&self, path: &RelPath, first: usize, last: usize) -> Result<(Vec<u8>, Vec<u8>), String> {
        let text = self
            .live_text(path)
            .ok_or_else(|| format!("no such file in the workspace: {path}"))?;
        let spans = line_spans(&text);
        if first == 0 || last < first {
            return Err(format!("bad line range {first}-{last}: lines count from 1"));
        }
        if last > spans.len() {
            return Err(format!("line {last} is past the end of {path} ({} lines)", spans.len()));
        }
        let doc = self.docs.get(&DocId::File(path.clone())).ok_or("no such document")?;
        let content = doc.get_or_insert_text(CONTENT);
        let txn = doc.transact();
        let start = spans[first - 1].0;
        let end = spans[last - 1].1.saturating_sub(1).max(start);
        let at = |i: usize| {
            content
                .sticky_index(&txn, i as u32, yrs::Assoc::After)
                .map(|s| s.encode_v1())
                .ok_or_else(|| format!("could not anchor at {path}:{first}"))
        };
        Ok((at(start)?, at(end)?))
    }

    /// Where two anchors of a file point now: lines, or outdated when both ends were deleted.
    pub fn place(&self, path: &str, start: &[u8], end: &[u8]) -> Option<crate::review::Anchored> {
        use crate::review::Anchored;
        let path = RelPath::new(path).ok()?;
        let text = self.live_text(&path)?;
        let doc = self.docs.get(&DocId::File(path))?;
        let txn = doc.transact();
        let (s, e) = (
            crate::decode_limits::sticky_index(start)?,
            crate::decode_limits::sticky_index(end)?,
        );
        let deleted = txn.snapshot().delete_set;
        let gone = s.id().is_some_and(|id| deleted.contains(id)) && e.id().is_some_and(|id| deleted.contains(id));
        let line = |off: u32| {
            text.as_bytes()[..(off as usize).min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1
        };
        let (a, b) = (s.get_offset(&txn)?.index, e.get_offset(&txn)?.index);
        let (a, b) = (line(a), line(b.max(a)));
        Some(if gone {
            Anchored::Outdated(a, b)
        } else {
            Anchored::Lines(a, b)
        })
    }

    /// Replaces whole lines `first..=last` (1-based) of a file with `text`. Returns the update.
    pub fn replace_lines(&mut self, path: &RelPath, first: usize, last: usize, text: &str) -> Result<Vec<u8>, String> {
        let current = self
            .live_text(path)
            .ok_or_else(|| format!("no such file in the workspace: {path}"))?;
        let spans = line_spans(&current);
        if first == 0 || last < first || last > spans.len() {
            return Err(format!("lines {first}-{last} are not in {path}"));
        }
        let (start, end) = (spans[first - 1].0, spans[last - 1].1);
        let mut insert = text.to_string();
        if current[..end].ends_with('\n') && !insert.ends_with('\n') {
            insert.push('\n');
        }
        let at = current[..start].chars().count();
        let delete = current[start..end].chars().count();
        self.edit_file(path, &[Splice { at, delete, insert }])
            .ok_or_else(|| "nothing to change".to_string())
    }

    /// State vector and delete-set digest of every document.
    pub fn vectors(&self) -> Vec<DocVector> {
        self.docs
            .iter()
            .map(|(id, doc)| {
                let txn = doc.transact();
                DocVector {
                    doc: id.to_string(),
                    sv: txn.state_vector().encode_v1(),
                    ds: ds_digest(&txn),
                }
            })
            .collect()
    }

    /// What a peer holding `theirs` misses of `id` (None when it misses nothing).
    pub fn missing(&self, id: &DocId, theirs: Option<&DocVector>) -> Option<Vec<u8>> {
        let doc = self.docs.get(id)?;
        let txn = doc.transact();
        let sv = theirs
            .and_then(|t| crate::decode_limits::state_vector(&t.sv))
            .unwrap_or_default();
        let ours = txn.state_vector();
        let ahead = ours.iter().any(|(client, clock)| *clock > sv.get(client));
        // Deletions do not move a state vector: the digest of the delete set tells them apart.
        if !ahead && theirs.is_some_and(|t| t.ds == ds_digest(&txn)) {
            return None;
        }
        Some(txn.encode_diff_v1(&sv))
    }

    /// Like [`DocSet::missing`], but only items of clients for which `relay` holds: the others
    /// are treated as already held by the requester (for a relay that may not hand them on).
    pub fn missing_relayable(
        &self,
        id: &DocId,
        theirs: Option<&DocVector>,
        relay: &dyn Fn(u64) -> bool,
    ) -> Option<Vec<u8>> {
        let doc = self.docs.get(id)?;
        let txn = doc.transact();
        let mut sv = theirs
            .and_then(|t| crate::decode_limits::state_vector(&t.sv))
            .unwrap_or_default();
        let mut ahead = false;
        for (client, clock) in txn.state_vector().iter() {
            if !relay(client.get()) {
                sv.set_max(*client, *clock);
            } else if *clock > sv.get(client) {
                ahead = true;
            }
        }
        // Only append-only documents go through here: no delete set to compare.
        ahead.then(|| txn.encode_diff_v1(&sv))
    }

    /// The whole state of a document, for compaction (None if it is not held or does not encode).
    pub fn snapshot(&self, id: &DocId) -> Option<Vec<u8>> {
        let doc = self.docs.get(id)?;
        // Applying already checks that the document encodes; should yrs panic anyway, the
        // document is left uncompacted rather than the core thread brought down.
        catch_unwind(AssertUnwindSafe(|| {
            doc.transact().encode_state_as_update_v1(&StateVector::default())
        }))
        .ok()
    }
}

/// Byte spans of each line, the newline included.
fn line_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            spans.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < text.len() {
        spans.push((start, text.len()));
    }
    spans
}

/// An 8-byte digest of a document's delete set.
fn ds_digest<T: ReadTxn>(txn: &T) -> Vec<u8> {
    let ds = txn.snapshot().delete_set.encode_v1();
    blake3::hash(&ds).as_bytes()[..8].to_vec()
}

fn is_deleted<T: ReadTxn>(txn: &T) -> bool {
    txn.get_map(META)
        .and_then(|m| m.get(txn, "deleted"))
        .is_some_and(|v| matches!(v, Out::Any(Any::Bool(true))))
}

/// Most documents a peer holds by default (files, deleted ones included, plus `members`,
/// `review` and `chat`): every one lives in memory, so a peer must not let others grow it without
/// end.
pub const MAX_DOCS: usize = 50_000;

/// Most bytes of a document's updates that may wait for missing predecessors: an honest peer's
/// gossip gets ahead of the sync exchange by a few messages, never by megabytes.
pub const MAX_PENDING_BYTES: usize = 4 * 1024 * 1024;

/// Encoded size of what waits in a document for missing predecessors (blocks and deletions).
fn pending_bytes(txn: &yrs::TransactionMut<'_>) -> usize {
    let store = txn.store();
    let blocks = store.pending_update().map_or(0, |p| p.update.encode_v1().len());
    let deletes = store.pending_ds().map_or(0, |ds| ds.encode_v1().len());
    blocks + deletes
}

fn record_from(value: &Out) -> Option<MemberRecord> {
    let Out::Any(Any::Map(m)) = value else { return None };
    let s = |k: &str| match m.get(k) {
        Some(Any::String(s)) => Some(s.to_string()),
        _ => None,
    };
    let added_at = match m.get("added_at") {
        Some(Any::Number(yrs::Number::Float(n))) => *n as u64,
        Some(Any::Number(yrs::Number::Int(n))) => *n as u64,
        _ => 0,
    };
    Some(MemberRecord {
        role: s("role")?.parse().ok()?,
        name: s("name").unwrap_or_default(),
        added_by: s("added_by").unwrap_or_default(),
        added_at,
    })
}

/// Byte offsets of the given char offsets in `text` (any order), in one pass.
fn char_to_byte(text: &str, chars: impl Iterator<Item = usize>) -> Vec<usize> {
    let wanted: Vec<usize> = chars.collect();
    let mut sorted: Vec<usize> = wanted.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let mut map = HashMap::with_capacity(sorted.len());
    let mut it = sorted.iter().peekable();
    for (ci, (bi, _)) in text.char_indices().enumerate() {
        while it.peek().is_some_and(|&&c| c == ci) {
            map.insert(ci, bi);
            it.next();
        }
        if it.peek().is_none() {
            break;
        }
    }
    for &c in it {
        map.insert(c, text.len());
    }
    wanted
        .iter()
        .map(|c| map.get(c).copied().unwrap_or(text.len()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_waiting_for_predecessors_that_never_come_are_capped() {
        let path = RelPath::new("a.txt").unwrap();
        let id = DocId::File(path.clone());
        let mut docs = DocSet::new(client_id_for(&PeerId::random(), 0));
        // A hostile author withholds its first update and sends 64 KiB chunks that build on it.
        let author = Doc::with_client_id(7 << 16);
        let text = author.get_or_insert_text(CONTENT);
        text.insert(&mut author.transact_mut(), 0, "withheld");
        let chunk = "x".repeat(64 * 1024);
        let mut refused = None;
        for i in 0..200 {
            let before = author.transact().state_vector();
            text.insert(&mut author.transact_mut(), 0, &chunk);
            let update = author.transact().encode_diff_v1(&before);
            if let Err(e) = docs.apply_remote(&id, &update, true, &|_| true) {
                refused = Some((i, e));
                break;
            }
        }
        let (i, err) = refused.expect("the pile of waiting updates is refused at the cap");
        assert!(
            matches!(err, ApplyError::Poisoned(ref why) if why.contains("missing predecessors")),
            "{err}"
        );
        assert!(
            i * chunk.len() >= MAX_PENDING_BYTES / 2,
            "not refused too early: after {i} chunks"
        );
        // Nothing of it became text.
        assert_eq!(docs.raw_text(&path).unwrap_or_default(), "");
    }

    fn text_update(client: u64, text: &str) -> Vec<u8> {
        let doc = Doc::with_client_id(client);
        let t = doc.get_or_insert_text(CONTENT);
        t.insert(&mut doc.transact_mut(), 0, text);
        let update = doc.transact().encode_state_as_update_v1(&StateVector::default());
        update
    }

    #[test]
    fn a_file_is_not_let_grow_past_the_file_size_limit() {
        let path = RelPath::new("big.txt").unwrap();
        let id = DocId::File(path.clone());
        let mut docs = DocSet::new(1);
        let big = "y".repeat(crate::workspace::MAX_FILE_BYTES as usize + 1);
        let err = docs
            .apply_remote(&id, &text_update(7 << 16, &big), true, &|_| true)
            .unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
        // The core then restores the document from the store: here, it had nothing stored.
        docs.forget(&id);
        let fits = "y".repeat(1000);
        assert!(docs
            .apply_remote(&id, &text_update(8 << 16, &fits), true, &|_| true)
            .is_ok());
    }

    #[test]
    fn no_document_comes_into_being_beyond_the_limit() {
        let mut docs = DocSet::new(1);
        docs.set_max_docs(2);
        let doc = |p: &str| DocId::File(RelPath::new(p).unwrap());
        for p in ["a.txt", "b.txt"] {
            docs.apply_remote(&doc(p), &text_update(7 << 16, p), true, &|_| true)
                .unwrap();
        }
        let err = docs.apply_remote(&doc("c.txt"), &text_update(7 << 16, "c"), true, &|_| true);
        assert!(matches!(err, Err(ApplyError::LimitReached(2))));
        assert_eq!(docs.len(), 2);
        // Documents already held still take updates.
        assert!(docs
            .apply_remote(&doc("a.txt"), &text_update(9 << 16, "more"), true, &|_| true)
            .is_ok());
    }
}
