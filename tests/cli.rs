//! The `tandem` command line, as real processes: init, serve, invite, join, status, and a kill -9.

mod common;

use common::DEADLINE;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

fn tandem(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = tandem(args);
    assert!(
        out.status.success(),
        "tandem {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A `tandem` process serving a folder; killed when dropped.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tandem ARGS` and waits for its first log line, which names the peer and its addresses.
fn spawn(args: &[&str]) -> (Serving, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .env(
            "RUST_LOG",
            std::env::var("CHILD_LOG").unwrap_or_else(|_| "tandem=info".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("a first log line").unwrap();
    // Keep draining stderr so the child never blocks on a full pipe; with CHILD_LOG set (say
    // CHILD_LOG=tandem=debug), keep it in a file for a failing run.
    let log =
        std::env::var_os("CHILD_LOG").map(|_| std::env::temp_dir().join(format!("tandem-child-{}.log", child.id())));
    if let Some(log) = &log {
        eprintln!("child log: {}", log.display());
    }
    std::thread::spawn(move || {
        use std::io::Write;
        let mut file = log.and_then(|l| std::fs::File::create(l).ok());
        for l in lines.by_ref().map_while(Result::ok) {
            if let Some(f) = &mut file {
                let _ = writeln!(f, "{l}");
            }
        }
    });
    (Serving(child), first)
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        // Another process's state can only be polled: look again shortly.
        std::thread::park_timeout(std::time::Duration::from_millis(20));
    }
}

fn answers(dir: &Path) -> bool {
    tandem(&["status", dir.to_str().unwrap()]).status.success()
}

/// `tandem serve DIR --name NAME` on loopback, once its control socket answers.
fn serve(dir: &Path, name: &str) -> Serving {
    let d = dir.to_str().unwrap();
    let (peer, _) = spawn(&[
        "serve",
        d,
        "--name",
        name,
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
    ]);
    wait_until(&format!("{name} answers"), || answers(dir));
    peer
}

/// `tandem join CODE DIR --name NAME` on loopback, once joined (its control socket answers).
fn join(code: &str, dir: &Path, name: &str) -> Serving {
    let d = dir.to_str().unwrap();
    let (peer, _) = spawn(&[
        "join",
        code.trim(),
        d,
        "--name",
        name,
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
    ]);
    wait_until(&format!("{name} joined"), || answers(dir));
    peer
}

fn status_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(&["status", dir.to_str().unwrap(), "--json"])).unwrap()
}

#[test]
fn init_serve_invite_join_then_edits_flow_both_ways_and_status_reports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("alice");
    let b = tmp.path().join("bob");
    std::fs::create_dir_all(a.join("src")).unwrap();
    std::fs::write(a.join("src/lib.rs"), "pub fn hello() {}\n").unwrap();
    std::fs::write(a.join("logo.png"), [0x89, b'P', b'N', b'G', 0, 0, 1, 2]).unwrap();
    ok(&["init", a.to_str().unwrap()]);

    let again = tandem(&["init", a.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already a Tandem workspace"));

    let (_alice, first) = spawn(&[
        "serve",
        a.to_str().unwrap(),
        "--name",
        "alice",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
    ]);
    assert!(
        first.contains("peer 12D3") && first.contains("/ip4/127.0.0.1/tcp/"),
        "{first}"
    );
    wait_until("alice's control socket answers", || {
        tandem(&["status", a.to_str().unwrap()]).status.success()
    });
    let code = ok(&["invite", a.to_str().unwrap()]);
    let code = code.trim();
    assert!(code.starts_with("tandem1_") && !code.contains('\n'));

    let (_bob, _) = spawn(&[
        "join",
        code,
        b.to_str().unwrap(),
        "--name",
        "bob",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
    ]);
    wait_until("bob's folder fills in", || {
        std::fs::read_to_string(b.join("src/lib.rs")).is_ok_and(|t| t == "pub fn hello() {}\n")
    });
    wait_until("bob's control socket answers", || {
        tandem(&["status", b.to_str().unwrap()]).status.success()
    });

    std::fs::write(b.join("src/lib.rs"), "pub fn hello() {}\npub fn bye() {}\n").unwrap();
    std::fs::write(a.join("README.md"), "# project\n").unwrap();
    wait_until("edits cross both ways", || {
        std::fs::read_to_string(a.join("src/lib.rs")).is_ok_and(|t| t.contains("bye"))
            && std::fs::read_to_string(b.join("README.md")).is_ok_and(|t| t == "# project\n")
    });

    let s = status_json(&a);
    let peers = s["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 1, "{s}");
    assert_eq!(peers[0]["name"], "bob");
    let files: Vec<&str> = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"src/lib.rs") && files.contains(&"README.md"),
        "{files:?}"
    );
    let skipped = s["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|f| f["path"] == "logo.png" && f["reason"].as_str().unwrap().contains("binary")),
        "{skipped:?}"
    );
    let hash_a: Vec<_> = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["hash"].clone())
        .collect();
    wait_until("bob's status shows the same hashes", || {
        let sb = status_json(&b);
        sb["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["hash"].clone())
            .collect::<Vec<_>>()
            == hash_a
    });
}

#[test]
fn status_without_a_running_peer_says_how_to_start_one() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("ws");
    ok(&["init", a.to_str().unwrap()]);
    let out = tandem(&["status", a.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no peer is running for") && err.contains("tandem serve"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "errors are one line: {err}");

    let out = tandem(&["status", tmp.path().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("tandem init"));
    let out = tandem(&["join", "not-a-code", tmp.path().join("j").to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid invite code"));
}

#[test]
fn an_edit_acknowledged_just_before_kill_9_is_there_after_restart_and_syncs() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("alice");
    let b = tmp.path().join("bob");
    ok(&["init", a.to_str().unwrap()]);
    let serve_a = [
        "serve",
        a.to_str().unwrap(),
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
    ];
    let (alice, _) = spawn(&serve_a);
    wait_until("alice's control socket answers", || {
        tandem(&["status", a.to_str().unwrap()]).status.success()
    });
    let code = ok(&["invite", a.to_str().unwrap()]);
    let bob = join(&code, &b, "bob");
    // Bob goes away first, so only a sync exchange after the restarts can bring him the edit.
    drop(bob);

    // Acknowledged over the control socket means stored; then the process dies at once.
    let socket = a.join(".tandem/control.sock");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let req = tandem::control::Request::SetText {
        path: "acked.txt".into(),
        text: "kept\n".into(),
    };
    rt.block_on(tandem::control::call(&a, &socket, &req)).unwrap();
    let mut alice = alice;
    let pid = alice.0.id();
    assert!(Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let _ = alice.0.wait();
    drop(alice);

    let (_alice, _) = spawn(&serve_a);
    let (_bob, _) = spawn(&[
        "serve",
        b.to_str().unwrap(),
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
    ]);
    wait_until("the edit is on alice's disk after restart", || {
        std::fs::read_to_string(a.join("acked.txt")).is_ok_and(|t| t == "kept\n")
    });
    wait_until("and it reaches bob", || {
        std::fs::read_to_string(b.join("acked.txt")).is_ok_and(|t| t == "kept\n")
    });
}

#[test]
fn comments_reviews_and_chat_from_the_command_line_with_json_listings() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("alice");
    std::fs::create_dir_all(&a).unwrap();
    std::fs::write(a.join("main.rs"), "fn main() {\n    run();\n}\n").unwrap();
    ok(&["init", a.to_str().unwrap()]);
    let (_alice, _) = spawn(&[
        "serve",
        a.to_str().unwrap(),
        "--name",
        "alice",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
    ]);
    let ws = a.to_str().unwrap();
    wait_until("alice serves her file", || {
        tandem(&["-C", ws, "status", "--json"]).status.success()
            && status_json(&a)["files"].as_array().is_some_and(|f| f.len() == 1)
    });

    let id = ok(&[
        "-C",
        ws,
        "comment",
        "add",
        "main.rs:2",
        "rename run?",
        "--kind",
        "question",
    ]);
    let id = id.trim();
    ok(&["-C", ws, "comment", "reply", id, "yes please"]);
    ok(&["-C", ws, "comment", "edit", id, "call it start?"]);
    let sug = ok(&[
        "-C",
        ws,
        "comment",
        "add",
        "main.rs:2-2",
        "rename",
        "--suggest",
        "    start();",
    ]);
    ok(&["-C", ws, "comment", "apply", sug.trim()]);
    ok(&["-C", ws, "comment", "resolve", id]);

    let threads: serde_json::Value = serde_json::from_str(&ok(&["-C", ws, "comments", "--json"])).unwrap();
    let t = threads
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(t["file"], "main.rs");
    assert_eq!((t["start_line"].as_u64(), t["end_line"].as_u64()), (Some(2), Some(2)));
    assert_eq!(t["kind"], "question");
    assert_eq!(t["state"], "resolved");
    assert_eq!(t["body"], "call it start?");
    assert_eq!(t["replies"][0]["body"], "yes please");
    assert!(t["author"].as_str().unwrap().starts_with("12D3"));
    wait_until("the applied suggestion reaches the disk", || {
        std::fs::read_to_string(a.join("main.rs")).is_ok_and(|t| t == "fn main() {\n    start();\n}\n")
    });
    let open: serde_json::Value = serde_json::from_str(&ok(&["-C", ws, "comments", "--open", "--json"])).unwrap();
    assert!(open.as_array().unwrap().is_empty(), "{open}");

    let bad = tandem(&["-C", ws, "comment", "add", "main.rs:9", "past the end"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 9 is past the end of main.rs (3 lines)"));

    let rid = ok(&[
        "-C",
        ws,
        "review",
        "request",
        "main.rs",
        "Rename run",
        "--approvals",
        "1",
    ]);
    ok(&["-C", ws, "review", "approve", rid.trim()]);
    let reviews: serde_json::Value = serde_json::from_str(&ok(&["-C", ws, "reviews", "--json"])).unwrap();
    assert_eq!(reviews[0]["outcome"], "approved");
    assert_eq!(reviews[0]["files"][0], "main.rs");

    // A follower prints each message as it arrives, one JSON object a line.
    let mut follower = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["-C", ws, "chat", "log", "--follow", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(l);
        }
    });
    let start = Instant::now();
    // It subscribes on its own schedule: say something until it shows it has heard.
    'subscribed: for i in 0.. {
        assert!(start.elapsed() < DEADLINE, "the follower never printed a message");
        ok(&["-C", ws, "chat", "send", &format!("ping {i}")]);
        while let Ok(l) = lines.recv_timeout(std::time::Duration::from_millis(200)) {
            if l.contains("ping") && !l.starts_with('[') {
                break 'subscribed;
            }
        }
    }
    ok(&["-C", ws, "chat", "send", "hello @bob"]);
    let line = loop {
        let l = lines
            .recv_timeout(DEADLINE)
            .expect("the follower prints the new message");
        if l.contains("hello @bob") {
            break l;
        }
    };
    let _ = follower.kill();
    let _ = follower.wait();
    let msg: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(msg["author_name"], "alice");
    let log: serde_json::Value = serde_json::from_str(&ok(&["-C", ws, "chat", "log", "--json"])).unwrap();
    let hello = log
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "hello @bob")
        .unwrap();
    assert_eq!(hello["mentions"][0], "bob");
    assert_eq!(hello["author_name"], "alice");
}

#[test]
fn agent_run_of_a_failing_command_shows_failed_with_its_exit_code_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("alice");
    let b = tmp.path().join("bob");
    ok(&["init", a.to_str().unwrap()]);
    let _alice = serve(&a, "alice");
    let code = ok(&["invite", a.to_str().unwrap()]);
    let _bob = join(&code, &b, "bob");

    let ws = a.to_str().unwrap();
    let out = tandem(&[
        "-C", ws, "agent", "run", "ci", "--kind", "build", "--", "sh", "-c", "exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "agent run exits with the command's code");
    let failed =
        |dir: &Path| {
            let agents: serde_json::Value =
                serde_json::from_str(&ok(&["-C", dir.to_str().unwrap(), "agents", "--json"])).unwrap();
            agents.as_array().unwrap().iter().any(|x| {
                x["name"] == "ci" && x["status"] == "error" && x["error"] == "exit code 3" && x["kind"] == "build"
            })
        };
    assert!(failed(&a));
    wait_until("bob sees the agent failed with its exit code", || failed(&b));

    ok(&["-C", ws, "agent", "register", "lint", "--kind", "linter"]);
    ok(&[
        "-C",
        ws,
        "agent",
        "update",
        "lint",
        "--task",
        "Lint",
        "--progress",
        "50",
        "--subtask",
        "src=done",
    ]);
    let agents = ok(&["-C", ws, "agents"]);
    assert!(
        agents.contains("lint") && agents.contains("Lint 50%") && agents.contains("[1/1 steps]"),
        "{agents}"
    );
    let bad = tandem(&["-C", ws, "agent", "update", "nobody", "--progress", "5"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("register it first"));

    let activity: serde_json::Value = serde_json::from_str(&ok(&["-C", ws, "activity", "--json"])).unwrap();
    let texts: Vec<&str> = activity
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("agent ci") && t.contains("failed: exit code 3")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("bob joined as editor")), "{texts:?}");

    // `top` redraws in place until interrupted: one screen holds peers, agents and alerts.
    let mut top = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["-C", ws, "top"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut screen = String::new();
    let mut out = top.stdout.take().unwrap();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    while !(screen.contains("ALERTS") && screen.contains("bob")) {
        use std::io::Read;
        assert!(start.elapsed() < DEADLINE, "top never showed bob: {screen}");
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "top ended early: {screen}");
        screen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let _ = top.kill();
    let _ = top.wait();
    assert!(
        screen.contains("tandem top") && screen.contains("AGENTS") && screen.contains("ci"),
        "{screen}"
    );
}

#[test]
fn members_roles_invites_and_revoke_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("alice");
    let b = tmp.path().join("bob");
    ok(&["init", a.to_str().unwrap()]);
    let _alice = serve(&a, "alice");
    let code = ok(&["invite", a.to_str().unwrap()]);
    let _bob = join(&code, &b, "bob");
    let ws = a.to_str().unwrap();

    let members = |dir: &Path| -> Vec<serde_json::Value> {
        let out = ok(&["-C", dir.to_str().unwrap(), "members", "--json"]);
        serde_json::from_str(&out).unwrap()
    };
    wait_until("bob listed as an editor added by alice", || {
        members(&a).iter().any(|m| m["name"] == "bob" && m["role"] == "editor")
    });
    let listed = members(&a);
    let alice_id = listed.iter().find(|m| m["name"] == "alice").unwrap()["peer"].clone();
    let bob = listed.iter().find(|m| m["name"] == "bob").unwrap();
    assert_eq!(bob["added_by"], alice_id);
    assert!(bob["added_at"].as_u64().unwrap() > 0);
    assert!(ok(&["-C", ws, "members"]).contains("bob"));

    // Open invites: listed by id, cancelled, and then the code no longer works.
    let spare = ok(&["-C", ws, "invite", "--role", "viewer"]);
    let invites: Vec<serde_json::Value> = serde_json::from_str(&ok(&["-C", ws, "invites", "--json"])).unwrap();
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0]["role"], "viewer");
    let id = invites[0]["id"].as_str().unwrap();
    assert!(ok(&["-C", ws, "invites", "cancel", id]).contains("cancelled"));
    assert!(ok(&["-C", ws, "invites"]).contains("no open invites"));
    let c = tmp.path().join("carol");
    let out = tandem(&["join", spare.trim(), c.to_str().unwrap(), "--no-mdns"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cancelled"));

    // A member renames itself and picks a colour: shown by the other peer without a restart.
    let bs = b.to_str().unwrap();
    assert!(ok(&["-C", bs, "profile"]).contains("name bob"));
    let out = ok(&["-C", bs, "profile", "--name", "rob", "--colour", "#00AA55"]);
    assert!(out.contains("name rob, colour #00aa55"), "{out}");
    wait_until("alice shows bob as rob in his colour", || {
        let peers = status_json(&a)["peers"].as_array().cloned().unwrap_or_default();
        peers.iter().any(|p| p["name"] == "rob" && p["colour"] == "#00aa55")
    });
    let out = tandem(&["-C", bs, "profile", "--name", "alice"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another member"));
    ok(&["-C", bs, "profile", "--name", "bob"]);

    // Roles by name; an editor may not change them.
    let out = tandem(&["-C", b.to_str().unwrap(), "role", "alice", "viewer"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only an owner"));
    ok(&["-C", ws, "role", "bob", "viewer"]);
    wait_until("bob sees himself a viewer", || {
        members(&b).iter().any(|m| m["name"] == "bob" && m["role"] == "viewer")
    });

    // Revoke: the new key epoch is reported, bob is marked revoked and disconnected.
    let out = ok(&["-C", ws, "revoke", "bob", "--grace", "1h"]);
    assert!(out.contains("epoch 1"), "{out}");
    assert!(members(&a)
        .iter()
        .any(|m| m["name"] == "bob" && m["revoked_by"] == alice_id));
    let bob_id = bob["peer"].as_str().unwrap().to_string();
    wait_until("bob no longer connected to alice", || {
        let peers = status_json(&a)["peers"].as_array().cloned().unwrap_or_default();
        !peers
            .iter()
            .any(|p| p["id"] == bob_id.as_str() && !p["address"].is_null())
    });
}
