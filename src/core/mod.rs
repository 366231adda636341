//! The core: one thread that owns the documents and the store, applies every change (local, disk,
//! remote) in order, commits them in groups, and only then publishes, acknowledges and writes.
//!
//! A single owner keeps the engine free of locks and makes the order "store, then acknowledge,
//! then publish" easy to see. The thread has a large stack because yrs decoding recurses on
//! hostile nesting (DESIGN §8).

mod disk;
mod members;
mod peers;
mod review;

pub use members::{MemberInfo, MembersCmd, META_PREVIOUS};

pub use review::ReviewCmd;

use crate::docs::{DocId, DocSet, MemberRecord};
use crate::events::{Event, Origin};
use crate::members::Role;
use crate::net::NetCmd;
use crate::store::Store;
use crate::wire::{DocUpdate, DocVector, Envelope, SyncResponse, MAX_GOSSIP_BYTES};
use crate::workspace::{Layout, ReadOutcome, RelPath, Scan, Skip};
use libp2p::gossipsub::MessageId;
use libp2p::PeerId;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Stack of the core thread: deep enough for any nesting an update under the size cap can hold
/// (measured: 4M levels of nested arrays, an 8 MiB update, decode and drop within 4 GiB). It is
/// address space, not memory: only the pages a hostile update touches become resident.
const CORE_STACK_BYTES: usize = 4 << 30;
/// Fallback where the system refuses that much address space. It holds about a million nesting
/// levels (a 2 MiB update), not the full 8 MiB cap: such a system is warned at start (SECURITY.md).
const CORE_STACK_FALLBACK: usize = 512 << 20;
/// Updates per document after which its log is folded into a snapshot.
const COMPACT_AFTER: u64 = 1000;
/// Most commands folded into one commit.
const MAX_BATCH: usize = 1024;

/// A change seen on disk, reported by the watcher or a rescan.
#[derive(Debug)]
pub enum DiskEvent {
    /// The file was (re)read after a change.
    Changed(RelPath, ReadOutcome, std::time::Instant),
    /// The file is gone (as seen at that instant).
    Removed(RelPath, std::time::Instant),
    /// A full rescan (at start, and after a watcher overflow).
    Rescan(Scan, std::time::Instant),
    /// The workspace folder itself vanished: stop syncing it, delete nothing.
    RootMissing,
}

/// The writer's answer to a write request.
#[derive(Debug)]
pub enum WriteResult {
    /// The text is on disk.
    Written(RelPath, String),
    /// The file is removed.
    Removed(RelPath),
    /// The disk no longer held what we expected (a save raced us): nothing written; this is what
    /// the disk holds now.
    Raced(RelPath, ReadOutcome),
    /// The write failed (disk full, read-only...).
    Failed(RelPath, String),
}

/// A request to the disk writer.
#[derive(Debug)]
pub enum WriteCmd {
    /// Write `text`, if the disk still holds `expect` (None: no file).
    Write {
        path: RelPath,
        text: String,
        expect: Option<String>,
    },
    /// Remove the file, if the disk still holds `expect`.
    Remove { path: RelPath, expect: String },
}

/// What a peer of ours is allowed, as seen by the core.
#[derive(Debug, Clone, Default)]
pub struct Membership {
    /// Every member and role (revoked peers are not in it).
    pub roles: HashMap<PeerId, Role>,
    /// Peers revoked: refused everything and disconnected on sight.
    pub revoked: std::collections::HashSet<PeerId>,
}

/// Status of the documents, for `tandem status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocsStatus {
    /// Synced files.
    pub files: Vec<FileStatus>,
    /// Files not synced, with why.
    pub skipped: Vec<SkippedFile>,
    /// Members by peer id.
    pub members: BTreeMap<String, MemberRecord>,
    /// Stored rows that failed to load and were set aside.
    pub quarantined: usize,
    /// Whether the workspace folder is missing (syncing stopped).
    pub root_missing: bool,
}

/// One synced file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileStatus {
    /// Workspace-relative path.
    pub path: String,
    /// Size in bytes of its UTF-8 text.
    pub bytes: usize,
    /// BLAKE3 of the text, hex, first 16 digits.
    pub hash: String,
}

/// One file not synced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedFile {
    /// Path as found.
    pub path: String,
    /// Why, for humans.
    pub reason: String,
}

/// Commands to the core.
pub enum Cmd {
    /// Something changed on disk.
    Disk(DiskEvent),
    /// The writer's outcome.
    Wrote(WriteResult),
    /// A gossip message from `source` (its signed author).
    Gossip {
        source: PeerId,
        via: PeerId,
        id: MessageId,
        data: Vec<u8>,
    },
    /// Updates from a sync response of `from`.
    Synced {
        from: PeerId,
        updates: Vec<DocUpdate>,
        reply: oneshot::Sender<usize>,
    },
    /// A peer asks for what it misses.
    SyncRequest {
        from: PeerId,
        have: Vec<DocVector>,
        after: Option<String>,
        reply: oneshot::Sender<SyncResponse>,
    },
    /// A peer redeems an invite token.
    Join {
        from: PeerId,
        token: Vec<u8>,
        name: String,
        reply: oneshot::Sender<SyncResponse>,
    },
    /// Our state vectors, to ask a peer for what we miss.
    Vectors { reply: oneshot::Sender<Vec<DocVector>> },
    /// Record an invite token.
    AddInvite {
        token: [u8; 16],
        role: Role,
        expires_at: u64,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Replace a file's text (a local edit through the API), acknowledged once stored.
    SetText {
        path: RelPath,
        text: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Apply splices (char offsets, descending) to a file, acknowledged once stored.
    Edit {
        path: RelPath,
        splices: Vec<crate::merge::Splice>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// A Yjs v1 update that brings a replica holding state vector `sv` (empty: nothing) up to date.
    DocDiff {
        id: DocId,
        sv: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, String>>,
    },
    /// A Yjs v1 update made by a local replica (the desktop app's editor), acknowledged once stored.
    ApplyLocal {
        id: DocId,
        update: Vec<u8>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// A fresh yrs client id for a local replica of this peer.
    NewClientId { reply: oneshot::Sender<u64> },
    /// Read a file's current text.
    GetText {
        path: RelPath,
        reply: oneshot::Sender<Option<String>>,
    },
    /// Documents' status.
    Status { reply: oneshot::Sender<DocsStatus> },
    /// A review or chat action, acknowledged once stored.
    Review {
        cmd: ReviewCmd,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Threads and review requests as they stand.
    ReviewState {
        reply: oneshot::Sender<(Vec<crate::review::Thread>, Vec<crate::review::Review>)>,
    },
    /// The chat so far.
    ChatLog {
        reply: oneshot::Sender<Vec<crate::review::ChatMessage>>,
    },
    /// This peer's display name and profile in force (None: not a member).
    OwnProfile {
        reply: oneshot::Sender<Option<(String, crate::profile::Profile)>>,
    },
    /// Save a metadata value.
    SetMeta { key: String, value: Vec<u8> },
    /// Trust `peer` as the source of the members document until we have one (joining).
    TrustInviter(PeerId),
    /// Members, roles, invites and the workspace key.
    Members(MembersCmd),
    /// Sent every second: retry the file writes and the takes of saves that failed.
    Tick,
    /// Stop after committing what is pending.
    Shutdown(oneshot::Sender<()>),
}

/// Where the core sends what it decided.
pub struct Outputs {
    /// To the network task.
    pub net: mpsc::UnboundedSender<NetCmd>,
    /// To the disk writer.
    pub writer: std::sync::mpsc::Sender<WriteCmd>,
    /// To subscribers.
    pub events: broadcast::Sender<Event>,
    /// To the live task (presence, latency).
    pub live: mpsc::UnboundedSender<crate::node::live::LiveCmd>,
    /// The transport's workspace keys, moved on when the key rotates.
    pub keys: crate::net::KeyRing,
}

/// The state the core thread owns.
pub struct Core {
    me: PeerId,
    name: String,
    layout: Layout,
    store: Store,
    docs: DocSet,
    out: Outputs,
    trust: peers::Trust,
    keys: members::KeyState,
    // Disk bookkeeping: what we last knew to be on disk, and writes in flight.
    disk_base: HashMap<RelPath, String>,
    writing: HashMap<RelPath, Option<String>>,
    skipped: BTreeMap<String, Skip>,
    root_missing: bool,
    quarantined: usize,
    since_compact: HashMap<DocId, u64>,
    chat_seen: std::collections::HashSet<String>,
    /// Members' names and profiles, with the members' and review documents' versions they were
    /// folded from.
    #[allow(clippy::type_complexity)]
    who_cache: std::cell::RefCell<
        Option<(
            Vec<u8>,
            HashMap<String, crate::review::Who>,
            HashMap<String, crate::profile::Profile>,
        )>,
    >,
    /// The names last given to the live task.
    names_sent: HashMap<String, String>,
    /// When each file was last written by us, to tell a read made before it (stale) from a save.
    written_at: HashMap<RelPath, std::time::Instant>,
    /// Hash (hex) of the text last sent to the writer per file, kept in the store before the
    /// write, so a write that landed just before a crash is recognised as ours at restart.
    intended: HashMap<RelPath, String>,
    /// Files whose write failed (disk full, read-only), written again on the next tick.
    failed_writes: BTreeSet<RelPath>,
    /// Files whose save could not be stored, read again on the next tick.
    reread: BTreeSet<RelPath>,
    // The batch being built: written to the store before anything below happens.
    batch: Batch,
}

#[derive(Default)]
struct Batch {
    /// Remote updates, stored as received.
    rows: Vec<(DocId, Vec<u8>)>,
    /// Local updates per document, merged into one row and one message at commit.
    local: BTreeMap<DocId, Vec<Vec<u8>>>,
    acks: Vec<oneshot::Sender<Result<(), String>>>,
    /// Gossip verdicts: accept, reject (penalised), or None to ignore (no penalty).
    reports: Vec<(MessageId, PeerId, Option<bool>)>,
    dirty: BTreeSet<RelPath>,
    events: Vec<Event>,
    touched: BTreeSet<DocId>,
    /// Disk bases as they were before this batch's saves moved them, restored if it fails.
    old_bases: Vec<(RelPath, Option<String>)>,
}

impl Core {
    /// Loads every document from the store; rows that fail are quarantined, not fatal.
    fn load(me: PeerId, name: String, layout: Layout, store: Store, out: Outputs) -> Result<Core, crate::Error> {
        let mut docs = DocSet::new(crate::docs::client_id_for(&me, 0));
        let mut store = store;
        let mut quarantined = 0;
        for stored in store.load_all()? {
            let Some(id) = DocId::parse(&stored.doc) else {
                store.quarantine(&stored.doc, None, "unknown document id")?;
                quarantined += 1;
                continue;
            };
            if let Some(snap) = &stored.snapshot {
                if let Err(e) = docs.load(&id, snap) {
                    docs.forget(&id);
                    store.quarantine(&stored.doc, None, &e.to_string())?;
                    quarantined += 1;
                }
            }
            for (row, bytes) in &stored.updates {
                if let Err(e) = docs.load(&id, bytes) {
                    tracing::warn!(doc = %id, row, error = %e, "stored update set aside");
                    store.quarantine(&stored.doc, Some(*row), &e.to_string())?;
                    quarantined += 1;
                }
            }
        }
        let keys = members::KeyState::load(&store, out.keys.clone())?;
        let mut disk_base = HashMap::new();
        let mut intended = HashMap::new();
        for (p, t) in store.disk_bases()? {
            match p.strip_prefix(disk::INTENT) {
                Some(p) => intended.extend(RelPath::new(p).ok().map(|p| (p, t))),
                None => disk_base.extend(RelPath::new(&p).ok().map(|p| (p, t))),
            }
        }
        let mut core = Core {
            me,
            name,
            layout,
            store,
            docs,
            out,
            trust: peers::Trust::default(),
            keys,
            disk_base,
            writing: HashMap::new(),
            skipped: BTreeMap::new(),
            root_missing: false,
            quarantined,
            since_compact: HashMap::new(),
            chat_seen: Default::default(),
            who_cache: Default::default(),
            names_sent: Default::default(),
            written_at: HashMap::new(),
            intended,
            failed_writes: BTreeSet::new(),
            reread: BTreeSet::new(),
            batch: Batch::default(),
        };
        core.refresh_members();
        core.mark_chat_seen();
        Ok(core)
    }

    /// Loads the core on its own thread (stored updates are decoded there, on the big stack) and
    /// runs it until shutdown; returns once loading finished.
    pub fn spawn(
        me: PeerId,
        name: String,
        layout: Layout,
        store: Store,
        out: Outputs,
        rx: mpsc::UnboundedReceiver<Cmd>,
        max_docs: usize,
    ) -> Result<std::thread::JoinHandle<()>, crate::Error> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some((store, out, rx))));
        let start = |stack: usize| {
            let (me, name, layout, ready, slot) = (me, name.clone(), layout.clone(), ready_tx.clone(), slot.clone());
            std::thread::Builder::new()
                .name("tandem-core".into())
                .stack_size(stack)
                .spawn(move || {
                    let Some((store, out, rx)) = slot.lock().ok().and_then(|mut s| s.take()) else {
                        return;
                    };
                    match Core::load(me, name, layout, store, out) {
                        Ok(mut core) => {
                            core.docs.set_max_docs(max_docs);
                            core.ensure_own_name();
                            let _ = ready.send(Ok(()));
                            core.run(rx);
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                        }
                    }
                })
        };
        let handle = match start(CORE_STACK_BYTES) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "no address space for the core's full stack; using a smaller one: a hostile deeply nested update could now abort this peer");
                start(CORE_STACK_FALLBACK).map_err(|e| crate::Error::io("could not start the core", e))?
            }
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(handle),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(crate::Error::Stopped),
        }
    }

    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        let _ = self.out.net.send(NetCmd::Members(self.trust.membership.clone()));
        while let Some(cmd) = rx.blocking_recv() {
            let mut stop = self.handle(cmd);
            let mut n = 1;
            while stop.is_none() && n < MAX_BATCH {
                match rx.try_recv() {
                    Ok(cmd) => stop = self.handle(cmd),
                    Err(_) => break,
                }
                n += 1;
            }
            self.flush();
            if let Some(done) = stop {
                let _ = done.send(());
                return;
            }
        }
        self.flush();
    }

    fn handle(&mut self, cmd: Cmd) -> Option<oneshot::Sender<()>> {
        match cmd {
            Cmd::Disk(ev) => self.on_disk(ev),
            Cmd::Wrote(res) => self.on_wrote(res),
            Cmd::Gossip { source, via, id, data } => self.on_gossip(source, via, id, &data),
            Cmd::Synced { from, updates, reply } => {
                let n = self.on_synced(from, updates);
                let _ = reply.send(n);
            }
            Cmd::SyncRequest {
                from,
                have,
                after,
                reply,
            } => {
                // What leaves this peer must be stored first: served from an uncommitted batch,
                // an edit whose commit then fails would be in the peer's hands but not in ours,
                // and our next edits would reuse its clocks (the two would never converge).
                self.flush();
                let _ = reply.send(self.on_sync_request(from, have, after));
            }
            Cmd::Join {
                from,
                token,
                name,
                reply,
            } => {
                self.flush();
                let _ = reply.send(self.on_join(from, &token, name));
            }
            Cmd::Vectors { reply } => {
                let _ = reply.send(self.docs.vectors());
            }
            Cmd::AddInvite {
                token,
                role,
                expires_at,
                reply,
            } => {
                let res = self
                    .store
                    .add_invite(&token, role, expires_at)
                    .map_err(|e| e.to_string());
                let _ = reply.send(res);
            }
            Cmd::SetText { path, text, reply } => {
                let current = self.docs.live_text(&path).unwrap_or_default();
                let splices = crate::merge::diff(&current, &text);
                self.on_edit(path, splices, reply)
            }
            Cmd::Edit { path, splices, reply } => self.on_edit(path, splices, reply),
            Cmd::DocDiff { id, sv, reply } => {
                self.flush();
                let vector = crate::wire::DocVector {
                    doc: id.to_string(),
                    sv,
                    ds: Vec::new(),
                };
                let diff = self.docs.missing(&id, Some(&vector)).unwrap_or_else(|| vec![0, 0]);
                let _ = reply.send(Ok(diff));
            }
            Cmd::ApplyLocal { id, update, reply } => match self.on_apply_local(id, update) {
                Ok(()) => self.batch.acks.push(reply),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Cmd::NewClientId { reply } => {
                let _ = reply.send(self.new_client_id());
            }
            Cmd::GetText { path, reply } => {
                let _ = reply.send(self.docs.live_text(&path));
            }
            Cmd::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Cmd::Review { cmd, reply } => match self.on_review(cmd) {
                Ok(()) => self.batch.acks.push(reply),
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Cmd::ReviewState { reply } => {
                let _ = reply.send(self.review_state());
            }
            Cmd::ChatLog { reply } => {
                let _ = reply.send(self.chat_log());
            }
            Cmd::OwnProfile { reply } => {
                let me = self.me.to_string();
                let (mut who, mut profiles) = self.named();
                let profile = profiles.remove(&me).unwrap_or_default();
                let _ = reply.send(who.remove(&me).map(|w| (w.name, profile)));
            }
            Cmd::SetMeta { key, value } => {
                if let Err(e) = self.store.meta_set(&key, &value) {
                    tracing::warn!(key, error = %e, "could not save metadata");
                }
            }
            Cmd::TrustInviter(peer) => self.trust.inviter = Some(peer),
            Cmd::Members(cmd) => self.on_members(cmd),
            Cmd::Tick => self.retry_disk(),
            Cmd::Shutdown(done) => return Some(done),
        }
        None
    }

    /// Records a change made here: into the batch, to be stored, then published.
    fn local_change(&mut self, id: DocId, update: Vec<u8>) {
        self.batch.touched.insert(id.clone());
        self.batch.local.entry(id).or_default().push(update);
    }

    /// Folds each document's local updates of this batch into one (a burst of keystrokes becomes
    /// one row and one gossip message), and adds them to the rows to store.
    fn merge_local(batch: &mut Batch) -> Vec<Envelope> {
        let mut publish = Vec::new();
        for (id, updates) in std::mem::take(&mut batch.local) {
            let update = if updates.len() == 1 {
                updates.into_iter().next().unwrap_or_default()
            } else {
                match yrs::merge_updates_v1(&updates) {
                    Ok(merged) => merged,
                    Err(e) => {
                        tracing::warn!(doc = %id, error = %e, "could not merge local updates; sending them one by one");
                        for u in updates {
                            publish.push(Self::envelope_for(&id, &u));
                            batch.rows.push((id.clone(), u));
                        }
                        continue;
                    }
                }
            };
            publish.push(Self::envelope_for(&id, &update));
            batch.rows.push((id, update));
        }
        publish
    }

    /// The gossip message for a local update: the update itself, or a nudge when too large.
    fn envelope_for(id: &DocId, update: &[u8]) -> Envelope {
        if update.len() + 256 <= MAX_GOSSIP_BYTES {
            let mut env = Envelope::update(&id.to_string(), update.to_vec());
            env.t = Some(crate::wire::unix_millis());
            env
        } else {
            Envelope::nudge(&id.to_string())
        }
    }

    /// Commits the batch, then (and only then) acknowledges, publishes and writes files.
    fn flush(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        let burst = batch.rows.len() + batch.local.len() >= crate::memory::BURST_ROWS;
        self.commit(batch);
        if burst {
            crate::memory::release_free();
        }
    }

    fn commit(&mut self, mut batch: Batch) {
        let publish = Self::merge_local(&mut batch);
        if !batch.rows.is_empty() {
            let rows: Vec<(String, &[u8])> = batch
                .rows
                .iter()
                .map(|(id, u)| (id.to_string(), u.as_slice()))
                .collect();
            let refs: Vec<(&str, &[u8])> = rows.iter().map(|(d, u)| (d.as_str(), *u)).collect();
            if let Err(e) = self.store.append(&refs) {
                // Nothing is acknowledged or published: memory goes back to what the store holds,
                // and disk edits are picked up again by the next rescan.
                tracing::error!(error = %e, "could not store updates; changes not accepted");
                for id in &batch.touched {
                    self.reload(id);
                }
                // The saves this batch took in are not stored: put their bases back, so that the
                // next read of those files sees the saves as changes again, and read them again
                // on the next tick. Otherwise the next write would overwrite them.
                for (path, old) in batch.old_bases.into_iter().rev() {
                    self.restore_disk_base(&path, old);
                    self.reread.insert(path);
                }
                for ack in batch.acks {
                    let _ = ack.send(Err(format!("could not store the change: {e}")));
                }
                for (id, source, _) in batch.reports {
                    let _ = self.out.net.send(NetCmd::Report {
                        id,
                        source,
                        accept: None,
                    });
                }
                return;
            }
            for (id, _) in &batch.rows {
                *self.since_compact.entry(id.clone()).or_default() += 1;
            }
        }
        for ack in batch.acks {
            let _ = ack.send(Ok(()));
        }
        for (id, source, accept) in batch.reports {
            let _ = self.out.net.send(NetCmd::Report { id, source, accept });
        }
        for env in publish {
            let _ = self.out.net.send(NetCmd::Publish(env.encode()));
        }
        if batch.touched.contains(&DocId::Members) {
            self.refresh_members();
        }
        self.write_dirty(batch.dirty);
        // A burst of keystrokes in one file is one change to tell about, not hundreds.
        let mut events = batch.events;
        events.dedup();
        for ev in events {
            let _ = self.out.events.send(ev);
        }
        if batch.touched.contains(&DocId::Review) {
            let _ = self.out.events.send(Event::ReviewChanged);
        }
        if batch.touched.contains(&DocId::Review) || batch.touched.contains(&DocId::Members) {
            self.send_names();
        }
        if batch.touched.contains(&DocId::Chat) {
            self.announce_chat();
        }
        self.compact_some(&batch.touched);
    }

    fn compact_some(&mut self, touched: &BTreeSet<DocId>) {
        for id in touched {
            let n = self.since_compact.get(id).copied().unwrap_or(0);
            if n < COMPACT_AFTER {
                continue;
            }
            let Some(snap) = self.docs.snapshot(id) else { continue };
            // The core is the only writer, so every row of this document is in the snapshot.
            match self.store.compact(&id.to_string(), &snap, i64::MAX) {
                Ok(()) => {
                    self.since_compact.insert(id.clone(), 0);
                }
                Err(e) => tracing::warn!(doc = %id, error = %e, "compaction failed; will retry"),
            }
        }
    }

    /// Rebuilds a document from the store (after a poisoned apply or a failed commit).
    fn reload(&mut self, id: &DocId) {
        self.docs.forget(id);
        match self.store.load_doc(&id.to_string()) {
            Ok(stored) => {
                for bytes in stored.snapshot.iter().chain(stored.updates.iter().map(|(_, b)| b)) {
                    if let Err(e) = self.docs.load(id, bytes) {
                        tracing::error!(doc = %id, error = %e, "stored state does not reload");
                    }
                }
            }
            Err(e) => tracing::error!(doc = %id, error = %e, "could not reload document"),
        }
    }

    fn status(&self) -> DocsStatus {
        let files = self
            .docs
            .live_files()
            .into_iter()
            .filter_map(|p| {
                let text = self.docs.live_text(&p)?;
                let hash = blake3::hash(text.as_bytes()).to_hex()[..16].to_string();
                Some(FileStatus {
                    path: p.to_string(),
                    bytes: text.len(),
                    hash,
                })
            })
            .collect();
        DocsStatus {
            files,
            skipped: self
                .skipped
                .iter()
                .map(|(p, s)| SkippedFile {
                    path: p.clone(),
                    reason: s.to_string(),
                })
                .collect(),
            // Each with the name in force (a name chosen since joining replaces the joined one).
            members: {
                let names = self.who();
                let mut members = self.docs.members();
                for (peer, rec) in members.iter_mut() {
                    if let Some(w) = names.get(peer) {
                        rec.name = w.name.clone();
                    }
                }
                members.into_iter().collect()
            },
            quarantined: self.quarantined,
            root_missing: self.root_missing,
        }
    }

    fn my_role(&self) -> Option<Role> {
        self.trust.role_of(&self.me)
    }

    /// A slot for a new local replica's client id, persisted so no two sessions ever share one.
    fn new_client_id(&mut self) -> u64 {
        let last = self
            .store
            .meta_get("replica_slot")
            .ok()
            .flatten()
            .and_then(|b| <[u8; 2]>::try_from(b.as_slice()).ok())
            .map(u16::from_be_bytes)
            .unwrap_or(0);
        // Slot 0 is the engine's own; wrap past the end, skipping it.
        let next = last.checked_add(1).unwrap_or(1).max(1);
        if let Err(e) = self.store.meta_set("replica_slot", &next.to_be_bytes()) {
            tracing::warn!(error = %e, "could not record a replica slot");
        }
        crate::docs::client_id_for(&self.me, next)
    }

    /// An update from a local replica: every item it inserts must be this peer's (any slot), and
    /// this peer must be allowed to change the document.
    fn on_apply_local(&mut self, id: DocId, update: Vec<u8>) -> Result<(), String> {
        let me = crate::docs::peer_tag(&self.me);
        let may = match (&id, self.my_role()) {
            (DocId::File(_), Some(r)) => r.can_edit(),
            (DocId::Review | DocId::Chat, Some(_)) => true,
            (DocId::Members, Some(r)) => r.can_manage(),
            (_, None) => false,
        };
        if !may {
            return Err(format!("this peer's role does not allow changing {id}"));
        }
        let existed = match &id {
            DocId::File(p) => self.docs.is_live(p),
            _ => true,
        };
        let own = |c: u64| crate::docs::tag_of_client(c) == Some(me);
        let changed = self
            .docs
            .apply_remote(&id, &update, !matches!(id, DocId::Review | DocId::Chat), &own);
        match changed {
            Ok(false) => Ok(()),
            Ok(true) => {
                if let DocId::File(path) = &id {
                    if !existed && self.docs.is_live(path) {
                        self.batch.events.push(Event::FileCreated {
                            path: path.to_string(),
                            origin: Origin::Local,
                        });
                    }
                    self.batch.dirty.insert(path.clone());
                    self.batch.events.push(Event::FileChanged {
                        path: path.to_string(),
                        origin: Origin::Local,
                    });
                }
                self.local_change(id, update);
                Ok(())
            }
            Err(crate::docs::ApplyError::Poisoned(why)) => {
                self.reload(&id);
                Err(format!("the update was refused: {why}"))
            }
            Err(e) => Err(format!("the update was refused: {e}")),
        }
    }

    fn on_edit(
        &mut self,
        path: RelPath,
        splices: Vec<crate::merge::Splice>,
        reply: oneshot::Sender<Result<(), String>>,
    ) {
        if !self.my_role().is_some_and(Role::can_edit) {
            let _ = reply.send(Err("this peer's role does not allow editing files".into()));
            return;
        }
        let existed = self.docs.is_live(&path);
        if let Some(update) = self.docs.edit_file(&path, &splices) {
            if !existed {
                self.batch.events.push(Event::FileCreated {
                    path: path.to_string(),
                    origin: Origin::Local,
                });
            }
            self.local_change(DocId::File(path.clone()), update);
            self.batch.dirty.insert(path.clone());
            self.batch.events.push(Event::FileChanged {
                path: path.to_string(),
                origin: Origin::Local,
            });
        }
        self.batch.acks.push(reply);
    }
}
