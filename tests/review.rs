//! Review comments, approvals and chat between real peers on loopback.

mod common;

use common::*;
use tandem::core::ReviewCmd;
use tandem::review::{CommentKind, Thread, ThreadState};
use tandem::{Event, Node, Role};
use yrs::{Array, Transact};

const CODE: &str = "fn a() {}\nfn b() {}\nfn c() {}\nfn d() {}\n";

async fn threads(node: &Node) -> Vec<Thread> {
    node.review_state().await.unwrap().0
}

async fn thread(node: &Node, id: &str) -> Option<Thread> {
    threads(node).await.into_iter().find(|t| t.id == id)
}

async fn three() -> (Peer, Peer, Peer) {
    let alice = owner(&[("src/lib.rs", CODE)]).await;
    let bob = joined(&alice, "bob").await;
    let carol = joined(&alice, "carol").await;
    converged(&[&alice, &bob, &carol]).await;
    (alice, bob, carol)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_made_on_one_peer_appears_on_two_others_with_its_file_and_lines() {
    let (alice, bob, carol) = three().await;
    let id = alice
        .node
        .comment("src/lib.rs", 2, 3, CommentKind::Question, "why two?", None)
        .await
        .unwrap();
    for peer in [&bob, &carol] {
        wait_for(&[&peer.node], "the comment arrives", || async {
            thread(&peer.node, &id).await.is_some()
        })
        .await;
        let t = thread(&peer.node, &id).await.unwrap();
        assert_eq!((t.file.as_str(), t.start_line, t.end_line), ("src/lib.rs", 2, 3));
        assert_eq!(
            (t.kind, t.state, t.author_name.as_str()),
            (CommentKind::Question, ThreadState::Open, "alice")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_follows_its_code_when_lines_move_above_it_on_another_peer() {
    let (alice, bob, _carol) = three().await;
    let id = alice
        .node
        .comment("src/lib.rs", 3, 3, CommentKind::Issue, "c is wrong", None)
        .await
        .unwrap();
    wait_for(&[&bob.node], "bob has the comment", || async {
        thread(&bob.node, &id).await.is_some()
    })
    .await;

    let forty: String = (0..40).map(|i| format!("// new line {i}\n")).collect();
    // Saved the way editors save (temp file + rename), so the watcher never sees it half-written.
    let moved = format!("{forty}fn b() {{}}\nfn c() {{}}\nfn d() {{}}\n"); // +40 lines, -1 line
    atomic_save(&bob.path("src/lib.rs"), &moved);
    wait_for(&[&alice.node], "the comment moved to line 42 on alice", || async {
        thread(&alice.node, &id)
            .await
            .is_some_and(|t| (t.start_line, t.end_line) == (42, 42))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_commented_code_keeps_the_thread_as_outdated() {
    let (alice, bob, _carol) = three().await;
    let id = alice
        .node
        .comment("src/lib.rs", 2, 3, CommentKind::Issue, "these two", None)
        .await
        .unwrap();
    atomic_save(&bob.path("src/lib.rs"), "fn a() {}\nfn d() {}\n");
    wait_for(&[&alice.node], "the thread is outdated, still listed", || async {
        thread(&alice.node, &id)
            .await
            .is_some_and(|t| t.state == ThreadState::Outdated)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_and_replies_made_while_partitioned_all_arrive_in_the_same_order_everywhere() {
    let (alice, bob, carol) = three().await;
    let id = alice
        .node
        .comment("src/lib.rs", 1, 1, CommentKind::Question, "a?", None)
        .await
        .unwrap();
    wait_for(&[&bob.node], "bob has the thread", || async {
        thread(&bob.node, &id).await.is_some()
    })
    .await;

    bob.node.set_offline(true);
    wait_for(&[&bob.node], "bob is cut off", || async {
        bob.node.status().await.unwrap().peers.is_empty()
    })
    .await;
    for i in 0..3 {
        let (a, b) = (format!("alice {i}"), format!("bob {i}"));
        alice
            .node
            .review(ReviewCmd::Reply {
                id: format!("ra{i}"),
                thread: id.clone(),
                body: a,
            })
            .await
            .unwrap();
        bob.node
            .review(ReviewCmd::Reply {
                id: format!("rb{i}"),
                thread: id.clone(),
                body: b,
            })
            .await
            .unwrap();
    }
    let bob_thread = bob
        .node
        .comment("src/lib.rs", 4, 4, CommentKind::Praise, "nice d", None)
        .await
        .unwrap();
    bob.node.set_offline(false);

    let order = |t: Thread| t.replies.iter().map(|r| r.body.clone()).collect::<Vec<_>>();
    wait_for(
        &[&alice.node, &bob.node, &carol.node],
        "every reply and comment everywhere",
        || async {
            for p in [&alice, &bob, &carol] {
                let ts = threads(&p.node).await;
                if ts.len() != 2 || ts.iter().find(|t| t.id == id).is_none_or(|t| t.replies.len() != 6) {
                    return false;
                }
            }
            true
        },
    )
    .await;
    let reference = order(thread(&alice.node, &id).await.unwrap());
    for p in [&bob, &carol] {
        assert_eq!(
            order(thread(&p.node, &id).await.unwrap()),
            reference,
            "replies in a stable order"
        );
        assert!(thread(&p.node, &bob_thread).await.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_suggestion_changes_the_file_on_every_peer() {
    let (alice, bob, carol) = three().await;
    let id = bob
        .node
        .comment(
            "src/lib.rs",
            2,
            2,
            CommentKind::Suggestion,
            "name it",
            Some("fn better_b() {}"),
        )
        .await
        .unwrap();
    wait_for(&[&alice.node], "alice has the suggestion", || async {
        thread(&alice.node, &id).await.is_some()
    })
    .await;
    alice
        .node
        .review(ReviewCmd::Apply { thread: id.clone() })
        .await
        .unwrap();
    let want = "fn a() {}\nfn better_b() {}\nfn c() {}\nfn d() {}\n";
    for p in [&alice, &bob, &carol] {
        wait_for(&[&p.node], "the file changed on disk", || async {
            p.read("src/lib.rs").as_deref() == Some(want)
        })
        .await;
        wait_for(&[&p.node], "the suggestion shows applied", || async {
            thread(&p.node, &id)
                .await
                .is_some_and(|t| t.state == ThreadState::Applied)
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_arriving_in_different_orders_give_the_same_outcome_everywhere() {
    let (alice, bob, carol) = three().await;
    let rid = "rev1".to_string();
    let req = ReviewCmd::Request {
        id: rid.clone(),
        files: vec![tandem::workspace::RelPath::new("src/lib.rs").unwrap()],
        approvals: 2,
        title: "t".into(),
    };
    alice.node.review(req).await.unwrap();
    for p in [&bob, &carol] {
        wait_for(&[&p.node], "the request arrives", || async {
            !p.node.review_state().await.unwrap().1.is_empty()
        })
        .await;
    }
    // Each votes while cut off from the others; the votes meet only on reconnection.
    bob.node.set_offline(true);
    carol.node.set_offline(true);
    let vote = |approve: bool| ReviewCmd::Vote {
        review: rid.clone(),
        approve,
        reason: "meh".into(),
    };
    bob.node.review(vote(false)).await.unwrap();
    bob.node.review(vote(true)).await.unwrap();
    carol.node.review(vote(true)).await.unwrap();
    bob.node.set_offline(false);
    carol.node.set_offline(false);
    for p in [&alice, &bob, &carol] {
        wait_for(&[&p.node], "approved everywhere", || async {
            let reviews = p.node.review_state().await.unwrap().1;
            reviews[0].votes.len() == 2 && reviews[0].outcome == "approved"
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewers_edit_is_refused_while_their_comment_is_accepted_and_nobody_deletes_anothers_comment() {
    let alice = owner(&[("src/lib.rs", CODE)]).await;
    let bob = joined(&alice, "bob").await;
    let vic = joined_as(&alice, "vic", Role::Viewer).await;
    converged(&[&alice, &bob, &vic]).await;

    let id = vic
        .node
        .comment("src/lib.rs", 1, 1, CommentKind::Question, "may I ask?", None)
        .await
        .unwrap();
    wait_for(&[&alice.node], "the viewer's comment is accepted", || async {
        thread(&alice.node, &id).await.is_some()
    })
    .await;
    let err = vic.node.set_text("src/lib.rs", "vandalised\n").await.unwrap_err();
    assert!(err.to_string().contains("does not allow editing"), "{err}");
    // Hostile viewer: a raw update under its own client id, straight onto the wire.
    let forged = {
        let doc = yrs::Doc::with_client_id(tandem::docs::client_id_for(&vic.node.peer_id(), 0));
        let content = doc.get_or_insert_text("content");
        let mut txn = doc.transact_mut();
        yrs::Text::insert(&content, &mut txn, 0, "vandalised ");
        txn.encode_update_v1()
    };
    let mut refused = alice.node.subscribe();
    vic.node
        .debug_publish(tandem::wire::Envelope::update("f:src/lib.rs", forged).encode());
    let got = tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ok(Event::Refused { .. }) = refused.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(got.is_ok(), "alice reports the refused edit");
    assert_eq!(alice.node.text("src/lib.rs").await.unwrap().as_deref(), Some(CODE));

    wait_for(&[&bob.node], "bob has the viewer's comment", || async {
        thread(&bob.node, &id).await.is_some()
    })
    .await;
    // Bob tries to delete the viewer's comment: refused locally ...
    let err = bob
        .node
        .review(ReviewCmd::Delete { target: id.clone() })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("only its author"), "{err}");
    // ... and, forged onto the wire as his own op, ignored by every peer's fold.
    let forged_delete = {
        let doc = yrs::Doc::with_client_id(tandem::docs::client_id_for(&bob.node.peer_id(), 0));
        let ops = doc.get_or_insert_array("ops");
        let mut txn = doc.transact_mut();
        ops.insert(
            &mut txn,
            0,
            tandem::review::op(&[("op", "delete".into()), ("target", id.as_str().into())]),
        );
        txn.encode_update_v1()
    };
    bob.node
        .debug_publish(tandem::wire::Envelope::update("review", forged_delete).encode());
    bob.node
        .review(ReviewCmd::Chat {
            text: "after the forgery".into(),
        })
        .await
        .unwrap();
    wait_for(&[&alice.node], "alice has taken in bob's later message", || async {
        alice
            .node
            .chat_log()
            .await
            .unwrap()
            .iter()
            .any(|m| m.text == "after the forgery")
    })
    .await;
    for p in [&alice, &bob, &vic] {
        assert!(
            thread(&p.node, &id).await.is_some(),
            "the viewer's comment survives everywhere"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_on_a_missing_file_or_past_the_end_is_a_clear_error_and_stores_nothing() {
    let alice = owner(&[("src/lib.rs", CODE)]).await;
    wait_for(&[&alice.node], "the file is in", || async {
        alice.node.text("src/lib.rs").await.unwrap().is_some()
    })
    .await;
    let err = alice
        .node
        .comment("nope.rs", 1, 1, CommentKind::Issue, "x", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no such file"), "{err}");
    let err = alice
        .node
        .comment("src/lib.rs", 4, 9, CommentKind::Issue, "x", None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("line 9 is past the end of src/lib.rs (4 lines)"),
        "{err}"
    );
    let err = alice
        .node
        .comment("../etc/passwd", 1, 1, CommentKind::Issue, "x", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unacceptable path"), "{err}");
    assert!(threads(&alice.node).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_reviews_and_chat_survive_a_restart_and_mentions_notify() {
    let alice = owner(&[("src/lib.rs", CODE)]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;
    let id = alice
        .node
        .comment("src/lib.rs", 2, 2, CommentKind::Praise, "good b", None)
        .await
        .unwrap();
    alice
        .node
        .review(ReviewCmd::Resolve { thread: id.clone() })
        .await
        .unwrap();
    let mut bobs = bob.node.subscribe();
    alice
        .node
        .review(ReviewCmd::Chat {
            text: "@bob please look".into(),
        })
        .await
        .unwrap();
    let mentioned = tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ok(Event::Mentioned { by, text }) = bobs.recv().await {
                return (by, text);
            }
        }
    })
    .await
    .expect("bob is notified of the mention");
    assert_eq!(mentioned, ("alice".to_string(), "@bob please look".to_string()));

    let alice = restart(alice, "alice").await;
    let t = thread(&alice.node, &id).await.expect("the thread survives a restart");
    assert_eq!((t.state, t.start_line), (ThreadState::Resolved, 2));
    assert_eq!(alice.node.chat_log().await.unwrap().len(), 1);
}
