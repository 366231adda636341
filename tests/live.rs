//! Presence, agents, metrics and alerts between real peers on loopback.

mod common;

use common::*;
use tandem::agents::{AgentStatus, AgentUpdate};
use tandem::node::live::AgentOp;
use tandem::presence::Status;
use tandem::{Event, Node};

async fn agent_status(node: &Node, name: &str) -> Option<AgentStatus> {
    node.live_view()
        .await
        .unwrap()
        .agents
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.status)
}

async fn sees(node: &Node, name: &str, status: Status) -> bool {
    node.live_view()
        .await
        .unwrap()
        .peers
        .iter()
        .any(|p| p.name == name && p.status == status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_peers_see_each_other_online_and_a_stopped_one_goes_offline_within_the_ttl() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let bob = joined(&alice, "bob").await;
    let carol = joined(&alice, "carol").await;
    for (p, others) in [
        (&alice, ["bob", "carol"]),
        (&bob, ["alice", "carol"]),
        (&carol, ["alice", "bob"]),
    ] {
        for other in others {
            wait_for(&[&p.node], "online with its name", || async {
                sees(&p.node, other, Status::Online).await
            })
            .await;
        }
    }
    carol.node.shutdown().await;
    wait_for(&[&alice.node], "carol shown offline", || async {
        sees(&alice.node, "carol", Status::Offline).await
    })
    .await;
    let status = alice.node.status().await.unwrap();
    let c = status.peers.iter().find(|p| p.name == "carol").unwrap();
    assert!(c.last_seen.unwrap() > 0 && c.status == Status::Offline);
    let json = serde_json::to_value(&status).unwrap();
    for key in ["id", "name", "status", "file", "last_seen"] {
        assert!(json["peers"][0].get(key).is_some(), "peers[] has {key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_registered_and_updated_on_one_peer_is_seen_on_another() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let bob = joined(&alice, "bob").await;
    alice
        .node
        .agent(
            "tests",
            AgentOp::Register {
                kind: "test-runner".into(),
            },
        )
        .await
        .unwrap();
    let update = AgentUpdate {
        task: Some("Run tests".into()),
        progress: Some(40),
        subtasks: vec!["unit=done".into(), "e2e=todo".into()],
        ..Default::default()
    };
    alice.node.agent("tests", AgentOp::Update(update)).await.unwrap();
    wait_for(&[&bob.node], "bob sees the agent's task and progress", || async {
        bob.node.live_view().await.unwrap().agents.iter().any(|a| {
            a.name == "tests"
                && a.peer == alice.node.peer_id().to_string()
                && a.status == AgentStatus::Working
                && a.task
                    .as_ref()
                    .is_some_and(|t| t.title == "Run tests" && t.progress == 40 && t.subtasks.len() == 2)
        })
    })
    .await;
    alice
        .node
        .agent("tests", AgentOp::Fail("exit code 2".into()))
        .await
        .unwrap();
    wait_for(&[&bob.node], "bob sees it failed", || async {
        agent_status(&bob.node, "tests").await == Some(AgentStatus::Error)
    })
    .await;
    alice.node.shutdown().await;
    wait_for(&[&bob.node], "the agent shows offline with its host", || async {
        agent_status(&bob.node, "tests").await == Some(AgentStatus::Offline)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_agent_comments_on_exactly_the_conflict_and_the_private_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("alice");
    Node::init(&dir).unwrap();
    let mut cfg = config(&dir, "alice");
    cfg.review_agent = true;
    let alice = Peer {
        node: Node::start(cfg).await.unwrap(),
        dir,
        tmp: Some(tmp),
    };
    let bob = joined(&alice, "bob").await;
    let text = "fn main() {\n<<<<<<< HEAD\n    a();\n=======\n    b();\n>>>>>>> other\n}\n\
                -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n";
    alice.write("src/main.rs", text);
    wait_for(&[&bob.node], "bob sees the review agent's two comments", || async {
        bob.node
            .review_state()
            .await
            .unwrap()
            .0
            .iter()
            .filter(|t| t.agent.as_deref() == Some("review"))
            .count()
            == 2
    })
    .await;
    let mut spans: Vec<(usize, usize)> = bob
        .node
        .review_state()
        .await
        .unwrap()
        .0
        .iter()
        .filter(|t| t.agent.as_deref() == Some("review"))
        .map(|t| (t.start_line, t.end_line))
        .collect();
    spans.sort();
    assert_eq!(spans, vec![(2, 6), (8, 10)]);
    let (threads, _) = bob.node.review_state().await.unwrap();
    assert!(
        threads.iter().all(|t| !t.body.contains("MIIEow")),
        "no key material in comments"
    );
    // Saved again unchanged: no second comment for the same finding.
    alice.write("src/main.rs", &format!("{text}\n"));
    wait_for(&[&alice.node], "the agent is idle again", || async {
        alice.node.live_view().await.unwrap().agents.iter().any(|a| {
            a.name == "review" && a.status == AgentStatus::Idle && a.task.as_ref().is_some_and(|t| t.progress == 100)
        })
    })
    .await;
    let n = alice
        .node
        .review_state()
        .await
        .unwrap()
        .0
        .iter()
        .filter(|t| t.agent.as_deref() == Some("review"))
        .count();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_peers_metrics_reach_every_peer_with_plausible_values() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let bob = joined(&alice, "bob").await;
    let ids = [alice.node.peer_id().to_string(), bob.node.peer_id().to_string()];
    for p in [&alice, &bob] {
        wait_for(&[&p.node], "metrics of both peers", || async {
            let m = p.node.live_view().await.unwrap().metrics;
            ids.iter().all(|id| m.contains_key(id))
        })
        .await;
        for (id, m) in p.node.live_view().await.unwrap().metrics {
            assert!((0.0..=100.0).contains(&m.cpu_percent), "{id}: cpu {}", m.cpu_percent);
            assert!(
                m.mem_total > 0 && m.mem_used <= m.mem_total,
                "{id}: mem {}/{}",
                m.mem_used,
                m.mem_total
            );
            assert!(m.net_rx_bps >= 0.0 && m.net_tx_bps >= 0.0);
        }
    }
    let json = serde_json::to_value(alice.node.status().await.unwrap()).unwrap();
    for key in [
        "cpu_percent",
        "mem_used",
        "mem_total",
        "net_rx_bps",
        "net_tx_bps",
        "disk_free",
        "sync_latency_ms",
    ] {
        assert!(json["metrics"][&ids[1]].get(key).is_some(), "metrics has {key}");
    }
    assert!(!alice.node.metrics_series(&ids[1]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_fire_once_and_clear_when_the_condition_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("alice");
    Node::init(&dir).unwrap();
    std::fs::write(
        dir.join(".tandem/config.toml"),
        "[alerts]\ncpu_percent = 0\ncpu_for_secs = 0\n",
    )
    .unwrap();
    let node = Node::start(config(&dir, "alice")).await.unwrap();
    let mut events = node.subscribe();
    node.agent("ci", AgentOp::Register { kind: "build".into() })
        .await
        .unwrap();
    node.agent("ci", AgentOp::Fail("exit code 1".into())).await.unwrap();
    let (mut fired, mut cleared) = (Vec::new(), Vec::new());
    let done = tokio::time::timeout(DEADLINE, async {
        loop {
            match events.recv().await {
                Ok(Event::Alert {
                    change: tandem::alerts::Change::Fired(a),
                }) => {
                    fired.push(a.rule.clone());
                    if a.rule == "agent_failed" {
                        node.agent("ci", AgentOp::Done).await.unwrap();
                    }
                }
                Ok(Event::Alert {
                    change: tandem::alerts::Change::Cleared(a),
                }) if a.rule == "agent_failed" => {
                    cleared.push(a.rule.clone());
                    return;
                }
                _ => {}
            }
        }
    })
    .await;
    assert!(done.is_ok(), "the agent alert fired and cleared: fired {fired:?}");
    assert_eq!(fired.iter().filter(|r| *r == "agent_failed").count(), 1);
    assert!(
        fired.iter().filter(|r| *r == "cpu").count() <= 1,
        "the cpu alert fires once: {fired:?}"
    );
    assert!(node
        .status()
        .await
        .unwrap()
        .alerts
        .iter()
        .all(|a| a.rule != "agent_failed"));
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_in_another_peers_name_is_not_taken() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let bob = joined(&alice, "bob").await;
    wait_for(&[&alice.node], "alice sees bob", || async {
        sees(&alice.node, "bob", Status::Online).await
    })
    .await;
    // Bob's peer claims to be alice, with an agent, in a correctly signed message of its own.
    let forged = tandem::presence::State {
        name: "alice".into(),
        agents: vec![tandem::agents::Agent::new("fake", "x")],
        seq: u64::MAX / 2,
        ..Default::default()
    };
    bob.node
        .debug_publish(tandem::wire::Envelope::presence(forged.encode()).encode());
    wait_for(&[&alice.node], "the forged agent shows, under bob", || async {
        alice
            .node
            .live_view()
            .await
            .unwrap()
            .agents
            .iter()
            .any(|a| a.name == "fake")
    })
    .await;
    let view = alice.node.live_view().await.unwrap();
    let fake = view.agents.iter().find(|a| a.name == "fake").unwrap();
    assert_eq!(
        fake.peer,
        bob.node.peer_id().to_string(),
        "an agent is its sender's, whatever it claims"
    );
    let named_alice: Vec<_> = view.peers.iter().filter(|p| p.name == "alice").collect();
    assert_eq!(named_alice.len(), 1);
    assert!(named_alice[0].me, "only alice herself is called alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caret_set_through_the_control_api_reaches_the_other_peer_on_that_character() {
    use tandem::control::{call, serve, Request};
    use yrs::updates::decoder::Decode;
    use yrs::Transact;
    let alice = owner(&[("src/main.rs", "fn main() {\n    println!(\"héllo\");\n}\n")]).await;
    let bob = joined(&alice, "bob").await;
    wait_for(&[&bob.node], "the file on bob", || async {
        bob.read("src/main.rs").is_some()
    })
    .await;
    let socket = bob.dir.join(".tandem/test-control.sock");
    serve(bob.node.clone(), &socket).await.unwrap();

    // Line 2, column 16: the `é` (two bytes) of `    println!("héllo");`.
    let at = |line, col| Request::Presence {
        file: "src/main.rs".into(),
        line,
        col,
    };
    call(&bob.dir, &socket, &at(2, 16)).await.unwrap();
    let past = call(&bob.dir, &socket, &at(9, 1)).await.unwrap_err().to_string();
    assert!(past.contains("past the end"), "{past}");

    let caret = || async {
        let view = alice.node.live_view().await.unwrap();
        let bob = view.peers.into_iter().find(|p| p.name == "bob");
        bob.filter(|p| p.file.as_deref() == Some("src/main.rs"))
            .and_then(|p| p.cursor)
    };
    wait_for(&[&alice.node], "bob's caret in src/main.rs", || async {
        caret().await.is_some()
    })
    .await;
    let cursor = caret().await.unwrap();
    assert_eq!(cursor.anchor, cursor.head, "a caret, no selection");

    // Where it points in alice's own replica of the file.
    let update = alice.node.doc_diff("f:src/main.rs", Vec::new()).await.unwrap();
    let replica = yrs::Doc::with_options(yrs::Options {
        offset_kind: yrs::OffsetKind::Bytes,
        ..Default::default()
    });
    let content = replica.get_or_insert_text("content");
    replica
        .transact_mut()
        .apply_update(yrs::Update::decode_v1(&update).unwrap())
        .unwrap();
    let txn = replica.transact();
    let text = yrs::GetString::get_string(&content, &txn);
    let offset = yrs::StickyIndex::decode_v1(&cursor.head)
        .unwrap()
        .get_offset(&txn)
        .unwrap()
        .index as usize;
    assert!(
        text[offset..].starts_with("éllo"),
        "the caret is at {:?}",
        &text[offset..]
    );
}

async fn shown_as(node: &Node, peer: &Node) -> Option<(String, String)> {
    let id = peer.peer_id().to_string();
    node.live_view()
        .await
        .unwrap()
        .peers
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| (p.name, p.colour))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_renames_and_recolours_itself_live_and_it_lasts() {
    let alice = owner(&[("a.txt", "a\n")]).await;
    let bob = joined_as(&alice, "bob", tandem::Role::Viewer).await;
    bob.node
        .review(tandem::core::ReviewCmd::Chat { text: "hello".into() })
        .await
        .unwrap();
    wait_for(&[&alice.node], "alice sees bob", || async {
        sees(&alice.node, "bob", Status::Online).await
    })
    .await;
    let mut events = alice.node.subscribe();

    // A viewer too may choose its name and colour; no restart.
    let (name, colour) = bob.node.set_profile(Some("robert"), Some("#12AB9F")).await.unwrap();
    assert_eq!((name.as_str(), colour.as_str()), ("robert", "#12ab9f"));
    wait_for(&[&alice.node], "alice shows bob as robert in his colour", || async {
        shown_as(&alice.node, &bob.node).await == Some(("robert".into(), "#12ab9f".into()))
    })
    .await;
    let evented = std::iter::from_fn(|| events.try_recv().ok())
        .any(|e| matches!(e, Event::PresenceChanged { ref peer } if *peer == bob.node.peer_id().to_string()));
    assert!(evented, "the change reached alice's subscribers as presence_changed");
    wait_for(&[&alice.node], "bob's chat message shows under robert", || async {
        alice
            .node
            .chat_log()
            .await
            .unwrap()
            .iter()
            .any(|m| m.author_name == "robert")
    })
    .await;
    assert_eq!(bob.node.profile().await.unwrap().0, "robert");
    assert_eq!(bob.node.status().await.unwrap().name, "robert");
    let bob_id = bob.node.peer_id().to_string();
    wait_for(
        &[&alice.node],
        "alice's status lists bob's member record as robert",
        || async { alice.node.status().await.unwrap().docs.members[&bob_id].name == "robert" },
    )
    .await;

    // Someone else's name is refused with a reason, and nothing changes.
    let err = bob.node.set_profile(Some("Alice"), None).await.unwrap_err().to_string();
    assert!(err.contains("another member"), "{err}");
    assert!(bob.node.set_profile(Some("two words"), None).await.is_err());
    assert!(bob.node.set_profile(None, Some("blue")).await.is_err());
    assert_eq!(bob.node.profile().await.unwrap().0, "robert");

    // @robert reaches him; and the profile is kept across a restart of both peers.
    let mut bob_events = bob.node.subscribe();
    alice
        .node
        .review(tandem::core::ReviewCmd::Chat {
            text: "thanks @robert".into(),
        })
        .await
        .unwrap();
    let mentioned = event_arrives(&mut bob_events, |e| matches!(e, Event::Mentioned { .. })).await;
    assert!(mentioned, "a mention of the new name notifies bob");
    let bob = restart(bob, "bob").await;
    assert_eq!(bob.node.profile().await.unwrap(), ("robert".into(), "#12ab9f".into()));
    let alice = restart(alice, "alice").await;
    wait_for(
        &[&alice.node, &bob.node],
        "after restarts, alice still shows robert",
        || async { shown_as(&alice.node, &bob.node).await == Some(("robert".into(), "#12ab9f".into())) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_thresholds_saved_while_running_are_in_force_at_once_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("alice");
    Node::init(&dir).unwrap();
    let node = Node::start(config(&dir, "alice")).await.unwrap();
    let mut events = node.subscribe();
    let mut rules = node.alert_rules().unwrap();
    assert_eq!(rules.cpu_percent, 90.0, "the defaults at first");
    // Any CPU use is over 0 %, from now on: the cpu alert fires without a restart.
    rules.cpu_percent = 0.0;
    rules.cpu_for_secs = 0;
    node.set_alert_rules(rules.clone()).unwrap();
    let fired = event_arrives(
        &mut events,
        |e| matches!(e, Event::Alert { change: tandem::alerts::Change::Fired(a) } if a.rule == "cpu"),
    )
    .await;
    assert!(fired, "the cpu alert fired under the new threshold");
    assert_eq!(node.alert_rules().unwrap(), rules, "saved to .tandem/config.toml");
    let mut bad = rules.clone();
    bad.cpu_percent = 250.0;
    assert!(
        node.set_alert_rules(bad).is_err(),
        "a threshold out of range is refused"
    );
    assert_eq!(node.alert_rules().unwrap(), rules, "and nothing was saved");
    node.shutdown().await;
}
