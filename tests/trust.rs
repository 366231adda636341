//! Who gets in and what is refused: invite codes, the workspace key, membership, hostile updates.

mod common;

use common::*;
use std::time::Duration;
use tandem::docs::client_id_for;
use tandem::wire::Envelope;
use tandem::{Event, Node, Role};
use yrs::{Text, Transact};

async fn join_error(code: &str) -> (String, std::path::PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("joiner");
    let err = Node::join(config(&dir, "joiner"), code, |_, _| {})
        .await
        .err()
        .expect("join should fail");
    (err.to_string(), dir, tmp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_expired_and_reused_invite_codes_are_refused_each_with_its_own_message() {
    let alice = owner(&[("a.txt", "a\n")]).await;

    let code = alice.node.invite(Role::Editor, Duration::from_secs(600)).await.unwrap();
    let mut typo: Vec<char> = code.chars().collect();
    let i = typo.len() / 2;
    typo[i] = if typo[i] == 'a' { 'b' } else { 'a' };
    let (msg, dir, _t) = join_error(&typo.into_iter().collect::<String>()).await;
    assert!(msg.starts_with("invalid invite code"), "{msg}");
    assert!(!dir.exists(), "a failed join leaves nothing behind");
    let (msg, _, _t) = join_error("hello there").await;
    assert!(msg.starts_with("invalid invite code"), "{msg}");

    let expired = alice.node.invite(Role::Editor, Duration::ZERO).await.unwrap();
    let (msg, _, _t) = join_error(&expired).await;
    assert!(msg.contains("expired"), "{msg}");

    let bob = Node::join(
        config(&tempfile::tempdir().unwrap().keep().join("bob"), "bob"),
        &code,
        |_, _| {},
    )
    .await
    .unwrap();
    let (msg, dir, _t) = join_error(&code).await;
    assert!(msg.contains("already used"), "{msg}");
    assert!(!dir.exists());
    bob.shutdown().await;
}

/// Builds a peer that holds the workspace key and id but was never made a member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_the_key_but_no_membership_connects_yet_receives_no_document() {
    let alice = owner(&[("plan.md", "the plan\n")]).await;
    let bob = joined(&alice, "bob").await;
    let code = alice.node.invite(Role::Editor, Duration::from_secs(600)).await.unwrap();
    let stranger = stranger_with_key(&code).await;
    let alice_addr = alice.node.listen_addrs()[0]
        .clone()
        .with(libp2p::multiaddr::Protocol::P2p(alice.node.peer_id()));
    stranger.node.dial(alice_addr);
    let sid = stranger.node.peer_id().to_string();
    wait_for(&[&alice.node], "the stranger is connected to alice", || async {
        alice.node.status().await.unwrap().peers.iter().any(|p| p.id == sid)
    })
    .await;

    alice.write("secret.md", "for members only\n");
    wait_for(&[&bob.node], "bob, a member, receives the new file", || async {
        bob.read("secret.md").is_some()
    })
    .await;
    // The stranger was connected the whole time and has asked to sync: it got nothing.
    stranger
        .node
        .sync_with(alice.node.peer_id())
        .await
        .expect_err("alice refuses to sync with a non-member");
    assert_eq!(stranger.node.text("secret.md").await.unwrap(), None);
    assert_eq!(stranger.node.text("plan.md").await.unwrap(), None);
    assert!(tree(&stranger.dir).is_empty(), "{:?}", tree(&stranger.dir));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_without_the_workspace_key_cannot_connect() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other");
    Node::init(&other).unwrap();
    let outsider = Node::start(config(&other, "outsider")).await.unwrap();
    let mut events = outsider.subscribe();
    let alice_addr = alice.node.listen_addrs()[0]
        .clone()
        .with(libp2p::multiaddr::Protocol::P2p(alice.node.peer_id()));
    outsider.dial(alice_addr);
    let failed = tokio::time::timeout(DEADLINE, async {
        loop {
            match events.recv().await {
                Ok(Event::ConnectionFailed { .. }) => return true,
                Ok(Event::PeerConnected { .. }) => return false,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return false,
            }
        }
    })
    .await;
    assert_eq!(failed, Ok(true), "the dial without the key must fail");
    assert!(alice.node.status().await.unwrap().peers.is_empty());
    outsider.shutdown().await;
}

fn varuint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A Yjs v1 update setting `meta.x` to `depth` arrays nested in each other.
fn nested_update(client: u64, depth: usize) -> Vec<u8> {
    let mut u = Vec::new();
    for n in [1, 1, client, 0] {
        varuint(&mut u, n);
    }
    u.push(8 | 0x20); // ContentAny, with a parent key
    varuint(&mut u, 1);
    varuint(&mut u, 4);
    u.extend_from_slice(b"meta");
    varuint(&mut u, 1);
    u.extend_from_slice(b"x");
    varuint(&mut u, 1);
    for _ in 0..depth {
        u.push(117); // array of one
        varuint(&mut u, 1);
    }
    u.push(126); // null
    varuint(&mut u, 0); // empty delete set
    u
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_nested_forged_and_path_escaping_messages_are_dropped_and_the_peer_is_unharmed() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;
    let mut events = alice.node.subscribe();

    // Bob's peer turns hostile: real libp2p, signed by him, crafted payloads.
    let bob_client = client_id_for(&bob.node.peer_id(), 0);
    let forged = {
        let doc = yrs::Doc::with_client_id(client_id_for(&alice.node.peer_id(), 7));
        let text = doc.get_or_insert_text("content");
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "words put in alice's mouth");
        txn.encode_update_v1()
    };
    let hostile: Vec<Vec<u8>> = vec![
        b"\xff\xfenot cbor at all".to_vec(),
        Envelope::update("f:a.txt", vec![0xff; 64]).encode(),
        Envelope::update("f:deep.txt", nested_update(bob_client, 25_000)).encode(),
        Envelope::update("f:a.txt", forged).encode(),
        Envelope::update("f:../../etc/evil", vec![0, 0]).encode(),
    ];
    for msg in hostile {
        bob.node.debug_publish(msg);
    }
    let refused = tokio::time::timeout(DEADLINE, async {
        let mut n = 0;
        while n < 4 {
            if let Ok(Event::Refused { .. }) = events.recv().await {
                n += 1;
            }
        }
        n
    })
    .await
    .expect("alice reports each refusal");
    assert!(refused >= 4);
    // ...and bob is penalised for them in alice's gossipsub scoring.
    let bob_id = bob.node.peer_id().to_string();
    wait_for(&[&alice.node], "bob's gossip score below zero at alice", || async {
        let status = alice.node.status().await.unwrap();
        status
            .peers
            .iter()
            .any(|p| p.id == bob_id && p.score.is_some_and(|s| s < 0.0))
    })
    .await;

    // Alice is unharmed: she still takes in a good edit, and her text is intact.
    bob.node.set_text("a.txt", "a\nb\n").await.unwrap();
    wait_for(&[&alice.node], "alice applies bob's next good edit", || async {
        alice.node.text("a.txt").await.unwrap().as_deref() == Some("a\nb\n")
    })
    .await;
    assert!(!alice
        .node
        .text("a.txt")
        .await
        .unwrap()
        .unwrap()
        .contains("alice's mouth"));
    assert!(!alice.dir.parent().unwrap().join("etc").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_takes_no_more_documents_than_its_limit_and_says_why_without_blaming_the_sender() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("alice");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), "a\n").unwrap();
    Node::init(&dir).unwrap();
    let mut cfg = config(&dir, "alice");
    cfg.max_docs = 4; // members, a.txt and room for two more
    let alice = Peer {
        node: Node::start(cfg).await.unwrap(),
        dir,
        tmp: Some(tmp),
    };
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;

    for i in 0..5 {
        bob.node.set_text(&format!("new{i}.txt"), "from bob\n").await.unwrap();
    }
    bob.node.set_text("a.txt", "a\nb\n").await.unwrap();
    wait_for(&[&alice.node], "alice takes bob's edit of a file she holds", || async {
        alice.node.text("a.txt").await.unwrap().as_deref() == Some("a\nb\n")
    })
    .await;
    let status = alice.node.status().await.unwrap();
    let synced = status.docs.files.len();
    assert!(synced <= 3, "alice holds at most her limit: {synced} files");
    alice.write("mine.txt", "written on alice's disk\n");
    wait_for(&[&alice.node], "alice says why her new file is not synced", || async {
        let status = alice.node.status().await.unwrap();
        status
            .docs
            .skipped
            .iter()
            .any(|s| s.path == "mine.txt" && s.reason.contains("limit"))
    })
    .await;
    // Bob is not penalised for alice's limit.
    let bob_id = bob.node.peer_id().to_string();
    let score = alice
        .node
        .status()
        .await
        .unwrap()
        .peers
        .into_iter()
        .find(|p| p.id == bob_id)
        .and_then(|p| p.score);
    assert!(score.unwrap_or(0.0) >= 0.0, "{score:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_swapped_for_a_symlink_gets_nothing_written_through_it() {
    let alice = owner(&[("other.txt", "o\n")]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;

    // On bob's machine, where the folder sub/ is about to arrive, a link to a folder outside the
    // workspace takes its place.
    let outside = bob.dir.parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("x.txt"), "not tandem's\n").unwrap();
    std::os::unix::fs::symlink(&outside, bob.path("sub")).unwrap();

    alice.write("sub/x.txt", "x from alice\n");
    alice.node.set_text("other.txt", "o\nchanged too\n").await.unwrap();
    wait_for(
        &[&bob.node],
        "bob takes both files and writes the one he may write",
        || async {
            bob.node.text("sub/x.txt").await.unwrap().as_deref() == Some("x from alice\n")
                && bob.read("other.txt").as_deref() == Some("o\nchanged too\n")
        },
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(outside.join("x.txt")).unwrap(),
        "not tandem's\n"
    );
    assert!(std::fs::symlink_metadata(bob.path("sub"))
        .unwrap()
        .file_type()
        .is_symlink());
    // Alice's file is intact everywhere it can be.
    assert_eq!(alice.read("sub/x.txt").as_deref(), Some("x from alice\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_differ_only_by_case_or_normalisation_reach_other_disks_once() {
    let alice = owner(&[]).await;
    let bob = joined(&alice, "bob").await;
    // Distinct files on alice's (case-sensitive) disk; one file on a Mac's.
    let nfc = "caf\u{e9}.txt";
    let nfd = "cafe\u{301}.txt";
    for (name, text) in [
        ("README.md", "upper\n"),
        ("Readme.md", "mixed\n"),
        (nfc, "nfc\n"),
        (nfd, "nfd\n"),
    ] {
        alice.write(name, text);
    }
    let pairs = [("README.md", "Readme.md"), (nfc, nfd)];
    wait_for(
        &[&bob.node],
        "one of each pair on bob's disk, the other listed with why",
        || async {
            let status = bob.node.status().await.unwrap();
            let clash = |p: &str| {
                status
                    .docs
                    .skipped
                    .iter()
                    .any(|s| s.path == p && s.reason.contains("only by case"))
            };
            pairs
                .iter()
                .all(|(a, b)| (bob.read(a).is_some() && clash(b)) || (bob.read(b).is_some() && clash(a)))
        },
    )
    .await;
    for name in ["README.md", "Readme.md", nfc, nfd] {
        assert!(
            bob.node.text(name).await.unwrap().is_some(),
            "{name} synced as a document"
        );
    }
    let on_disk: Vec<String> = std::fs::read_dir(&bob.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(on_disk.len(), 2, "{on_disk:?}");
    // Alice, who made both on her own disk, keeps both.
    assert_eq!(alice.read("Readme.md").as_deref(), Some("mixed\n"));
    assert_eq!(alice.read("README.md").as_deref(), Some("upper\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_gigabyte_file_is_skipped_with_its_size_and_never_read() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let bob = joined(&alice, "bob").await;
    // Sparse: a gigabyte on paper, nothing on the disk; reading it whole would show in the test's time and memory.
    let huge = std::fs::File::create(alice.path("huge.txt")).unwrap();
    huge.set_len(1 << 30).unwrap();
    drop(huge);
    alice.write("after.txt", "after\n");
    wait_for(
        &[&alice.node, &bob.node],
        "the huge file skipped with its size; the next file synced",
        || async {
            let status = alice.node.status().await.unwrap();
            let skipped = status
                .docs
                .skipped
                .iter()
                .any(|s| s.path == "huge.txt" && s.reason.contains("1073741824"));
            skipped && bob.read("after.txt").is_some()
        },
    )
    .await;
    assert_eq!(bob.node.text("huge.txt").await.unwrap(), None);
    assert!(bob.read("huge.txt").is_none());
}
