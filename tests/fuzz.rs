//! The fuzz targets' seed corpus (fuzz/corpus/<target>/), and the inputs they found.
//!
//! The corpus is real encodings made by the engine. `cargo test --test fuzz -- --ignored` rewrites
//! it; the plain test checks that every committed seed still decodes, so a wire change that
//! leaves the corpus behind fails here rather than silently making the fuzzers start from garbage.
//! Every input a fuzzer found a problem with becomes a test below, on the same starting documents.

use futures::executor::block_on;
use libp2p::request_response::{cbor::codec::Codec, Codec as _};
use libp2p::{PeerId, StreamProtocol};
use std::path::{Path, PathBuf};
use tandem::docs::{client_id_for, ApplyError, DocId, DocSet, MemberRecord};
use tandem::invite::Invite;
use tandem::merge::Splice;
use tandem::presence::{Cursor, State};
use tandem::review;
use tandem::wire::{DocUpdate, Envelope, SyncRequest, SyncResponse, WIRE_VERSION};
use tandem::workspace::RelPath;
use tandem::Role;

type SyncCodec = Codec<SyncRequest, SyncResponse>;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target)
}

/// The peer the fuzz targets treat as the documents' owner (fuzz/src/lib.rs, `author`).
fn owner() -> PeerId {
    PeerId::from_bytes(&[[0x00, 0x24, 0x08, 0x01, 0x12, 0x20].as_slice(), &[7u8; 32]].concat()).unwrap()
}

fn file() -> RelPath {
    RelPath::new("src/a.txt").unwrap()
}

fn splice(at: usize, delete: usize, insert: &str) -> Splice {
    let insert = insert.to_string();
    Splice { at, delete, insert }
}

/// The documents every fuzz input starts from, built exactly as fuzz/src/lib.rs `base_docs` does,
/// so that updates made on top of them refer to items the fuzzers' documents hold.
fn base_docs() -> DocSet {
    let me = owner();
    let mut docs = DocSet::new(client_id_for(&me, 0));
    docs.edit_file(&file(), &[splice(0, 0, "hello\nworld\n")]);
    let rec = MemberRecord {
        role: Role::Owner,
        name: "owner".into(),
        added_by: me.to_string(),
        added_at: 1,
    };
    docs.set_member(&me, &rec);
    let (start, end) = docs.anchor(&file(), 1, 2).unwrap();
    docs.append(&DocId::Review, review::OPS, comment("c1", start, end));
    let msg = review::op(&[("text", "hi @owner".into()), ("at", 1.0.into())]);
    docs.append(&DocId::Chat, review::MESSAGES, msg);
    docs
}

fn comment(id: &str, start: Vec<u8>, end: Vec<u8>) -> yrs::Any {
    review::op(&[
        ("op", "comment".into()),
        ("id", id.into()),
        ("file", "src/a.txt".into()),
        ("kind", "question".into()),
        ("start", yrs::Any::Buffer(start.into())),
        ("end", yrs::Any::Buffer(end.into())),
        ("body", "why?".into()),
    ])
}

/// A second peer holding the base documents, whose changes arrive as updates.
fn other_peer(slot: u16) -> DocSet {
    let base = base_docs();
    let mut docs = DocSet::new(client_id_for(&owner(), slot));
    for id in base.ids() {
        docs.load(id, &base.snapshot(id).unwrap()).unwrap();
    }
    docs
}

/// Updates as they travel: each one a change made on top of the base documents.
fn updates() -> Vec<(DocId, Vec<u8>)> {
    let mut out = Vec::new();
    let mut b = other_peer(1);
    // Typing, with a typo fixed, some non-ASCII and a line removed: the edits a file sees.
    let mut text = "hello\nworld\n".chars().count();
    for (i, word) in ["fn ", "main", "() ", "{ ", "prinln", "}\n", "héllo ", "wörld ", "→ ✓\n"]
        .iter()
        .enumerate()
    {
        out.push((
            DocId::File(file()),
            b.edit_file(&file(), &[splice(text, 0, word)]).unwrap(),
        ));
        text += word.chars().count();
        if i == 4 {
            out.push((
                DocId::File(file()),
                b.edit_file(&file(), &[splice(text - 2, 0, "t")]).unwrap(),
            ));
            text += 1;
        }
    }
    let (start, end) = b.anchor(&file(), 2, 3).unwrap();
    out.push((DocId::File(file()), b.edit_file(&file(), &[splice(0, 6, "")]).unwrap()));
    out.push((DocId::File(file()), b.delete_file(&file()).unwrap()));
    let peer = PeerId::from_bytes(&[[0x00, 0x24, 0x08, 0x01, 0x12, 0x20].as_slice(), &[9u8; 32]].concat()).unwrap();
    let rec = MemberRecord {
        role: Role::Editor,
        name: "bob".into(),
        added_by: owner().to_string(),
        added_at: 2,
    };
    out.push((DocId::Members, b.set_member(&peer, &rec)));
    out.push((
        DocId::Review,
        b.append(&DocId::Review, review::OPS, comment("c2", start, end)),
    ));
    let at = || yrs::Any::from(3.0);
    let ops = [
        review::op(&[
            ("op", "reply".into()),
            ("id", "r1".into()),
            ("thread", "c1".into()),
            ("body", "ok".into()),
            ("at", at()),
        ]),
        review::op(&[("op", "resolve".into()), ("thread", "c1".into()), ("at", at())]),
        review::op(&[("op", "reopen".into()), ("thread", "c1".into()), ("at", at())]),
        review::op(&[("op", "delete".into()), ("target", "r1".into()), ("at", at())]),
        review::op(&[
            ("op", "request".into()),
            ("id", "q1".into()),
            ("title", "fix".into()),
            ("files", "src/a.txt".into()),
            ("approvals", 1.0.into()),
            ("at", at()),
        ]),
        review::op(&[
            ("op", "vote".into()),
            ("review", "q1".into()),
            ("vote", "approve".into()),
            ("at", at()),
        ]),
    ];
    for op in ops {
        out.push((DocId::Review, b.append(&DocId::Review, review::OPS, op)));
    }
    let msg = review::op(&[("text", "ship it @bob".into()), ("at", 2.0.into())]);
    out.push((DocId::Chat, b.append(&DocId::Chat, review::MESSAGES, msg)));
    // A whole document, as the sync exchange sends it to a peer that has none.
    out.push((DocId::File(file()), b.snapshot(&DocId::File(file())).unwrap()));
    out
}

fn presence_state() -> State {
    let docs = base_docs();
    let (anchor, head) = docs.anchor(&file(), 1, 2).unwrap();
    State {
        name: "alice".into(),
        colour: "#e6194b".into(),
        file: Some("src/a.txt".into()),
        cursor: Some(Cursor { anchor, head }),
        metrics: Some(Default::default()),
        seq: 7,
        ..Default::default()
    }
}

fn invite() -> Invite {
    Invite {
        workspace_id: [0xAB; 16],
        key: [0x11; 32],
        inviter: owner(),
        addrs: vec![
            "/ip4/127.0.0.1/tcp/4001".parse().unwrap(),
            "/dns4/example.org/tcp/7".parse().unwrap(),
        ],
        role: Role::Editor,
        expires_at: 1_900_000_000,
        token: [0x22; 16],
    }
}

fn protocol() -> StreamProtocol {
    StreamProtocol::new(tandem::net::SYNC_PROTOCOL)
}

fn request_bytes(req: SyncRequest) -> Vec<u8> {
    let mut out = Vec::new();
    block_on(SyncCodec::default().write_request(&protocol(), &mut out, req)).unwrap();
    out
}

fn response_bytes(resp: SyncResponse) -> Vec<u8> {
    let mut out = Vec::new();
    block_on(SyncCodec::default().write_response(&protocol(), &mut out, resp)).unwrap();
    out
}

/// The `update` target's input: flags (document, deletions allowed, authorship checked), then
/// length-prefixed updates.
fn update_input(id: &DocId, may_delete: bool, strict: bool, updates: &[&[u8]]) -> Vec<u8> {
    let doc = match id {
        DocId::File(_) => 0,
        DocId::Members => 1,
        DocId::Review => 2,
        DocId::Chat => 3,
    };
    let mut out = vec![doc | (u8::from(may_delete) << 2) | (u8::from(strict) << 3)];
    for u in updates {
        out.extend_from_slice(&(u.len() as u16).to_le_bytes());
        out.extend_from_slice(u);
    }
    out
}

/// Every seed, by target.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let updates = updates();
    for (id, u) in &updates {
        let mut env = Envelope::update(&id.to_string(), u.clone());
        env.t = Some(1_700_000_000_000);
        out.push(("envelope", env.encode()));
        out.push(("update", update_input(id, true, true, &[u])));
    }
    let file_updates: Vec<&[u8]> = (updates.iter())
        .filter(|(id, _)| matches!(id, DocId::File(_)))
        .map(|(_, u)| u.as_slice())
        .collect();
    out.push(("update", update_input(&DocId::File(file()), true, false, &file_updates)));
    out.push((
        "update",
        update_input(&DocId::File(file()), false, true, &file_updates[..4]),
    ));
    out.push(("envelope", Envelope::nudge("f:src/a.txt").encode()));
    out.push(("envelope", Envelope::presence(presence_state().encode()).encode()));
    out.push(("presence", presence_state().encode()));
    out.push(("presence", State::default().encode()));

    let docs = base_docs();
    let have = docs.vectors();
    let sync = |have, after| SyncRequest::Sync {
        v: WIRE_VERSION,
        have,
        after,
    };
    out.push(("sync_request", request_bytes(sync(have.clone(), None))));
    out.push((
        "sync_request",
        request_bytes(sync(have[..1].to_vec(), Some("members".into()))),
    ));
    out.push(("sync_request", request_bytes(sync(Vec::new(), None))));
    let join = SyncRequest::Join {
        v: WIRE_VERSION,
        token: vec![0x22; 16],
        name: "bob".into(),
    };
    out.push(("sync_request", request_bytes(join)));
    out.push((
        "sync_request",
        request_bytes(SyncRequest::Key {
            v: WIRE_VERSION,
            epoch: 1,
        }),
    ));

    let all: Vec<DocUpdate> = (updates.iter())
        .map(|(id, u)| DocUpdate {
            doc: id.to_string(),
            data: u.clone(),
        })
        .collect();
    let resp = |updates, more| SyncResponse::Updates {
        v: WIRE_VERSION,
        updates,
        more,
        total_docs: 4,
    };
    out.push(("sync_response", response_bytes(resp(all[..3].to_vec(), true))));
    out.push((
        "sync_response",
        response_bytes(resp(all[all.len() - 6..].to_vec(), false)),
    ));
    let joined = SyncResponse::Joined {
        v: WIRE_VERSION,
        role: "editor".into(),
    };
    out.push(("sync_response", response_bytes(joined)));
    let refused = SyncResponse::Refused {
        v: WIRE_VERSION,
        reason: "invite code expired".into(),
    };
    out.push(("sync_response", response_bytes(refused)));
    // Signed by a real owner key (the key it grants and its time change with each rewrite).
    let owner_key = libp2p::identity::Keypair::ed25519_from_bytes([7u8; 32]).unwrap();
    let grant = tandem::keys::Grant::issue(&owner_key, &[0xAB; 16], 2, 86_400).unwrap();
    let key = |grant| SyncResponse::Key { v: WIRE_VERSION, grant };
    out.push(("sync_response", response_bytes(key(Some(grant)))));
    out.push(("sync_response", response_bytes(key(None))));

    let code = invite().encode();
    out.push(("invite", [&[0u8][..], code.as_bytes()].concat()));
    let pasted = format!("  {}\n\u{200B}{}\r\n", &code[..40], code[40..].to_uppercase());
    out.push(("invite", [&[0u8][..], pasted.as_bytes()].concat()));
    let body = data_encoding::BASE32_NOPAD_NOCASE
        .decode(&code.as_bytes()[8..])
        .unwrap();
    let payload = &body[..body.len() - 4];
    out.push(("invite", [&[1u8][..], payload].concat()));
    out
}

fn seed_name(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..16].to_string()
}

#[test]
#[ignore = "rewrites fuzz/corpus; run by hand after a wire change"]
fn write_fuzz_seed_corpus() {
    // Replaced whole: yrs encodes map entries in hash order, so the same seeds differ run to run.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    for (target, bytes) in seeds() {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(seed_name(&bytes)), &bytes).unwrap();
    }
}

fn files(target: &str) -> Vec<Vec<u8>> {
    let entries = std::fs::read_dir(corpus_dir(target)).unwrap_or_else(|e| panic!("fuzz/corpus/{target}: {e}"));
    entries.map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect()
}

#[test]
fn every_committed_fuzz_seed_still_decodes() {
    for bytes in files("envelope") {
        Envelope::decode(&bytes).unwrap();
    }
    for bytes in files("presence") {
        State::decode(&bytes).unwrap();
    }
    for bytes in files("sync_request") {
        let mut io = futures::io::Cursor::new(bytes);
        block_on(SyncCodec::default().read_request(&protocol(), &mut io)).unwrap();
    }
    for bytes in files("sync_response") {
        let mut io = futures::io::Cursor::new(bytes);
        block_on(SyncCodec::default().read_response(&protocol(), &mut io)).unwrap();
    }
    for bytes in files("invite").iter().filter(|b| b[0] == 0) {
        Invite::decode(std::str::from_utf8(&bytes[1..]).unwrap()).unwrap();
    }
    for bytes in files("update") {
        let (mut docs, mut rest) = (base_docs(), &bytes[1..]);
        let id = [DocId::File(file()), DocId::Members, DocId::Review, DocId::Chat][usize::from(bytes[0] & 3)].clone();
        while rest.len() > 2 {
            let n = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
            docs.apply_remote(&id, &rest[2..2 + n], true, &|_| true).unwrap();
            rest = &rest[2 + n..];
        }
    }
    for target in [
        "envelope",
        "sync_request",
        "sync_response",
        "invite",
        "update",
        "presence",
    ] {
        assert!(!files(target).is_empty(), "no seed for the {target} fuzz target");
    }
}

/// The `update` target's crash input (flags `0xa6`: the review log, deletions allowed): two
/// clients, the second with a block that cannot be placed yet. yrs keeps it pending, and
/// re-encoding the pending part then fails to decode, which panicked the core thread the next
/// time the document was snapshotted for compaction.
const PENDING_THAT_DOES_NOT_REENCODE: &[u8] = &[
    0x01, 0x02, 0x00, 0x41, 0xb2, 0xb2, 0xb2, 0x01, 0xff, 0x03, 0x00, 0x00, 0x41, 0x01, 0xff, 0x01, 0x25, 0x00, 0x00,
];

#[test]
fn an_update_whose_waiting_part_cannot_be_encoded_again_is_refused_and_snapshots_still_work() {
    let mut docs = base_docs();
    let res = docs.apply_remote(&DocId::Review, PENDING_THAT_DOES_NOT_REENCODE, true, &|_| true);
    // Refused before applying (its blocks are out of clock order) or after (its waiting part does
    // not encode); the core reloads a poisoned document from the store.
    if let ApplyError::Poisoned(_) = res.expect_err("the update must be refused") {
        docs.forget(&DocId::Review);
    }
    let ids: Vec<DocId> = docs.ids().cloned().collect();
    for id in ids {
        assert!(docs.snapshot(&id).is_some(), "{id}");
    }
}
