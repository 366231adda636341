//! Holds the code to PROTOCOL.md: every hex string, shape and worked value in the document is
//! checked here against the public API, so that a change to the wire shows up as a failing test
//! (and a reason to update the document and bump the version).

use ciborium::Value;
use futures::executor::block_on;
use libp2p::identity::Keypair;
use libp2p::request_response::{cbor, Codec};
use libp2p::{Multiaddr, PeerId, StreamProtocol};
use tandem::docs::{client_id_for, peer_tag, tag_of_client, DocId, DocSet, MemberRecord};
use tandem::invite::Invite;
use tandem::merge::Splice;
use tandem::wire::{
    DocUpdate, DocVector, Envelope, Kind, SyncRequest, SyncResponse, MAX_GOSSIP_BYTES, MAX_SYNC_REQUEST_BYTES,
    MAX_SYNC_RESPONSE_BYTES, MAX_UPDATE_BYTES, SYNC_CHUNK_BYTES, WIRE_VERSION,
};
use tandem::workspace::RelPath;
use tandem::Role;
use yrs::updates::decoder::Decode;
use yrs::{Any, GetString, Map, Out, ReadTxn, Transact, Update};

// ---- Values from PROTOCOL.md ------------------------------------------------------------------

/// PROTOCOL.md §2: the example peer (Ed25519 secret key 32 × 0x33).
const EXAMPLE_PEER: &str = "12D3KooWBRFW3HkJCLKSWb4yG6iWRBpgNjbM4FFvNsL5T5JKTqrd";
const EXAMPLE_PEER_BYTES: &str = "00240801122017cb79fb2b4120f2b1ec65e4198d6e08b28e813feb01e4a400839b85e18080ce";
const EXAMPLE_TAG: u32 = 0xb089_e92a;
const EXAMPLE_CLIENT: u64 = 194_106_368_851_968; // 0xb089e92a0000

/// §3.6: Yjs v1 update: the example peer inserts "hi" into the `content` text of a new file document.
const EXAMPLE_UPDATE: &str = "01018080a8c99e912c00040107636f6e74656e7402686900";
/// Yjs v1 state vector of that document, and its delete-set digest (BLAKE3 of `00`, 8 bytes).
const EXAMPLE_SV: &str = "018080a8c99e912c02";
const EXAMPLE_DS: &str = "2d3adedff11b61f1";

/// §3.4: Yjs v1 update appending "!" after "é😀" (clock 3, origin clock 2).
const UTF16_UPDATE: &str = "01018080a8c99e912c03848080a8c99e912c02012100";

/// §4.2: gossip envelope `update` carrying EXAMPLE_UPDATE for `f:hello.txt`.
const ENVELOPE_UPDATE: &str = concat!(
    "a4",
    "6176",
    "01",
    "646b696e64",
    "66757064617465",
    "63646f63",
    "6b663a68656c6c6f2e747874",
    "6464617461",
    "5818",
    "01018080a8c99e912c00040107636f6e74656e7402686900",
);
/// §4.2: gossip envelope `nudge` for `f:big.log`.
const ENVELOPE_NUDGE: &str = "a4617601646b696e64656e7564676563646f6369663a6269672e6c6f67646461746140";

/// §5.7: `/tandem/sync/1` Sync request holding the example document.
const SYNC_REQUEST: &str = concat!(
    "a3",
    "626f70",
    "6473796e63",
    "6176",
    "01",
    "6468617665",
    "81",
    "a3",
    "63646f63",
    "6b663a68656c6c6f2e747874",
    "627376",
    "49018080a8c99e912c02",
    "626473",
    "482d3adedff11b61f1",
);
/// Join request: token 16 × 0x22, name "Ada".
const JOIN_REQUEST: &str = "a4626f70646a6f696e61760165746f6b656e5022222222222222222222222222222222646e616d6563416461";
/// Updates response carrying the example document, `more` false, 2 documents held.
const UPDATES_RESPONSE: &str = concat!(
    "a5",
    "626f70",
    "6775706461746573",
    "6176",
    "01",
    "6775706461746573",
    "81",
    "a2",
    "63646f63",
    "6b663a68656c6c6f2e747874",
    "6464617461",
    "5818",
    "01018080a8c99e912c00040107636f6e74656e7402686900",
    "646d6f7265",
    "f4",
    "6a746f74616c5f646f6373",
    "02",
);
const JOINED_RESPONSE: &str = "a3626f70666a6f696e656461760164726f6c6566656469746f72";
const REFUSED_RESPONSE: &str =
    "a3626f70677265667573656461760166726561736f6e7818696e7669746520636f646520616c72656164792075736564";

/// The worked invite of PROTOCOL.md §8.5.
const EXAMPLE_INVITE: &str = concat!(
    "tandem1_vov2xk5lvov2xk5lvov2xk5lvmirceirceirceirceirceirceirceirceirceirceirceirceircirceirceirceirce",
    "irceirceiqbaaaaaadrh6zqajqaeqeacerac7fxt6zlieqpfmpmmxsbtdlobczi5aj75ma6jjaaqonylymaqdhaecaep4aaaaigb6qqqbd7",
    "aaaacbqpukkgzkxn",
);

// ---- Helpers ----------------------------------------------------------------------------------

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn example_peer() -> PeerId {
    Keypair::ed25519_from_bytes([0x33u8; 32]).unwrap().public().to_peer_id()
}

/// The sync codec exactly as `net.rs` configures it.
fn sync_codec() -> cbor::codec::Codec<SyncRequest, SyncResponse> {
    cbor::codec::Codec::default()
        .set_request_size_maximum(MAX_SYNC_REQUEST_BYTES)
        .set_response_size_maximum(MAX_SYNC_RESPONSE_BYTES)
}

fn protocol() -> StreamProtocol {
    StreamProtocol::new(tandem::net::SYNC_PROTOCOL)
}

fn request_bytes(req: SyncRequest) -> Vec<u8> {
    let mut out = futures::io::Cursor::new(Vec::new());
    block_on(sync_codec().write_request(&protocol(), &mut out, req)).unwrap();
    out.into_inner()
}

fn response_bytes(resp: SyncResponse) -> Vec<u8> {
    let mut out = futures::io::Cursor::new(Vec::new());
    block_on(sync_codec().write_response(&protocol(), &mut out, resp)).unwrap();
    out.into_inner()
}

fn read_request(bytes: &[u8]) -> std::io::Result<SyncRequest> {
    block_on(sync_codec().read_request(&protocol(), &mut futures::io::Cursor::new(bytes)))
}

fn read_response(bytes: &[u8]) -> std::io::Result<SyncResponse> {
    block_on(sync_codec().read_response(&protocol(), &mut futures::io::Cursor::new(bytes)))
}

fn cbor_value(bytes: &[u8]) -> Value {
    ciborium::from_reader(bytes).unwrap()
}

fn cbor_bytes(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

/// The keys of a CBOR map, in wire order; every key must be a text string.
fn keys(v: &Value) -> Vec<&str> {
    let Value::Map(entries) = v else {
        panic!("not a map: {v:?}")
    };
    entries.iter().map(|(k, _)| k.as_text().expect("text key")).collect()
}

fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    let Value::Map(entries) = v else {
        panic!("not a map: {v:?}")
    };
    entries
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no key {key}"))
}

fn int(v: &Value) -> u64 {
    u64::try_from(v.as_integer().expect("integer")).unwrap()
}

fn text(v: &Value) -> &str {
    v.as_text().expect("text string")
}

fn bytes(v: &Value) -> &[u8] {
    v.as_bytes().expect("byte string")
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (Value::Text(k.to_string()), v.clone()))
            .collect(),
    )
}

fn insert(at: usize, text: &str) -> [Splice; 1] {
    [Splice {
        at,
        delete: 0,
        insert: text.into(),
    }]
}

/// The example peer creates `hello.txt` and types "hi": its documents and the update it made.
fn example_doc() -> (DocSet, RelPath, Vec<u8>) {
    let mut docs = DocSet::new(client_id_for(&example_peer(), 0));
    let path = RelPath::new("hello.txt").unwrap();
    let update = docs
        .edit_file(&path, &insert(0, "hi"))
        .expect("the edit changes the document");
    (docs, path, update)
}

/// A fresh yrs document holding `update`.
fn yrs_doc_with(update: &[u8]) -> yrs::Doc {
    let doc = yrs::Doc::new();
    doc.transact_mut()
        .apply_update(Update::decode_v1(update).unwrap())
        .unwrap();
    doc
}

// ---- Identities and client ids ----------------------------------------------------------------

#[test]
fn client_id_of_the_example_peer_is_its_blake3_tag_shifted_by_16() {
    let peer = example_peer();
    assert_eq!(peer.to_string(), EXAMPLE_PEER);
    assert_eq!(hex(&peer.to_bytes()), EXAMPLE_PEER_BYTES);
    let digest = blake3::hash(&peer.to_bytes());
    assert_eq!(hex(&digest.as_bytes()[..4]), "2ae989b0", "first 4 digest bytes");
    assert_eq!(peer_tag(&peer), EXAMPLE_TAG, "little-endian u32 of those bytes");
    assert_eq!(client_id_for(&peer, 0), EXAMPLE_CLIENT);
    assert_eq!(client_id_for(&peer, 0), 0xb089_e92a_0000);
    assert_eq!(client_id_for(&peer, 7), EXAMPLE_CLIENT | 7);
    assert_eq!(client_id_for(&peer, u16::MAX), 0xb089_e92a_ffff);
    assert_eq!(tag_of_client(EXAMPLE_CLIENT | 7), Some(EXAMPLE_TAG));
    assert_eq!(
        tag_of_client(1 << 48),
        None,
        "ids of 2^48 and above are outside the scheme"
    );
    assert!(
        client_id_for(&peer, u16::MAX) < (1 << 53),
        "safe as a JavaScript number"
    );
}

// ---- Documents --------------------------------------------------------------------------------

#[test]
fn example_update_is_the_example_peer_inserting_hi_into_content() {
    let (docs, path, made) = example_doc();
    let update = unhex(EXAMPLE_UPDATE);
    // The engine's own encoding of that edit is the documented update...
    assert_eq!(hex(&made), EXAMPLE_UPDATE);
    let decoded = Update::decode_v1(&update).unwrap();
    let clients: Vec<u64> = decoded.insertions(true).client_ids().map(|c| c.get()).collect();
    assert_eq!(clients, vec![EXAMPLE_CLIENT]);
    let doc = yrs_doc_with(&update);
    let txn = doc.transact();
    assert_eq!(txn.get_text("content").unwrap().get_string(&txn), "hi");
    assert_eq!(docs.live_text(&path).as_deref(), Some("hi"));
    // ...and the documented state vector and delete-set digest are what a requester sends.
    let vectors = docs.vectors();
    assert_eq!(vectors.len(), 1);
    assert_eq!(vectors[0].doc, "f:hello.txt");
    assert_eq!(hex(&vectors[0].sv), EXAMPLE_SV);
    assert_eq!(hex(&vectors[0].ds), EXAMPLE_DS);
    assert_eq!(
        hex(&blake3::hash(&[0x00]).as_bytes()[..8]),
        EXAMPLE_DS,
        "digest of an empty delete set"
    );
    // A responder holding only the example document sends exactly the example update.
    let mut other = DocSet::new(client_id_for(&example_peer(), 1));
    other.load(&DocId::File(path.clone()), &update).unwrap();
    assert_eq!(other.missing(&DocId::File(path), None), Some(update));
}

#[test]
fn update_clocks_count_utf16_units_while_edits_use_char_offsets() {
    let mut docs = DocSet::new(client_id_for(&example_peer(), 0));
    let path = RelPath::new("u.txt").unwrap();
    docs.edit_file(&path, &insert(0, "é😀")).unwrap();
    // Char offset 2 is after the emoji (byte offset 6, UTF-16 offset 3).
    let update = docs.edit_file(&path, &insert(2, "!")).unwrap();
    assert_eq!(docs.live_text(&path).as_deref(), Some("é😀!"));
    let sv = docs.vectors().remove(0).sv;
    let sv = yrs::StateVector::decode_v1(&sv).unwrap();
    // "é😀" is 2 chars, 6 UTF-8 bytes and 3 UTF-16 units; "!" is one more unit: clock 4.
    assert_eq!(sv.get(&yrs::ClientID::new(EXAMPLE_CLIENT)), 4);
    // The "!" item starts at clock 3 with origin (client, 2): the emoji's low surrogate.
    assert_eq!(hex(&update), UTF16_UPDATE);
}

#[test]
fn file_deletion_sets_meta_deleted_true_and_an_edit_clears_it() {
    let (mut docs, path, _) = example_doc();
    let mut all = vec![unhex(EXAMPLE_UPDATE)];
    all.push(docs.delete_file(&path).expect("deleting a live file changes it"));
    let doc = yrs_doc_with(&yrs::merge_updates_v1(&all).unwrap());
    {
        let txn = doc.transact();
        let deleted = txn.get_map("meta").unwrap().get(&txn, "deleted");
        assert!(matches!(deleted, Some(Out::Any(Any::Bool(true)))), "{deleted:?}");
        assert_eq!(
            txn.get_text("content").unwrap().get_string(&txn),
            "hi",
            "history and text stay"
        );
    }
    assert_eq!(docs.live_text(&path), None);
    all.push(docs.edit_file(&path, &insert(2, "!")).unwrap());
    let doc = yrs_doc_with(&yrs::merge_updates_v1(&all).unwrap());
    let txn = doc.transact();
    let deleted = txn.get_map("meta").unwrap().get(&txn, "deleted");
    assert!(matches!(deleted, Some(Out::Any(Any::Bool(false)))), "{deleted:?}");
}

#[test]
fn members_document_maps_base58_peer_id_to_a_plain_record() {
    let peer = example_peer();
    let mut docs = DocSet::new(client_id_for(&peer, 0));
    let rec = MemberRecord {
        role: Role::Owner,
        name: "Ada".into(),
        added_by: EXAMPLE_PEER.into(),
        added_at: 1_700_000_000,
    };
    let update = docs.set_member(&peer, &rec);
    let doc = yrs_doc_with(&update);
    let txn = doc.transact();
    let members = txn.get_map("members").expect("root map `members`");
    assert_eq!(members.len(&txn), 1);
    let Some(Out::Any(Any::Map(record))) = members.get(&txn, EXAMPLE_PEER) else {
        panic!("the value is a plain Yjs any-map, not a nested Y.Map");
    };
    let mut fields: Vec<&str> = record.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["added_at", "added_by", "name", "role"]);
    assert!(matches!(record.get("role"), Some(Any::String(s)) if &**s == "owner"));
    assert!(matches!(record.get("name"), Some(Any::String(s)) if &**s == "Ada"));
    assert!(matches!(record.get("added_by"), Some(Any::String(s)) if &**s == EXAMPLE_PEER));
    assert!(matches!(record.get("added_at"), Some(Any::Number(yrs::Number::Float(n))) if *n == 1_700_000_000.0));
    // The inserted items are the writer's own.
    let clients: Vec<u64> = Update::decode_v1(&update)
        .unwrap()
        .insertions(true)
        .client_ids()
        .map(|c| c.get())
        .collect();
    assert_eq!(clients, vec![EXAMPLE_CLIENT]);
    assert_eq!(docs.members().get(EXAMPLE_PEER), Some(&rec));
}

#[test]
fn document_ids_are_members_or_f_colon_and_a_valid_relative_path() {
    assert_eq!(DocId::parse("members"), Some(DocId::Members));
    assert_eq!(
        DocId::parse("f:notes/a b.md").map(|d| d.to_string()).as_deref(),
        Some("f:notes/a b.md")
    );
    assert_eq!(
        DocId::parse("f:é/ü.txt").map(|d| d.to_string()).as_deref(),
        Some("f:é/ü.txt")
    );
    let long_ok = format!(
        "f:{}",
        ["a".repeat(255), "b".repeat(255), "c".repeat(255), "d".repeat(255)].join("/")
    );
    assert!(DocId::parse(&long_ok).is_some(), "1023-byte path");
    for bad in [
        "Members",
        "f:",
        "g:a.txt",
        "f:/abs.txt",
        "f:a//b",
        "f:a/",
        "f:./a",
        "f:../a",
        "f:a\\b",
        "f:a\nb",
        "f:a:b",
        "f:a?b",
        "f:a*b",
        "f:a.",
        "f:a ",
        "f:.git/config",
        "f:sub/.GIT/x",
        "f:git~1/x",
        "f:.tandem/identity.key",
        "f:x/.Tandem",
        "f:CON",
        "f:aux.txt",
        "f:com1",
        "f:LPT9.log",
    ] {
        assert_eq!(DocId::parse(bad), None, "{bad:?} must be refused");
    }
    let too_long = format!(
        "f:{}",
        ["a".repeat(255), "b".repeat(255), "c".repeat(255), "d".repeat(256)].join("/")
    );
    assert_eq!(DocId::parse(&too_long), None, "component over 255 bytes");
    let too_long = format!("f:{}", vec!["a".repeat(200); 6].join("/"));
    assert_eq!(DocId::parse(&too_long), None, "path over 1024 bytes");
}

#[test]
fn responder_sends_a_document_when_it_is_missing_behind_or_its_delete_digest_differs() {
    let (docs, path, _) = example_doc();
    let id = DocId::File(path);
    let ours = docs.vectors().remove(0);
    assert_eq!(
        docs.missing(&id, None),
        Some(unhex(EXAMPLE_UPDATE)),
        "absent from `have`: whole document"
    );
    assert_eq!(
        docs.missing(&id, Some(&ours)),
        None,
        "same state vector and digest: nothing"
    );
    let behind = DocVector {
        doc: ours.doc.clone(),
        sv: vec![0x00],
        ds: ours.ds.clone(),
    };
    assert_eq!(
        docs.missing(&id, Some(&behind)),
        Some(unhex(EXAMPLE_UPDATE)),
        "behind: the diff"
    );
    let other_ds = DocVector {
        doc: ours.doc.clone(),
        sv: ours.sv.clone(),
        ds: vec![],
    };
    assert_eq!(
        docs.missing(&id, Some(&other_ds)),
        Some(vec![0x00, 0x00]),
        "digest differs: empty diff + delete set"
    );
    let garbage_sv = DocVector {
        doc: ours.doc,
        sv: vec![0xff],
        ds: vec![],
    };
    assert_eq!(
        docs.missing(&id, Some(&garbage_sv)),
        Some(unhex(EXAMPLE_UPDATE)),
        "bad sv: treated as empty"
    );
}

#[test]
fn authorship_check_is_asked_about_every_inserting_client() {
    let update = unhex(EXAMPLE_UPDATE);
    let id = DocId::parse("f:hello.txt").unwrap();
    let mut docs = DocSet::new(1);
    let asked = std::cell::RefCell::new(Vec::new());
    let refuse = |c: u64| {
        asked.borrow_mut().push(c);
        false
    };
    assert!(docs.apply_remote(&id, &update, true, &refuse).is_err());
    assert_eq!(*asked.borrow(), vec![EXAMPLE_CLIENT]);
    assert!(docs.is_empty(), "a refused update leaves nothing behind");
    assert!(
        docs.apply_remote(&id, &update, true, &|c| c == EXAMPLE_CLIENT).unwrap(),
        "allowed: applied"
    );
    assert!(
        docs.apply_remote(&id, &vec![0u8; MAX_UPDATE_BYTES + 1], true, &|_| true)
            .is_err(),
        "over the update cap"
    );
}

// ---- Gossip envelope --------------------------------------------------------------------------

#[test]
fn update_envelope_encodes_to_the_documented_bytes_and_back() {
    let env = Envelope::update("f:hello.txt", unhex(EXAMPLE_UPDATE));
    assert_eq!(hex(&env.encode()), ENVELOPE_UPDATE);
    let decoded = Envelope::decode(&unhex(ENVELOPE_UPDATE)).unwrap();
    assert_eq!(decoded, env);
    assert_eq!(decoded.v, 1);
    assert_eq!(decoded.kind, Kind::Update);
}

#[test]
fn nudge_envelope_encodes_to_the_documented_bytes_and_back() {
    let env = Envelope::nudge("f:big.log");
    assert_eq!(hex(&env.encode()), ENVELOPE_NUDGE);
    assert_eq!(Envelope::decode(&unhex(ENVELOPE_NUDGE)).unwrap(), env);
}

#[test]
fn envelope_is_a_cbor_map_of_v_kind_doc_data() {
    let v = cbor_value(&unhex(ENVELOPE_UPDATE));
    assert_eq!(keys(&v), ["v", "kind", "doc", "data"]);
    assert_eq!(int(field(&v, "v")), 1);
    assert_eq!(text(field(&v, "kind")), "update");
    assert_eq!(text(field(&v, "doc")), "f:hello.txt");
    assert_eq!(bytes(field(&v, "data")), unhex(EXAMPLE_UPDATE));
    let v = cbor_value(&unhex(ENVELOPE_NUDGE));
    assert_eq!(text(field(&v, "kind")), "nudge");
    assert_eq!(bytes(field(&v, "data")), b"");
}

#[test]
fn envelope_decoding_ignores_key_order_and_unknown_keys() {
    let v = map(&[
        ("data", Value::Bytes(unhex(EXAMPLE_UPDATE))),
        ("future", Value::Text("ignored".into())),
        ("doc", Value::Text("f:hello.txt".into())),
        ("kind", Value::Text("update".into())),
        ("v", Value::Integer(1.into())),
    ]);
    assert_eq!(
        Envelope::decode(&cbor_bytes(&v)).unwrap(),
        Envelope::update("f:hello.txt", unhex(EXAMPLE_UPDATE))
    );
}

#[test]
fn envelope_with_other_version_unknown_kind_or_over_the_cap_is_refused() {
    let mut env = Envelope::nudge("members");
    env.v = 2;
    assert!(Envelope::decode(&env.encode()).is_err(), "version 2");
    let v = map(&[
        ("v", Value::Integer(1.into())),
        ("kind", Value::Text("delete".into())),
        ("doc", Value::Text("members".into())),
        ("data", Value::Bytes(vec![])),
    ]);
    assert!(Envelope::decode(&cbor_bytes(&v)).is_err(), "unknown kind");
    let v = map(&[
        ("v", Value::Integer(1.into())),
        ("kind", Value::Text("nudge".into())),
        ("doc", Value::Text("members".into())),
    ]);
    assert!(Envelope::decode(&cbor_bytes(&v)).is_err(), "missing data");
    let v = map(&[
        ("v", Value::Integer(1.into())),
        ("kind", Value::Text("nudge".into())),
        ("doc", Value::Text("members".into())),
        ("data", Value::Text("not bytes".into())),
    ]);
    assert!(Envelope::decode(&cbor_bytes(&v)).is_err(), "data as text");
    // The decode cap is MAX_GOSSIP_BYTES + 1024 bytes of envelope.
    let cap = MAX_GOSSIP_BYTES + 1024;
    let fits = Envelope::update("members", vec![0u8; cap - 64]).encode();
    assert!(fits.len() <= cap);
    assert!(Envelope::decode(&fits).is_ok());
    let over = Envelope::update("members", vec![0u8; cap]).encode();
    assert!(over.len() > cap);
    assert!(Envelope::decode(&over).is_err());
}

// ---- /tandem/sync/1 ---------------------------------------------------------------------------

fn example_vector() -> DocVector {
    DocVector {
        doc: "f:hello.txt".into(),
        sv: unhex(EXAMPLE_SV),
        ds: unhex(EXAMPLE_DS),
    }
}

#[test]
fn sync_request_is_an_op_tagged_cbor_map_with_documented_bytes() {
    let req = SyncRequest::Sync {
        v: WIRE_VERSION,
        have: vec![example_vector()],
        after: None,
    };
    let wire = request_bytes(req.clone());
    assert_eq!(hex(&wire), SYNC_REQUEST);
    let v = cbor_value(&wire);
    assert_eq!(keys(&v), ["op", "v", "have"]);
    assert_eq!(text(field(&v, "op")), "sync");
    assert_eq!(int(field(&v, "v")), 1);
    let Value::Array(have) = field(&v, "have") else {
        panic!("have is an array")
    };
    assert_eq!(have.len(), 1);
    assert_eq!(keys(&have[0]), ["doc", "sv", "ds"]);
    assert_eq!(text(field(&have[0], "doc")), "f:hello.txt");
    assert_eq!(bytes(field(&have[0], "sv")), unhex(EXAMPLE_SV));
    assert_eq!(bytes(field(&have[0], "ds")), unhex(EXAMPLE_DS));
    assert_eq!(read_request(&wire).unwrap(), req);
}

#[test]
fn join_request_carries_token_bytes_and_name() {
    let req = SyncRequest::Join {
        v: WIRE_VERSION,
        token: vec![0x22; 16],
        name: "Ada".into(),
    };
    let wire = request_bytes(req.clone());
    assert_eq!(hex(&wire), JOIN_REQUEST);
    let v = cbor_value(&wire);
    assert_eq!(keys(&v), ["op", "v", "token", "name"]);
    assert_eq!(text(field(&v, "op")), "join");
    assert_eq!(int(field(&v, "v")), 1);
    assert_eq!(bytes(field(&v, "token")), [0x22; 16]);
    assert_eq!(text(field(&v, "name")), "Ada");
    assert_eq!(read_request(&wire).unwrap(), req);
}

#[test]
fn key_exchange_carries_the_epoch_and_a_signed_grant() {
    let req = SyncRequest::Key {
        v: WIRE_VERSION,
        epoch: 3,
    };
    let wire = request_bytes(req.clone());
    let v = cbor_value(&wire);
    assert_eq!(keys(&v), ["op", "v", "epoch"]);
    assert_eq!(text(field(&v, "op")), "key");
    assert_eq!(int(field(&v, "epoch")), 3);
    assert_eq!(read_request(&wire).unwrap(), req);

    let owner = libp2p::identity::Keypair::generate_ed25519();
    let grant = tandem::keys::Grant::issue(&owner, &[0xab; 16], 4, 60).unwrap();
    let resp = SyncResponse::Key {
        v: WIRE_VERSION,
        grant: Some(grant.clone()),
    };
    let wire = response_bytes(resp.clone());
    let v = cbor_value(&wire);
    assert_eq!(keys(&v), ["op", "v", "grant"]);
    assert_eq!(text(field(&v, "op")), "key");
    let g = field(&v, "grant");
    assert_eq!(keys(g), ["epoch", "key", "issuer", "issued_at", "grace_secs", "sig"]);
    assert_eq!(bytes(field(g, "key")).len(), 32);
    assert_eq!(bytes(field(g, "issuer")), owner.public().to_peer_id().to_bytes());
    assert_eq!(read_response(&wire).unwrap(), resp);
    assert_eq!(grant.verify(&[0xab; 16]).unwrap(), owner.public().to_peer_id());
    let none = response_bytes(SyncResponse::Key {
        v: WIRE_VERSION,
        grant: None,
    });
    assert_eq!(field(&cbor_value(&none), "grant"), &Value::Null);
}

#[test]
fn updates_response_lists_doc_updates_more_and_total_docs() {
    let resp = SyncResponse::Updates {
        v: WIRE_VERSION,
        updates: vec![DocUpdate {
            doc: "f:hello.txt".into(),
            data: unhex(EXAMPLE_UPDATE),
        }],
        more: false,
        total_docs: 2,
    };
    let wire = response_bytes(resp.clone());
    assert_eq!(hex(&wire), UPDATES_RESPONSE);
    let v = cbor_value(&wire);
    assert_eq!(keys(&v), ["op", "v", "updates", "more", "total_docs"]);
    assert_eq!(text(field(&v, "op")), "updates");
    assert_eq!(int(field(&v, "v")), 1);
    let Value::Array(updates) = field(&v, "updates") else {
        panic!("updates is an array")
    };
    assert_eq!(keys(&updates[0]), ["doc", "data"]);
    assert_eq!(text(field(&updates[0], "doc")), "f:hello.txt");
    assert_eq!(bytes(field(&updates[0], "data")), unhex(EXAMPLE_UPDATE));
    assert_eq!(field(&v, "more"), &Value::Bool(false));
    assert_eq!(int(field(&v, "total_docs")), 2);
    assert_eq!(read_response(&wire).unwrap(), resp);
}

#[test]
fn joined_response_carries_the_role_name() {
    let resp = SyncResponse::Joined {
        v: WIRE_VERSION,
        role: Role::Editor.to_string(),
    };
    let wire = response_bytes(resp.clone());
    assert_eq!(hex(&wire), JOINED_RESPONSE);
    let v = cbor_value(&wire);
    assert_eq!(keys(&v), ["op", "v", "role"]);
    assert_eq!(text(field(&v, "op")), "joined");
    assert_eq!(int(field(&v, "v")), 1);
    assert_eq!(text(field(&v, "role")), "editor");
    assert_eq!(read_response(&wire).unwrap(), resp);
}

#[test]
fn refused_response_carries_a_human_reason() {
    let resp = SyncResponse::Refused {
        v: WIRE_VERSION,
        reason: "invite code already used".into(),
    };
    let wire = response_bytes(resp.clone());
    assert_eq!(hex(&wire), REFUSED_RESPONSE);
    let v = cbor_value(&wire);
    assert_eq!(keys(&v), ["op", "v", "reason"]);
    assert_eq!(text(field(&v, "op")), "refused");
    assert_eq!(text(field(&v, "reason")), "invite code already used");
    assert_eq!(read_response(&wire).unwrap(), resp);
}

#[test]
fn sync_messages_decode_with_op_anywhere_unknown_keys_and_without_ds() {
    // A peer in another language may write the keys in any order and omit `ds`.
    let have = Value::Array(vec![map(&[
        ("sv", Value::Bytes(unhex(EXAMPLE_SV))),
        ("doc", Value::Text("members".into())),
    ])]);
    let v = map(&[
        ("have", have),
        ("x-extension", Value::Bool(true)),
        ("v", Value::Integer(1.into())),
        ("op", Value::Text("sync".into())),
    ]);
    let req = read_request(&cbor_bytes(&v)).unwrap();
    let want = DocVector {
        doc: "members".into(),
        sv: unhex(EXAMPLE_SV),
        ds: vec![],
    };
    assert_eq!(
        req,
        SyncRequest::Sync {
            v: 1,
            have: vec![want],
            after: None
        }
    );
    let v = map(&[
        ("reason", Value::Text("no".into())),
        ("v", Value::Integer(1.into())),
        ("op", Value::Text("refused".into())),
    ]);
    assert_eq!(
        read_response(&cbor_bytes(&v)).unwrap(),
        SyncResponse::Refused {
            v: 1,
            reason: "no".into()
        }
    );
    let v = map(&[("op", Value::Text("push".into())), ("v", Value::Integer(1.into()))]);
    assert!(read_request(&cbor_bytes(&v)).is_err(), "unknown op");
}

#[test]
fn sync_request_over_the_size_cap_is_not_read() {
    // The codec reads until the writer closes its side, at most the cap; a longer request is cut
    // and fails to decode, so it is never answered.
    let n = MAX_SYNC_REQUEST_BYTES as usize / 64 + 1;
    let have = vec![
        DocVector {
            doc: "members".into(),
            sv: vec![0u8; 60],
            ds: vec![]
        };
        n
    ];
    let wire = request_bytes(SyncRequest::Sync {
        v: 1,
        have,
        after: None,
    });
    assert!(wire.len() as u64 > MAX_SYNC_REQUEST_BYTES);
    assert!(read_request(&wire).is_err());
}

// ---- Invite -----------------------------------------------------------------------------------

#[test]
fn invite_worked_example_decodes_to_the_documented_fields() {
    assert_eq!(EXAMPLE_INVITE.len(), 224);
    let inv = Invite::decode(EXAMPLE_INVITE).unwrap();
    assert_eq!(inv.workspace_id, [0xab; 16]);
    assert_eq!(inv.key, [0x11; 32]);
    assert_eq!(inv.token, [0x22; 16]);
    assert_eq!(inv.role, Role::Editor);
    assert_eq!(inv.expires_at, 1_900_000_000);
    assert_eq!(inv.inviter, example_peer());
    assert_eq!(inv.inviter.to_string(), EXAMPLE_PEER);
    let addrs: Vec<Multiaddr> = ["/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/tcp/4002"]
        .map(|a| a.parse().unwrap())
        .to_vec();
    assert_eq!(inv.addrs, addrs);
    assert_eq!(inv.encode(), EXAMPLE_INVITE);
    // Case and line breaks do not matter.
    let pasted = format!("{}\n{}", EXAMPLE_INVITE[..100].to_uppercase(), &EXAMPLE_INVITE[100..]);
    assert_eq!(Invite::decode(&pasted).unwrap(), inv);
    // The topic a joiner subscribes to is derived from the workspace id.
    let topic = format!("tandem/{}", hex(&inv.workspace_id));
    assert_eq!(topic, "tandem/abababababababababababababababab");
}

// ---- Limits -----------------------------------------------------------------------------------

#[test]
fn limits_and_protocol_ids_match_the_document() {
    assert_eq!(WIRE_VERSION, 1);
    assert_eq!(tandem::net::SYNC_PROTOCOL, "/tandem/sync/1");
    assert_eq!(MAX_GOSSIP_BYTES, 61_440);
    assert_eq!(MAX_UPDATE_BYTES, 8_388_608);
    assert_eq!(SYNC_CHUNK_BYTES, 524_288);
    assert_eq!(MAX_SYNC_REQUEST_BYTES, 4_194_304);
    assert_eq!(MAX_SYNC_RESPONSE_BYTES, 9_437_184);
    assert_eq!(tandem::workspace::MAX_PATH_BYTES, 1024);
    assert_eq!(tandem::workspace::MAX_COMPONENT_BYTES, 255);
    assert_eq!(tandem::workspace::MAX_FILE_BYTES, 4_194_304);
    assert_eq!(tandem::invite::VERSION, 1);
    assert_eq!(tandem::invite::MAX_ADDRS, 8);
    assert_eq!(tandem::invite::MAX_ADDR_LEN, 255);
    assert_eq!(tandem::invite::MAX_CODE_LEN, 4096);
}

#[test]
fn protocol_md_quotes_the_tested_values() {
    let doc: String = include_str!("../PROTOCOL.md").split_whitespace().collect();
    for (name, value) in [
        ("example peer", EXAMPLE_PEER),
        ("example peer bytes", EXAMPLE_PEER_BYTES),
        ("example update", EXAMPLE_UPDATE),
        ("example state vector", EXAMPLE_SV),
        ("example ds", EXAMPLE_DS),
        ("UTF-16 update", UTF16_UPDATE),
        ("update envelope", ENVELOPE_UPDATE),
        ("nudge envelope", ENVELOPE_NUDGE),
        ("sync request", SYNC_REQUEST),
        ("join request", JOIN_REQUEST),
        ("updates response", UPDATES_RESPONSE),
        ("joined response", JOINED_RESPONSE),
        ("refused response", REFUSED_RESPONSE),
        ("invite code", EXAMPLE_INVITE),
        ("client id", "0xb089e92a0000"),
        ("client id in decimal", "194106368851968"),
        ("tag", "0xb089e92a"),
    ] {
        assert!(doc.contains(value), "PROTOCOL.md does not quote the {name} {value}");
    }
}
