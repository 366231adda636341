//! Two and three real peers over libp2p on loopback, syncing folders through their files.

mod common;

use common::*;
use rand::{Rng, SeedableRng};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joiner_receives_existing_files_and_both_sides_sync_creates_edits_deletes_and_renames() {
    let alice = owner(&[("hello.txt", "hello\n"), ("src/main.rs", "fn main() {}\n")]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;
    assert_eq!(bob.read("src/main.rs").as_deref(), Some("fn main() {}\n"));

    alice.write("hello.txt", "hello\nworld\n");
    bob.write("notes/new.md", "# new\n");
    converged(&[&alice, &bob]).await;
    assert_eq!(bob.read("hello.txt").as_deref(), Some("hello\nworld\n"));
    assert_eq!(alice.read("notes/new.md").as_deref(), Some("# new\n"));

    std::fs::rename(bob.path("src/main.rs"), bob.path("src/lib.rs")).unwrap();
    std::fs::remove_file(alice.path("hello.txt")).unwrap();
    converged(&[&alice, &bob]).await;
    assert!(alice.read("src/main.rs").is_none());
    assert_eq!(alice.read("src/lib.rs").as_deref(), Some("fn main() {}\n"));
    assert!(bob.read("hello.txt").is_none());
}

/// Random edits through the files on disk, interleaved on both sides, converge byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_random_disk_edits_on_both_sides_converge() {
    let seed: u64 = std::env::var("TANDEM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("seed {seed} (replay with TANDEM_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let alice = owner(&[("a.txt", "alpha\n"), ("b.txt", "beta\n")]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;

    let files = ["a.txt", "b.txt", "c.txt", "dir/d.txt"];
    for i in 0..200 {
        let peer = if rng.gen_bool(0.5) { &alice } else { &bob };
        let file = files[rng.gen_range(0..files.len())];
        let mut text: Vec<char> = peer.read(file).unwrap_or_default().chars().collect();
        let at = rng.gen_range(0..=text.len());
        if rng.gen_bool(0.3) && !text.is_empty() {
            let end = (at + rng.gen_range(1..5)).min(text.len());
            text.drain(at.min(end)..end);
        } else {
            let word = format!("{}{}é", ["x", "yy", "zzz\n"][rng.gen_range(0..3)], i);
            text.splice(at..at, word.chars());
        }
        let text: String = text.into_iter().collect();
        if rng.gen_bool(0.5) {
            peer.write(file, &text);
        } else {
            std::fs::create_dir_all(peer.path(file).parent().unwrap()).unwrap();
            atomic_save(&peer.path(file), &text);
        }
        if i % 20 == 0 {
            // Let a burst of changes cross now and then, as real typing does.
            tokio::task::yield_now().await;
        }
    }
    converged(&[&alice, &bob]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_peer_catches_up_through_the_sync_exchange_when_it_returns() {
    let alice = owner(&[("doc.md", "one\n")]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;

    let dir = bob.dir.clone();
    bob.node.shutdown().await;
    // Made while bob is down: gossip cannot carry these to him.
    alice.write("doc.md", "one\ntwo\n");
    alice.write("later.md", "written while bob was away\n");
    wait_for(&[&alice.node], "alice took in her edits", || async {
        alice.node.text("later.md").await.unwrap().is_some()
            && alice.node.text("doc.md").await.unwrap().as_deref() == Some("one\ntwo\n")
    })
    .await;

    let mut events = {
        let node = tandem::Node::start(config(&dir, "bob")).await.unwrap();
        let rx = node.subscribe();
        (Peer { node, dir, tmp: None }, rx)
    };
    let bob = &events.0;
    converged(&[&alice, bob]).await;
    assert_eq!(bob.read("later.md").as_deref(), Some("written while bob was away\n"));
    // The sync exchange, not gossip, brought them: it reports what it applied.
    let mut applied = 0;
    while let Ok(ev) = events.1.try_recv() {
        if let tandem::Event::Synced { applied: n, .. } = ev {
            applied += n;
        }
    }
    assert!(applied > 0, "the sync exchange applied nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_peers_converge_after_one_is_edited_on_disk_while_down() {
    let alice = owner(&[("shared.txt", "line 1\nline 2\nline 3\n")]).await;
    let bob = joined(&alice, "bob").await;
    let carol = joined(&alice, "carol").await;
    converged(&[&alice, &bob, &carol]).await;

    let carol_dir = carol.dir.clone();
    carol.node.shutdown().await;
    // Carol's folder is edited while her peer is down; the others edit too.
    std::fs::write(carol_dir.join("shared.txt"), "line 1\nline 2 by carol\nline 3\n").unwrap();
    std::fs::write(carol_dir.join("carol.txt"), "offline work\n").unwrap();
    alice.write("shared.txt", "line 0 by alice\nline 1\nline 2\nline 3\n");
    bob.write("bob.txt", "bob was here\n");
    converged(&[&alice, &bob]).await;

    let carol = Peer {
        node: tandem::Node::start(config(&carol_dir, "carol")).await.unwrap(),
        dir: carol_dir,
        tmp: None,
    };
    converged(&[&alice, &bob, &carol]).await;
    let shared = alice.read("shared.txt").unwrap();
    assert!(shared.contains("line 0 by alice"), "{shared}");
    assert!(shared.contains("line 2 by carol"), "{shared}");
    assert_eq!(alice.read("carol.txt").as_deref(), Some("offline work\n"));
    assert_eq!(carol.read("bob.txt").as_deref(), Some("bob was here\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editor_atomic_save_merges_with_a_concurrent_remote_edit() {
    let alice = owner(&[("story.txt", "beginning\nmiddle\nend\n")]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;

    // Alice's editor saves by rename at the moment bob's edit is on its way to her.
    atomic_save(&alice.path("story.txt"), "beginning\nmiddle\nend\nalice's ending\n");
    bob.node
        .set_text("story.txt", "bob's prologue\nbeginning\nmiddle\nend\n")
        .await
        .unwrap();
    converged(&[&alice, &bob]).await;
    let text = alice.read("story.txt").unwrap();
    assert!(text.contains("bob's prologue"), "bob's edit lost: {text}");
    assert!(text.contains("alice's ending"), "alice's edit lost: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_workspace_folder_is_not_read_as_deleting_every_file() {
    let alice = owner(&[("keep.txt", "precious\n")]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;

    let moved = alice.dir.with_file_name("alice-moved");
    std::fs::rename(&alice.dir, &moved).unwrap();
    wait_for(&[&alice.node], "alice notices her folder is gone", || async {
        alice.node.status().await.unwrap().docs.root_missing
    })
    .await;
    // Bob's copy stays, and alice still holds the document.
    assert_eq!(
        alice.node.text("keep.txt").await.unwrap().as_deref(),
        Some("precious\n")
    );
    bob.node.set_text("keep.txt", "precious\nstill\n").await.unwrap();
    wait_for(&[&alice.node], "alice still receives edits", || async {
        alice.node.text("keep.txt").await.unwrap().as_deref() == Some("precious\nstill\n")
    })
    .await;
    wait_for(&[&bob.node], "bob's own copy is updated", || async {
        bob.read("keep.txt").as_deref() == Some("precious\nstill\n")
    })
    .await;
}

/// A crash between writing a file and recording that it was written leaves the file on disk with
/// no record of it: on restart it must be recognised as the document's own text, not merged in
/// a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_just_before_a_crash_is_not_merged_in_twice() {
    let alice = owner(&[("once.txt", "only once\n")]).await;
    wait_for(&[&alice.node], "alice took the file in", || async {
        alice.node.text("once.txt").await.unwrap().is_some()
    })
    .await;
    alice.node.shutdown().await;
    {
        let mut store = tandem::store::Store::open(&alice.dir.join(".tandem/tandem.db"), Default::default()).unwrap();
        store.remove_disk_base("once.txt").unwrap();
    }
    let alice = restart(alice, "alice").await;
    wait_for(&[&alice.node], "the restarted peer has scanned", || async {
        alice.node.status().await.unwrap().docs.files.len() == 1
    })
    .await;
    assert_eq!(
        alice.node.text("once.txt").await.unwrap().as_deref(),
        Some("only once\n")
    );
    assert_eq!(alice.read("once.txt").as_deref(), Some("only once\n"));
}

/// The update log is folded into a snapshot, so it does not grow with every edit; the text and
/// its history survive a restart from the snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_update_log_is_compacted_and_a_restart_restores_from_the_snapshot() {
    let alice = owner(&[]).await;
    let path = tandem::workspace::RelPath::new("log.txt").unwrap();
    let mut expected = String::new();
    for i in 0..1200 {
        let line = format!("{i}\n");
        let at = expected.chars().count();
        expected.push_str(&line);
        // One edit at a time: each is its own commit, as typing with pauses would be.
        alice
            .node
            .edit(
                &path,
                vec![tandem::merge::Splice {
                    at,
                    delete: 0,
                    insert: line,
                }],
            )
            .wait()
            .await
            .unwrap();
    }
    let rows = {
        let store = tandem::store::Store::open(&alice.dir.join(".tandem/tandem.db"), Default::default()).unwrap();
        store.update_count("f:log.txt").unwrap()
    };
    assert!(
        rows < 1000,
        "{rows} rows left after 1200 edits: the log was not compacted"
    );
    let alice = restart(alice, "alice").await;
    let got = alice.node.text("log.txt").await.unwrap().unwrap_or_default();
    if got != expected {
        let i = got
            .chars()
            .zip(expected.chars())
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        panic!(
            "after restart: {} vs {} bytes, first difference at {i}: {:?} vs {:?}",
            got.len(),
            expected.len(),
            &got[i.saturating_sub(20)..(i + 40).min(got.len())],
            &expected[i.saturating_sub(20)..(i + 40).min(expected.len())]
        );
    }
}

/// The desktop editor keeps its own Yjs replica of a file: it loads the document as an update,
/// sends its edits as updates under its own client id, and catches up on remote edits by state
/// vector — while updates under someone else's client id are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_replica_exchanges_yjs_updates_with_the_engine() {
    use yrs::updates::decoder::Decode;
    use yrs::updates::encoder::Encode;
    use yrs::{GetString, ReadTxn, Text, Transact};
    let alice = owner(&[("doc.md", "hello\n")]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;

    let replica = yrs::Doc::with_client_id(alice.node.new_client_id().await.unwrap());
    let content = replica.get_or_insert_text("content");
    let full = alice.node.doc_diff("f:doc.md", Vec::new()).await.unwrap();
    replica
        .transact_mut()
        .apply_update(yrs::Update::decode_v1(&full).unwrap())
        .unwrap();
    assert_eq!(content.get_string(&replica.transact()), "hello\n");

    let before = replica.transact().state_vector();
    content.insert(&mut replica.transact_mut(), 6, "from the editor\n");
    let update = replica.transact().encode_diff_v1(&before);
    alice.node.apply_local_update("f:doc.md", update).await.unwrap();
    wait_for(&[&bob.node], "bob's disk has the editor's line", || async {
        bob.read("doc.md").as_deref() == Some("hello\nfrom the editor\n")
    })
    .await;

    bob.node
        .set_text("doc.md", "hello\nfrom the editor\nand from bob\n")
        .await
        .unwrap();
    wait_for(&[&alice.node], "alice has bob's line", || async {
        alice
            .node
            .text("doc.md")
            .await
            .unwrap()
            .is_some_and(|t| t.contains("and from bob"))
    })
    .await;
    let sv = replica.transact().state_vector().encode_v1();
    let diff = alice.node.doc_diff("f:doc.md", sv).await.unwrap();
    replica
        .transact_mut()
        .apply_update(yrs::Update::decode_v1(&diff).unwrap())
        .unwrap();
    assert_eq!(
        content.get_string(&replica.transact()),
        "hello\nfrom the editor\nand from bob\n"
    );

    let impostor = yrs::Doc::with_client_id(tandem::docs::client_id_for(&bob.node.peer_id(), 3));
    let text = impostor.get_or_insert_text("content");
    text.insert(&mut impostor.transact_mut(), 0, "not mine");
    let forged = impostor
        .transact()
        .encode_state_as_update_v1(&yrs::StateVector::default());
    let err = alice.node.apply_local_update("f:doc.md", forged).await.unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
}
