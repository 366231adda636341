//! Members, roles and revocation: every rule enforced by each receiving peer, and a revocation
//! that rotates the workspace key without losing anybody's edits.

mod common;

use common::*;
use std::time::Duration;
use tandem::{Event, Role};

/// Whether `peer` holds a connection to the peer with id `other`.
async fn connected(peer: &Peer, other: &str) -> bool {
    let peers = peer.node.status().await.unwrap().peers;
    peers.iter().any(|p| p.id == other && p.address.is_some())
}

async fn role_at(peer: &Peer, of: &Peer) -> Option<Role> {
    let id = of.node.peer_id().to_string();
    let members = peer.node.members().await.unwrap();
    members
        .into_iter()
        .find(|m| m.peer == id && m.revoked_by.is_none())
        .map(|m| m.role)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_listed_with_role_and_inviter_and_only_owners_change_roles() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let bob = joined(&alice, "bob").await;
    let carol = joined_as(&alice, "carol", Role::Viewer).await;

    wait_for(&[&carol.node], "carol knows every member", || async {
        carol.node.members().await.unwrap().len() == 3
    })
    .await;
    let members = carol.node.members().await.unwrap();
    let alice_id = alice.node.peer_id().to_string();
    let by_name = |n: &str| members.iter().find(|m| m.name == n).cloned().unwrap();
    assert_eq!(by_name("alice").role, Role::Owner);
    assert_eq!(by_name("bob").role, Role::Editor);
    assert_eq!(by_name("carol").role, Role::Viewer);
    assert_eq!(by_name("bob").added_by, alice_id);
    assert!(by_name("carol").added_at > 0);

    // An editor may not manage members; the owner may, by name too.
    let err = bob.node.set_role(carol.node.peer_id(), Role::Editor).await.unwrap_err();
    assert!(err.to_string().contains("only an owner"), "{err}");
    let err = alice
        .node
        .set_role(alice.node.peer_id(), Role::Viewer)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("yourself"), "{err}");
    let found = alice.node.find_member("carol").await.unwrap();
    assert_eq!(found, carol.node.peer_id());

    alice.node.set_role(found, Role::Editor).await.unwrap();
    alice.node.set_role(bob.node.peer_id(), Role::Viewer).await.unwrap();
    wait_for(&[&bob.node, &carol.node], "the new roles reach every peer", || async {
        role_at(&bob, &bob).await == Some(Role::Viewer) && role_at(&carol, &carol).await == Some(Role::Editor)
    })
    .await;

    // The demoted viewer's edits are refused; the promoted editor's are taken everywhere.
    let err = bob.node.set_text("a.txt", "bob was here\n").await.unwrap_err();
    assert!(err.to_string().contains("does not allow editing"), "{err}");
    carol.node.set_text("a.txt", "carol edits now\n").await.unwrap();
    wait_for(
        &[&alice.node, &bob.node],
        "carol's edit reaches alice and bob",
        || async {
            alice.node.text("a.txt").await.unwrap().as_deref() == Some("carol edits now\n")
                && bob.node.text("a.txt").await.unwrap().as_deref() == Some("carol edits now\n")
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_member_is_cut_off_while_the_others_move_to_a_new_key_losing_no_edit() {
    let alice = owner(&[("a.txt", "a\n"), ("b.txt", "b\n")]).await;
    let bob = joined(&alice, "bob").await;
    let carol = joined(&alice, "carol").await;
    converged(&[&alice, &bob, &carol]).await;
    alice.node.invite(Role::Editor, Duration::from_secs(600)).await.unwrap();
    assert_eq!(alice.node.invites().await.unwrap().len(), 1);

    // Bob is away during the revocation, and edits meanwhile.
    bob.node.set_offline(true);
    bob.node.set_text("b.txt", "written by bob while away\n").await.unwrap();

    let mut alice_events = alice.node.subscribe();
    let epoch = alice
        .node
        .revoke(carol.node.peer_id(), Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(epoch, 1);
    assert_eq!(alice.node.key_epoch().await.unwrap(), 1);
    assert!(
        alice.node.invites().await.unwrap().is_empty(),
        "open invites carry the old key"
    );
    let members = alice.node.members().await.unwrap();
    let carol_rec = members.iter().find(|m| m.name == "carol").unwrap();
    assert_eq!(
        carol_rec.revoked_by.as_deref(),
        Some(alice.node.peer_id().to_string().as_str())
    );
    let _ = tokio::time::timeout(DEADLINE, async {
        while !matches!(alice_events.recv().await, Ok(Event::KeyRotated { epoch: 1 })) {}
    })
    .await;

    // Carol is disconnected and nothing of hers is taken any more.
    let carol_id = carol.node.peer_id().to_string();
    wait_for(&[&alice.node], "carol disconnected from alice", || async {
        !connected(&alice, &carol_id).await
    })
    .await;
    assert!(carol.node.sync_with(alice.node.peer_id()).await.is_err());
    // (Refused locally if the revocation reached her before the disconnection.)
    let _ = carol.node.set_text("a.txt", "carol's parting shot\n").await;
    alice.node.set_text("a.txt", "after the revocation\n").await.unwrap();

    // Bob comes back: with the old key (still accepted from members), he is handed the new one,
    // and his offline edit arrives.
    bob.node.set_offline(false);
    wait_for(
        &[&alice.node, &bob.node],
        "bob on the new key, both edits everywhere",
        || async {
            bob.node.key_epoch().await.unwrap() == 1
                && alice.node.text("b.txt").await.unwrap().as_deref() == Some("written by bob while away\n")
                && bob.node.text("a.txt").await.unwrap().as_deref() == Some("after the revocation\n")
        },
    )
    .await;

    // After a restart bob speaks only the new key, and still syncs.
    let bob = restart(bob, "bob").await;
    bob.node.set_text("b.txt", "bob again\n").await.unwrap();
    wait_for(&[&alice.node], "bob's edit after restart reaches alice", || async {
        alice.node.text("b.txt").await.unwrap().as_deref() == Some("bob again\n")
    })
    .await;
    assert_eq!(
        alice.node.text("a.txt").await.unwrap().as_deref(),
        Some("after the revocation\n")
    );
    assert_ne!(bob.read("a.txt").as_deref(), Some("carol's parting shot\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_grace_is_over_a_revoked_peer_cannot_even_connect() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let carol = joined(&alice, "carol").await;
    converged(&[&alice, &carol]).await;
    let mut carol_events = carol.node.subscribe();

    alice.node.revoke(carol.node.peer_id(), Duration::ZERO).await.unwrap();
    let carol_id = carol.node.peer_id().to_string();
    wait_for(&[&alice.node], "carol disconnected", || async {
        !connected(&alice, &carol_id).await
    })
    .await;

    // Carol keeps redialling alice with the key she has: every attempt fails in the handshake.
    let alice_addr = alice.node.listen_addrs()[0]
        .clone()
        .with(libp2p::multiaddr::Protocol::P2p(alice.node.peer_id()));
    carol.node.dial(alice_addr);
    tokio::time::timeout(DEADLINE, async {
        while !matches!(carol_events.recv().await, Ok(Event::ConnectionFailed { .. })) {}
    })
    .await
    .expect("carol's dial fails");
    assert!(!connected(&alice, &carol_id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_the_grace_the_old_key_admits_members_only_and_drops_anyone_else_at_once() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let carol = joined(&alice, "carol").await;
    converged(&[&alice, &carol]).await;
    let old_code = alice.node.invite(Role::Editor, Duration::from_secs(600)).await.unwrap();
    alice
        .node
        .revoke(carol.node.peer_id(), Duration::from_secs(600))
        .await
        .unwrap();

    // A new identity holding the old key (from a code issued before the rotation).
    let stranger = stranger_with_key(&old_code).await;
    let mut events = stranger.node.subscribe();
    let alice_addr = alice.node.listen_addrs()[0]
        .clone()
        .with(libp2p::multiaddr::Protocol::P2p(alice.node.peer_id()));
    stranger.node.dial(alice_addr);
    tokio::time::timeout(DEADLINE, async {
        loop {
            match events.recv().await {
                Ok(Event::PeerDisconnected { .. } | Event::ConnectionFailed { .. }) => return,
                Ok(_) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    })
    .await
    .expect("alice drops the stranger");
    let sid = stranger.node.peer_id().to_string();
    assert!(!connected(&alice, &sid).await);
    assert!(tree(&stranger.dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_members_past_work_still_reaches_members_who_join_later() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let carol = joined(&alice, "carol").await;
    carol.node.set_text("a.txt", "a\nby carol\n").await.unwrap();
    carol
        .node
        .comment(
            "a.txt",
            2,
            2,
            tandem::review::CommentKind::Praise,
            "carol was here",
            None,
        )
        .await
        .unwrap();
    wait_for(&[&alice.node], "carol's text and comment reach alice", || async {
        alice.node.text("a.txt").await.unwrap().as_deref() == Some("a\nby carol\n")
            && !alice.node.review_state().await.unwrap().0.is_empty()
    })
    .await;
    alice
        .node
        .revoke(carol.node.peer_id(), Duration::from_secs(60))
        .await
        .unwrap();

    let dave = joined(&alice, "dave").await;
    wait_for(&[&dave.node], "dave gets carol's past text and comment", || async {
        dave.read("a.txt").as_deref() == Some("a\nby carol\n")
            && dave
                .node
                .review_state()
                .await
                .unwrap()
                .0
                .iter()
                .any(|t| t.body == "carol was here")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_cannot_relay_an_owners_op_it_forged() {
    use tandem::review::ThreadState;
    let alice = owner(&[("a.txt", "a\nb\n")]).await;
    let bob = joined_as(&alice, "bob", Role::Viewer).await;
    let carol = joined(&alice, "carol").await;
    let thread = alice
        .node
        .comment("a.txt", 1, 1, tandem::review::CommentKind::Issue, "open question", None)
        .await
        .unwrap();
    let state_at = |peer: &Peer| {
        let (node, thread) = (peer.node.clone(), thread.clone());
        async move {
            let (threads, _) = node.review_state().await.unwrap();
            threads.into_iter().find(|t| t.id == thread).map(|t| t.state)
        }
    };
    wait_for(
        &[&bob.node, &carol.node],
        "the thread reaches bob and carol",
        || async { state_at(&bob).await.is_some() && state_at(&carol).await.is_some() },
    )
    .await;

    // Bob's peer is tampered with: its store gains a `resolve` of alice's thread, appended after
    // everything he holds, under a client id of alice's (a slot she never used). Viewers may not
    // resolve; owners may.
    let bob_id = bob.node.peer_id();
    bob.node.shutdown().await;
    let db = bob.dir.join(".tandem/tandem.db");
    let forged = {
        let stored = tandem::store::Store::open(&db, Default::default())
            .unwrap()
            .load_doc("review")
            .unwrap();
        let doc = yrs::Doc::with_client_id(tandem::docs::client_id_for(&alice.node.peer_id(), 60_000));
        use yrs::updates::decoder::Decode;
        use yrs::{Array, ReadTxn, Transact};
        let ops = doc.get_or_insert_array(tandem::review::OPS);
        for bytes in stored.snapshot.iter().chain(stored.updates.iter().map(|(_, b)| b)) {
            doc.transact_mut()
                .apply_update(yrs::Update::decode_v1(bytes).unwrap())
                .unwrap();
        }
        let before = doc.transact().state_vector();
        let op: std::collections::HashMap<String, yrs::Any> = [
            ("op".to_string(), yrs::Any::from("resolve")),
            ("thread".to_string(), yrs::Any::from(thread.as_str())),
            ("at".to_string(), yrs::Any::from(2e9)),
        ]
        .into();
        ops.push_back(&mut doc.transact_mut(), yrs::Any::from(op));
        let update = doc.transact().encode_diff_v1(&before);
        update
    };
    // And a members entry making him owner, so that his own peer now sends everything it holds.
    let promoted = {
        let doc = yrs::Doc::with_client_id(tandem::docs::client_id_for(&alice.node.peer_id(), 60_001));
        let map = doc.get_or_insert_map(tandem::docs::MEMBERS);
        let record: std::collections::HashMap<String, yrs::Any> = [
            ("role".to_string(), yrs::Any::from("owner")),
            ("name".to_string(), yrs::Any::from("bob")),
            ("added_by".to_string(), yrs::Any::from(alice.node.peer_id().to_string())),
            ("added_at".to_string(), yrs::Any::from(1.0)),
        ]
        .into();
        use yrs::{Map, Transact};
        let mut txn = doc.transact_mut();
        map.insert(&mut txn, bob_id.to_string(), yrs::Any::from(record));
        txn.encode_update_v1()
    };
    tandem::store::Store::open(&db, Default::default())
        .unwrap()
        .append(&[("review", forged.as_slice()), ("members", promoted.as_slice())])
        .unwrap();
    let bob = restart(bob, "bob").await;
    assert_eq!(
        state_at(&bob).await,
        Some(ThreadState::Resolved),
        "bob's own copy holds the forgery"
    );

    assert_eq!(
        role_at(&bob, &bob).await,
        Some(Role::Owner),
        "bob's peer believes he is an owner"
    );

    // Carol (and alice) sync from bob, who sends them everything: neither the op nor the
    // promotion is taken; the thread stays open and bob a viewer.
    let bob_addr = bob.node.listen_addrs()[0]
        .clone()
        .with(libp2p::multiaddr::Protocol::P2p(bob_id));
    for peer in [&alice, &carol] {
        peer.node.dial(bob_addr.clone());
        wait_for(&[&peer.node], "a sync with bob", || async {
            peer.node.sync_with(bob_id).await.is_ok()
        })
        .await;
        assert_eq!(state_at(peer).await, Some(ThreadState::Open));
        assert_eq!(role_at(peer, &bob).await, Some(Role::Viewer));
    }
    // The others are unharmed. (Bob's own later ops build on the forged one, so they wait for it
    // everywhere: a tampered peer only silences itself.)
    carol
        .node
        .comment("a.txt", 2, 2, tandem::review::CommentKind::Question, "carol asks", None)
        .await
        .unwrap();
    wait_for(&[&alice.node], "carol's comment reaches alice", || async {
        alice
            .node
            .review_state()
            .await
            .unwrap()
            .0
            .iter()
            .any(|t| t.body == "carol asks")
    })
    .await;
    assert_eq!(state_at(&carol).await, Some(ThreadState::Open));
}
