//! What each fuzz target does with its input, shared so that the targets stay one line each.
//!
//! Every function takes bytes as a peer could send them, feeds them to the engine's own decoder,
//! and then does what the engine does next with whatever decoded, so that a panic anywhere on a
//! peer's path is a finding. Errors are fine; panics, aborts, hangs and memory blow-ups are not.

use futures::executor::block_on;
use libp2p::request_response::{cbor::codec::Codec, Codec as _};
use libp2p::{PeerId, StreamProtocol};
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;
use tandem::docs::{peer_tag, tag_of_client, ApplyError, DocId, DocSet};
use tandem::merge::Splice;
use tandem::presence::State;
use tandem::review::{self, Who};
use tandem::wire::{Envelope, Kind, SyncRequest, SyncResponse, MAX_SYNC_REQUEST_BYTES, MAX_SYNC_RESPONSE_BYTES};
use tandem::workspace::RelPath;
use tandem::Role;

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs one input through `check`. libfuzzer-sys aborts on every panic, but the engine catches
/// yrs's panics on purpose (its isolation boundary): here a panic only counts when it escapes,
/// exactly as it would bring down the engine's core thread.
pub fn run(check: fn(&[u8]), data: &[u8]) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            // Backtrace::capture costs nothing unless RUST_BACKTRACE is set.
            let trace = std::backtrace::Backtrace::capture();
            LAST_PANIC.with(|p| *p.borrow_mut() = format!("{info}\n{trace}"));
        }))
    });
    if catch_unwind(AssertUnwindSafe(|| check(data))).is_err() {
        LAST_PANIC.with(|p| eprintln!("panic escaped to the caller: {}", p.borrow()));
        std::process::abort();
    }
}

/// The sync protocol's codec exactly as the engine configures it (`net.rs`).
fn sync_codec() -> Codec<SyncRequest, SyncResponse> {
    Codec::default()
        .set_request_size_maximum(MAX_SYNC_REQUEST_BYTES)
        .set_response_size_maximum(MAX_SYNC_RESPONSE_BYTES)
}

fn protocol() -> StreamProtocol {
    StreamProtocol::new(tandem::net::SYNC_PROTOCOL)
}

/// The peer whose client ids count as authorised when authorship is checked.
fn author() -> PeerId {
    // A fixed Ed25519-shaped identity multihash, so runs are reproducible.
    PeerId::from_bytes(&[[0x00, 0x24, 0x08, 0x01, 0x12, 0x20].as_slice(), &[7u8; 32]].concat())
        .expect("a valid identity peer id")
}

/// A workspace's documents as a receiving peer holds them before the hostile input arrives:
/// a file with text, the members document, and review and chat logs with one op each.
pub fn base_docs() -> DocSet {
    let me = author();
    let mut docs = DocSet::new(tandem::docs::client_id_for(&me, 0));
    let path = RelPath::new("src/a.txt").expect("a valid path");
    let insert = "hello\nworld\n".to_string();
    docs.edit_file(
        &path,
        &[Splice {
            at: 0,
            delete: 0,
            insert,
        }],
    );
    let rec = tandem::docs::MemberRecord {
        role: Role::Owner,
        name: "owner".into(),
        added_by: me.to_string(),
        added_at: 1,
    };
    docs.set_member(&me, &rec);
    let (start, end) = docs.anchor(&path, 1, 2).expect("anchors on a two-line file");
    let comment = review::op(&[
        ("op", "comment".into()),
        ("id", "c1".into()),
        ("file", "src/a.txt".into()),
        ("kind", "question".into()),
        ("start", yrs::Any::Buffer(start.into())),
        ("end", yrs::Any::Buffer(end.into())),
        ("body", "why?".into()),
    ]);
    docs.append(&DocId::Review, review::OPS, comment);
    let msg = review::op(&[("text", "hi @owner".into()), ("at", 1.0.into())]);
    docs.append(&DocId::Chat, review::MESSAGES, msg);
    docs
}

/// Everything the engine reads from a document after taking in a remote update; none of it may
/// panic, whatever the update was.
fn read_back(docs: &DocSet, id: &DocId) {
    let _ = docs.vectors();
    let _ = docs.missing(id, None);
    let _ = docs.snapshot(id);
    match id {
        DocId::File(path) => {
            let _ = docs.live_text(path);
            let _ = docs.raw_text(path);
            let _ = docs.live_files();
            let _ = docs.anchor(path, 1, 1);
        }
        DocId::Members => {
            let _ = docs.members();
        }
        DocId::Review | DocId::Chat => {
            let me = author();
            let who = HashMap::from([(
                me.to_string(),
                Who {
                    role: Role::Owner,
                    name: "owner".into(),
                },
            )]);
            // Every op gets an author with a role, so that the fold looks at all of them.
            let mine = peer_tag(&me);
            let author_of = |client: u64| match tag_of_client(client) {
                Some(t) if t == mine => Some(me.to_string()),
                t => Some(format!("peer-{}", t.unwrap_or(0) % 4)),
            };
            let all: HashMap<String, Who> = (0..4)
                .map(|t| {
                    let who = Who {
                        role: Role::Editor,
                        name: format!("n{t}"),
                    };
                    (format!("peer-{t}"), who)
                })
                .chain(who)
                .collect();
            if let Some(doc) = docs.get(&DocId::Review) {
                let log = review::entries(doc, review::OPS, &author_of);
                let _ = review::fold(&log, &all, &|f, s, e| docs.place(f, s, e));
            }
            if let Some(doc) = docs.get(&DocId::Chat) {
                let log = review::entries(doc, review::MESSAGES, &author_of);
                let _ = review::chat(&log, &all);
            }
        }
    }
}

/// Applies `data` to `id` as the core does for a peer's update, then reads the document back.
/// A poisoned document is dropped, as the engine reloads it from the store.
pub fn apply_as_peer(docs: &mut DocSet, id: &DocId, data: &[u8], may_delete: bool, strict_authors: bool) {
    let tag = peer_tag(&author());
    let may_author = |client: u64| !strict_authors || tag_of_client(client) == Some(tag);
    match docs.apply_remote(id, data, may_delete, &may_author) {
        Err(ApplyError::Poisoned(_)) => docs.forget(id),
        Ok(_) | Err(_) => read_back(docs, id),
    }
}

/// A gossip message: the envelope, then its payload as the core routes it.
pub fn envelope(data: &[u8]) {
    let Ok(env) = Envelope::decode(data) else { return };
    assert_eq!(
        Envelope::decode(&env.encode()).expect("a decoded envelope re-encodes"),
        env
    );
    match env.kind {
        Kind::Presence => presence(&env.data),
        Kind::Nudge => {
            let _ = DocId::parse(&env.doc);
        }
        Kind::Update => {
            if let Some(id) = DocId::parse(&env.doc) {
                apply_as_peer(&mut base_docs(), &id, &env.data, true, true);
            }
        }
    }
}

/// A request on `/tandem/sync/1`, through libp2p's codec, then answered as the core would.
pub fn sync_request(data: &[u8]) {
    let mut io = futures::io::Cursor::new(data);
    let Ok(req) = block_on(sync_codec().read_request(&protocol(), &mut io)) else {
        return;
    };
    let mut out = Vec::new();
    block_on(sync_codec().write_request(&protocol(), &mut out, req.clone())).expect("a decoded request re-encodes");
    let again = block_on(sync_codec().read_request(&protocol(), &mut futures::io::Cursor::new(&out)));
    assert_eq!(again.expect("a re-encoded request decodes"), req);
    match req {
        SyncRequest::Sync { have, after, .. } => {
            let docs = base_docs();
            let _ = after.as_deref().and_then(DocId::parse);
            let have: HashMap<String, _> = have.into_iter().map(|d| (d.doc.clone(), d)).collect();
            for id in docs.ids() {
                let _ = docs.missing(id, have.get(&id.to_string()));
            }
            for doc in have.keys() {
                let _ = DocId::parse(doc);
            }
        }
        SyncRequest::Join { token, name, .. } => {
            let _ = <[u8; 16]>::try_from(token.as_slice());
            let _: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
        }
        // A key request carries only an epoch; what decoded is all there is to check. (A new
        // request kind lands here until it gets an arm of its own.)
        _ => {}
    }
}

/// A response on `/tandem/sync/1`, through libp2p's codec, then applied as the core would.
pub fn sync_response(data: &[u8]) {
    let mut io = futures::io::Cursor::new(data);
    let Ok(resp) = block_on(sync_codec().read_response(&protocol(), &mut io)) else {
        return;
    };
    match resp {
        SyncResponse::Updates { mut updates, .. } => {
            updates.sort_by_key(|u| u.doc != "members");
            let mut docs = base_docs();
            for u in updates {
                if let Some(id) = DocId::parse(&u.doc) {
                    let may_delete = !matches!(id, DocId::Review | DocId::Chat);
                    apply_as_peer(&mut docs, &id, &u.data, may_delete, false);
                }
            }
        }
        SyncResponse::Key { grant: Some(grant), .. } => {
            let _ = grant.verify(&[0xAB; 16]);
            let _ = (grant.key_array(), grant.grace_until(), format!("{grant:?}"));
        }
        _ => {}
    }
}

/// A pasted invite code. A first byte of 0 means the rest is the text; anything else means the
/// rest is a payload, wrapped in a valid checksum so that the fuzzer reaches the payload parser.
pub fn invite(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = if mode == 0 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        text.to_string()
    } else {
        let mut h = crc32fast::Hasher::new();
        h.update(&[tandem::invite::VERSION]);
        h.update(rest);
        let bin = [rest, &h.finalize().to_be_bytes()].concat();
        format!(
            "tandem1_{}",
            data_encoding::BASE32_NOPAD.encode(&bin).to_ascii_lowercase()
        )
    };
    if let Ok(inv) = tandem::invite::Invite::decode(&text) {
        let again = tandem::invite::Invite::decode(&inv.encode()).expect("a decoded invite re-encodes");
        assert_eq!(again, inv);
    }
}

/// Yjs v1 updates through the isolation path. The first byte picks the document (bits 0-1:
/// file, members, review, chat), whether deletions are allowed (bit 2) and whether authorship is
/// checked (bit 3); the rest is a sequence of updates, each prefixed by its length (u16, little
/// endian), applied in order to the same documents.
pub fn update(data: &[u8]) {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let id = match flags & 3 {
        0 => DocId::File(RelPath::new("src/a.txt").expect("a valid path")),
        1 => DocId::Members,
        2 => DocId::Review,
        _ => DocId::Chat,
    };
    let (may_delete, strict) = (flags & 4 != 0, flags & 8 != 0);
    let mut docs = base_docs();
    while !rest.is_empty() {
        let (one, tail) = split_prefixed(rest);
        apply_as_peer(&mut docs, &id, one, may_delete, strict);
        rest = tail;
    }
}

/// Splits `u16 len || bytes` off the front; a length past the end takes the rest.
pub fn split_prefixed(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (data, &[]);
    }
    let n = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let body = &data[2..];
    body.split_at(n.min(body.len()))
}

/// A peer's presence state (CBOR inside a presence envelope).
pub fn presence(data: &[u8]) {
    let Ok(state) = State::decode(data) else { return };
    // Compared as bytes: metrics are floats, and NaN is not equal to itself.
    let bytes = state.encode();
    let again = State::decode(&bytes).expect("a decoded presence state re-encodes");
    assert_eq!(again.encode(), bytes);
}
