//! Peers on one LAN find each other by mDNS. Loopback carries no multicast, so the LAN is made
//! here: two network namespaces joined by a veth pair, one real `tandem` process in each.

mod common;

use common::DEADLINE;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Two network namespaces joined by a veth pair; removed on drop.
struct Lan {
    a: String,
    b: String,
}

impl Lan {
    fn new() -> Option<Lan> {
        let id = std::process::id() % 10_000;
        let (a, b) = (format!("tdm{id}a"), format!("tdm{id}b"));
        let (va, vb) = (format!("v{id}a"), format!("v{id}b"));
        let steps: Vec<Vec<&str>> = vec![
            vec!["netns", "add", &a],
            vec!["netns", "add", &b],
            vec!["link", "add", &va, "type", "veth", "peer", "name", &vb],
            vec!["link", "set", &va, "netns", &a],
            vec!["link", "set", &vb, "netns", &b],
            vec!["-n", &a, "addr", "add", "10.77.0.1/24", "dev", &va],
            vec!["-n", &b, "addr", "add", "10.77.0.2/24", "dev", &vb],
            vec!["-n", &a, "link", "set", &va, "up"],
            vec!["-n", &b, "link", "set", &vb, "up"],
            vec!["-n", &a, "link", "set", "lo", "up"],
            vec!["-n", &b, "link", "set", "lo", "up"],
        ];
        let lan = Lan {
            a: a.clone(),
            b: b.clone(),
        };
        for step in steps {
            let ok = Command::new("ip")
                .args(&step)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return None;
            }
        }
        Some(lan)
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_in(ns: &str, args: &[&str]) -> Peer {
    let child = Command::new("ip")
        .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_tandem")])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Peer(child)
}

fn tandem(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).output().unwrap()
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// Forgets every address a peer learned, so only discovery can bring the two together again.
fn forget_addresses(dir: &Path) {
    let mut store = tandem::store::Store::open(&dir.join(".tandem/tandem.db"), Default::default()).unwrap();
    store.meta_set("peers", b"[]").unwrap();
    store.meta_set("listen_port", b"").unwrap();
}

#[test]
fn peers_on_one_lan_find_each_other_by_mdns_after_forgetting_every_address() {
    let Some(lan) = Lan::new() else {
        eprintln!("network namespaces are not available here (needs root and iproute2): nothing to check");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("alice"), tmp.path().join("bob"));
    let (sa, sb) = (a.to_str().unwrap(), b.to_str().unwrap());
    assert!(tandem(&["init", sa]).status.success());
    let serve_a = [
        "serve",
        sa,
        "--name",
        "alice",
        "--listen",
        "/ip4/10.77.0.1/tcp/0",
        "--no-review-agent",
    ];
    let alice = run_in(&lan.a, &serve_a);
    wait_until("alice answers", || tandem(&["status", sa]).status.success());
    let code = String::from_utf8(tandem(&["invite", sa]).stdout).unwrap();
    // Bob's own arguments, the same whether joining or serving again.
    let bob_args = [
        sb,
        "--name",
        "bob",
        "--listen",
        "/ip4/10.77.0.2/tcp/0",
        "--no-review-agent",
    ];
    let join_b = [&["join", code.trim()][..], &bob_args].concat();
    let bob = run_in(&lan.b, &join_b);
    wait_until("bob joined", || tandem(&["status", sb]).status.success());
    drop((alice, bob));

    forget_addresses(&a);
    forget_addresses(&b);
    let _alice = run_in(&lan.a, &serve_a);
    let _bob = run_in(&lan.b, &[&["serve"][..], &bob_args].concat());
    wait_until("both answer", || {
        tandem(&["status", sa]).status.success() && tandem(&["status", sb]).status.success()
    });
    std::fs::write(a.join("found.txt"), "found by mDNS\n").unwrap();
    wait_until("bob receives alice's new file", || {
        std::fs::read_to_string(b.join("found.txt")).is_ok_and(|t| t == "found by mDNS\n")
    });
}
