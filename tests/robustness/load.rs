//! Load: ten peers each making 20 edits a second. Every peer converges; memory, database size
//! and edit-to-remote latency are printed, with generous memory and size budgets asserted.

use crate::common::{joined, owner, tree, Peer};
use crate::matrix::{count_engine_panics, engine_panics, report, setting};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tandem::events::Origin;
use tandem::merge::Splice;
use tandem::workspace::RelPath;
use tandem::Event;

const PEERS: usize = 10;
const EDITS_PER_SEC: u64 = 20;
/// Budget for the whole test process holding ten peers (each with its documents, yrs state,
/// SQLite cache, libp2p swarm and watcher): far above what they need, low enough to catch growth
/// per edit.
const RSS_BUDGET_BYTES: u64 = 2 << 30;
/// Budget for one peer's database (with its WAL) after the run.
const DB_BUDGET_BYTES: u64 = 64 << 20;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn db_bytes(peer: &Peer) -> u64 {
    ["tandem.db", "tandem.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(peer.dir.join(".tandem").join(f)).ok())
        .map(|m| m.len())
        .sum()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Peer 0's edits are timed on every other peer: when each first holds edit `i`.
fn time_arrivals(peer: &Peer, sent: Arc<Mutex<Vec<Instant>>>, out: Arc<Mutex<Vec<f64>>>) {
    let mut rx = peer.node.subscribe();
    let node = peer.node.clone();
    tokio::spawn(async move {
        let mut seen = 0usize;
        loop {
            match rx.recv().await {
                Ok(Event::FileChanged {
                    path,
                    origin: Origin::Remote,
                }) if path == "p0.txt" => {}
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
            let Ok(Some(text)) = node.text("p0.txt").await else {
                continue;
            };
            let now = Instant::now();
            let have = text.lines().count();
            let sent = sent.lock().unwrap();
            let mut out = out.lock().unwrap();
            for at in sent.iter().take(have).skip(seen) {
                out.push(now.duration_since(*at).as_secs_f64() * 1000.0);
            }
            seen = seen.max(have);
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_peers_making_twenty_edits_a_second_each_converge_within_budget() {
    count_engine_panics();
    let panics = engine_panics();
    let secs = setting("load_secs", 10, 60);
    let alice = owner(&[]).await;
    let mut peers = vec![alice];
    for i in 1..PEERS {
        let p = joined(&peers[0], &format!("peer{i}")).await;
        peers.push(p);
    }
    let rss_before = rss_bytes();
    let sent = Arc::new(Mutex::new(Vec::new()));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    for p in &peers[1..] {
        time_arrivals(p, sent.clone(), latencies.clone());
    }

    let per_peer = secs * EDITS_PER_SEC;
    let start = Instant::now();
    let mut editors = Vec::new();
    for (n, p) in peers.iter().enumerate() {
        let node = p.node.clone();
        let sent = sent.clone();
        editors.push(tokio::spawn(async move {
            let path = RelPath::new(&format!("p{n}.txt")).unwrap();
            let mut chars = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(1000 / EDITS_PER_SEC));
            let mut failed = 0u64;
            for i in 0..per_peer {
                tick.tick().await;
                let line = format!("peer {n} edit {i}\n");
                let len = line.chars().count();
                if n == 0 {
                    sent.lock().unwrap().push(Instant::now());
                }
                let ack = node.edit(
                    &path,
                    vec![Splice {
                        at: chars,
                        delete: 0,
                        insert: line,
                    }],
                );
                match ack.wait().await {
                    Ok(()) => chars += len,
                    Err(_) => failed += 1,
                }
            }
            failed
        }));
    }
    let mut failed = 0;
    for e in editors {
        failed += e.await.unwrap();
    }
    let edit_secs = start.elapsed().as_secs_f64();
    let rss_peak = rss_bytes();

    let settle = Instant::now();
    let expected = |n: usize| {
        (0..per_peer)
            .map(|i| format!("peer {n} edit {i}\n"))
            .collect::<String>()
    };
    loop {
        let first = tree(&peers[0].dir);
        let done = (0..PEERS).all(|n| first.get(&format!("p{n}.txt")) == Some(&expected(n)))
            && peers.iter().all(|p| tree(&p.dir) == first);
        if done {
            break;
        }
        if settle.elapsed() > Duration::from_secs(120) {
            let lost = (0..PEERS)
                .map(|n| {
                    let want = expected(n);
                    peers
                        .iter()
                        .map(|p| {
                            let got = p.read(&format!("p{n}.txt")).unwrap_or_default();
                            want.lines().filter(|l| !got.contains(l)).count() as u64
                        })
                        .max()
                        .unwrap_or(0)
                })
                .sum::<u64>();
            report("load", 0, PEERS as u64 * per_peer, lost.max(1), 0, "converged=false");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let converge_secs = settle.elapsed().as_secs_f64();

    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let dbs: Vec<u64> = peers.iter().map(db_bytes).collect();
    let db_max = *dbs.iter().max().unwrap();
    let text_bytes: usize = (0..PEERS).map(|n| expected(n).len()).sum();
    println!(
        "load: {PEERS} peers x {EDITS_PER_SEC} edits/s for {secs} s ({} edits, {failed} refused) in {edit_secs:.1} s; \
         converged {converge_secs:.2} s after the last edit",
        PEERS as u64 * per_peer
    );
    println!(
        "load: edit-to-remote latency (peer 0's edits on 9 peers, {} samples): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "load: RSS of the ten peers {} MiB before, {} MiB after editing (budget {} MiB); text {} KiB; \
         largest database {} KiB (budget {} KiB)",
        rss_before >> 20,
        rss_peak >> 20,
        RSS_BUDGET_BYTES >> 20,
        text_bytes >> 10,
        db_max >> 10,
        DB_BUDGET_BYTES >> 10
    );
    report(
        "load",
        0,
        PEERS as u64 * per_peer,
        failed,
        (engine_panics() - panics) as u64,
        &format!(
            "p50_ms={:.1} p99_ms={:.1} converge_s={converge_secs:.2} rss_mib={} db_kib={}",
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            rss_peak >> 20,
            db_max >> 10
        ),
    );
    assert!(rss_peak < RSS_BUDGET_BYTES, "ten peers use {} MiB", rss_peak >> 20);
    assert!(db_max < DB_BUDGET_BYTES, "a database holds {} KiB", db_max >> 10);
    for p in peers {
        p.node.shutdown().await;
    }
}
