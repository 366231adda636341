//! Helpers for tests that run real peers (in-process `Node`s and `tandem` processes) on loopback.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tandem::{Event, Node, NodeConfig, Role};
use tokio::sync::broadcast;

/// Default deadline for a condition to become true.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A peer and the temporary folder it lives in.
pub struct Peer {
    pub node: Node,
    pub dir: PathBuf,
    pub tmp: Option<tempfile::TempDir>,
}

impl Peer {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
    pub fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.path(rel)).ok()
    }
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, text).unwrap();
    }
}

/// Config for a test peer: loopback, no mDNS, no control socket unless asked.
pub fn config(dir: &Path, name: &str) -> NodeConfig {
    let mut cfg = NodeConfig::new(dir);
    cfg.name = Some(name.to_string());
    cfg.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    cfg.mdns = false;
    cfg.control = false;
    cfg.sync_interval = Duration::from_secs(2);
    cfg.heartbeat = Duration::from_millis(300);
    cfg.presence_ttl = Duration::from_secs(2);
    cfg.review_agent = false;
    cfg
}

/// A new workspace, owned and served by "alice"; `files` are put in it first.
pub async fn owner(files: &[(&str, &str)]) -> Peer {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("alice");
    std::fs::create_dir_all(&dir).unwrap();
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    Node::init(&dir).unwrap();
    let node = Node::start(config(&dir, "alice")).await.unwrap();
    Peer {
        node,
        dir,
        tmp: Some(tmp),
    }
}

/// A new peer joined to `inviter`'s workspace as an editor.
pub async fn joined(inviter: &Peer, name: &str) -> Peer {
    joined_as(inviter, name, Role::Editor).await
}

/// A new peer joined to `inviter`'s workspace with `role`.
pub async fn joined_as(inviter: &Peer, name: &str, role: Role) -> Peer {
    let code = inviter.node.invite(role, Duration::from_secs(600)).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    let node = Node::join(config(&dir, name), &code, |_, _| {}).await.unwrap();
    Peer {
        node,
        dir,
        tmp: Some(tmp),
    }
}

/// Restarts a stopped peer on the same folder.
pub async fn restart(peer: Peer, name: &str) -> Peer {
    peer.node.shutdown().await;
    let node = Node::start(config(&peer.dir, name)).await.unwrap();
    Peer {
        node,
        dir: peer.dir,
        tmp: peer.tmp,
    }
}

/// Waits until `cond` holds, re-checking on every engine event of `nodes` and every 50 ms,
/// failing with `what` after the deadline.
pub async fn wait_for<F, Fut>(nodes: &[&Node], what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut rxs: Vec<broadcast::Receiver<Event>> = nodes.iter().map(|n| n.subscribe()).collect();
    let start = Instant::now();
    loop {
        if cond().await {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out after {DEADLINE:?} waiting for: {what}"
        );
        let any_event = futures::future::select_all(rxs.iter_mut().map(|rx| Box::pin(rx.recv())));
        let _ = tokio::time::timeout(Duration::from_millis(50), any_event).await;
    }
}

/// Whether an event matching `wanted` arrives on `events` before the deadline.
pub async fn event_arrives(events: &mut broadcast::Receiver<Event>, wanted: impl Fn(&Event) -> bool) -> bool {
    tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ok(ev) = events.recv().await {
                if wanted(&ev) {
                    return;
                }
            }
        }
    })
    .await
    .is_ok()
}

/// Every synced file under `dir` (not `.tandem/`), path → content.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if name == ".tandem" || name.contains(".tandem-tmp-") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                out.insert(p.strip_prefix(root).unwrap().to_string_lossy().to_string(), text);
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// Waits until every peer's folder holds the same files with the same bytes.
pub async fn converged(peers: &[&Peer]) {
    let nodes: Vec<&Node> = peers.iter().map(|p| &p.node).collect();
    wait_for(&nodes, "folders identical", || async {
        let first = tree(&peers[0].dir);
        peers.iter().all(|p| tree(&p.dir) == first)
    })
    .await;
}

/// Writes a file the way editors save: a temp file in the same folder, then a rename over it.
pub fn atomic_save(path: &Path, text: &str) {
    let tmp = path.with_file_name(format!(".{}.swp", path.file_name().unwrap().to_string_lossy()));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A peer that holds the workspace key of `code` (id and key written into a fresh workspace) but
/// never redeemed it: a stranger to the members.
pub async fn stranger_with_key(code: &str) -> Peer {
    let invite = tandem::invite::Invite::decode(code).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stranger");
    Node::init(&dir).unwrap();
    {
        let mut store = tandem::store::Store::open(&dir.join(".tandem/tandem.db"), Default::default()).unwrap();
        store.meta_set("workspace_id", &invite.workspace_id).unwrap();
        store.meta_set("psk", &invite.key).unwrap();
    }
    let node = Node::start(config(&dir, "stranger")).await.unwrap();
    Peer {
        node,
        dir,
        tmp: Some(tmp),
    }
}
