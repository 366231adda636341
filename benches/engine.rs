//! Tandem engine benchmark: prints figures, asserts nothing about time.
//!
//! (a) Replays a real editing trace (`automerge-paper`) through the engine's full path
//!     (`Node::edit`: validate, apply, store in SQLite, publish) and through a bare yrs document,
//!     and prints the ratio engine / bare.
//! (b) Measures edit-to-remote-apply latency between two peers over loopback.
//!
//! Environment:
//! - `TANDEM_TRACES`: folder holding the traces (default `$CARGO_MANIFEST_DIR/../shared/traces`).
//! - `TANDEM_BENCH_TRACE`: trace name without `.json.gz` (default `automerge-paper`).
//! - `TANDEM_BENCH_QUICK=1`: smoke run (first 20,000 patches, 200 latency edits).
//!
//! Run: `cargo bench --bench engine`.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tandem::events::Origin;
use tandem::merge::Splice;
use tandem::workspace::RelPath;
use tandem::{Event, Node, NodeConfig, Role};
use tokio::sync::broadcast;
use yrs::{GetString, Text, Transact};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;

const QUICK_PATCHES: usize = 20_000;
const FULL_LATENCY_EDITS: usize = 1_000;
const QUICK_LATENCY_EDITS: usize = 200;
/// Outstanding acks kept while replaying through the engine.
const ACK_WINDOW: usize = 256;
/// Longest wait for one remote apply before it counts as a timeout.
const EDIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the joined peer to see the first edit.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

const TARGET_RATIO: f64 = 1.5;
const TARGET_P50_MS: f64 = 2.0;
const TARGET_P99_MS: f64 = 10.0;

// ---------------------------------------------------------------------------------------------
// Trace

/// One patch: delete `1` code points at code point `0`, then insert `2` there.
#[derive(Deserialize)]
struct Patch(usize, usize, String);

#[derive(Deserialize)]
struct Txn {
    patches: Vec<Patch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Trace {
    start_content: String,
    end_content: String,
    txns: Vec<Txn>,
}

fn traces_dir() -> PathBuf {
    match std::env::var_os("TANDEM_TRACES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/traces"),
    }
}

fn load_trace(name: &str) -> Result<Trace> {
    let path = traces_dir().join(format!("{name}.json.gz"));
    let file = std::fs::File::open(&path).map_err(|e| format!("could not open trace {}: {e}", path.display()))?;
    let mut json = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut json)?;
    Ok(serde_json::from_str(&json)?)
}

// ---------------------------------------------------------------------------------------------
// Code point → UTF-8 byte offsets for the bare yrs document

/// Maps code-point offsets to UTF-8 byte offsets in a text edited by splices, in O(k) per
/// operation where k is the number of non-ASCII chars in the text (O(log k) for a lookup).
#[derive(Default)]
struct Utf8Index {
    /// Non-ASCII chars as (code point position, extra bytes beyond one), ascending position.
    wide: Vec<(usize, usize)>,
}

impl Utf8Index {
    fn new(text: &str) -> Utf8Index {
        let mut index = Utf8Index::default();
        index.insert(0, text);
        index
    }

    /// Byte offset of code point `pos`.
    fn byte(&self, pos: usize) -> usize {
        let before = self.wide.partition_point(|&(p, _)| p < pos);
        pos + self.wide[..before].iter().map(|&(_, extra)| extra).sum::<usize>()
    }

    /// Byte length of the code points `pos..pos + len`.
    fn byte_len(&self, pos: usize, len: usize) -> usize {
        self.byte(pos + len) - self.byte(pos)
    }

    fn delete(&mut self, pos: usize, len: usize) {
        if len == 0 {
            return;
        }
        let lo = self.wide.partition_point(|&(p, _)| p < pos);
        let hi = self.wide.partition_point(|&(p, _)| p < pos + len);
        self.wide.drain(lo..hi);
        for entry in &mut self.wide[lo..] {
            entry.0 -= len;
        }
    }

    fn insert(&mut self, pos: usize, s: &str) {
        let mut added = Vec::new();
        let mut n = 0;
        for (i, c) in s.chars().enumerate() {
            if !c.is_ascii() {
                added.push((pos + i, c.len_utf8() - 1));
            }
            n += 1;
        }
        let at = self.wide.partition_point(|&(p, _)| p < pos);
        for entry in &mut self.wide[at..] {
            entry.0 += n;
        }
        self.wide.splice(at..at, added);
    }
}

// ---------------------------------------------------------------------------------------------
// (a) Replay

/// Bare yrs: one transaction per patch. Returns the elapsed time and the final text.
fn replay_bare(start: &str, patches: &[&Patch]) -> (Duration, String) {
    let doc = yrs::Doc::new();
    let text = doc.get_or_insert_text("content");
    if !start.is_empty() {
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, start);
    }
    let mut index = Utf8Index::new(start);
    let t0 = Instant::now();
    for p in patches {
        let (pos, del, ins) = (p.0, p.1, p.2.as_str());
        let at = index.byte(pos);
        let mut txn = doc.transact_mut();
        if del > 0 {
            let len = index.byte_len(pos, del);
            text.remove_range(&mut txn, at as u32, len as u32);
            index.delete(pos, del);
        }
        if !ins.is_empty() {
            text.insert(&mut txn, at as u32, ins);
            index.insert(pos, ins);
        }
    }
    let elapsed = t0.elapsed();
    let out = text.get_string(&doc.transact());
    (criterion::black_box(elapsed), out)
}

fn bench_config(dir: &Path) -> NodeConfig {
    let mut cfg = NodeConfig::new(dir);
    cfg.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().expect("valid literal address")];
    cfg.mdns = false;
    cfg.control = false;
    cfg
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// (db, wal) sizes in bytes.
fn db_sizes(root: &Path) -> (u64, u64) {
    let state = root.join(".tandem");
    (
        file_size(&state.join("tandem.db")),
        file_size(&state.join("tandem.db-wal")),
    )
}

struct EngineReplay {
    elapsed: Duration,
    /// `FileChanged { origin: Disk }` events seen during the replay (the watcher re-reading the
    /// engine's own writes as saves), and events missed by lagging.
    disk_changes: u64,
    lagged: u64,
    text: Option<String>,
    db_after: (u64, u64),
    db_after_shutdown: (u64, u64),
    disk_file: u64,
}

/// The engine's full path: pipelined `Node::edit` with a bounded window of outstanding acks.
async fn replay_engine(start: &str, patches: &[&Patch], watch: bool) -> Result<EngineReplay> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("ws");
    Node::init(&root)?;
    let mut cfg = bench_config(&root);
    cfg.watch = watch;
    let node = Node::start(cfg).await?;
    let name = "paper.tex";
    let path = RelPath::new(name)?;
    if !start.is_empty() {
        node.set_text(name, start).await?;
    }
    let mut events = node.subscribe();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let counter = tokio::spawn(async move {
        let (mut disk, mut lagged) = (0u64, 0u64);
        let mut count = |got: std::result::Result<Event, broadcast::error::RecvError>| match got {
            Ok(Event::FileChanged {
                origin: Origin::Disk, ..
            }) => disk += 1,
            Err(broadcast::error::RecvError::Lagged(n)) => lagged += n,
            Ok(_) | Err(broadcast::error::RecvError::Closed) => {}
        };
        loop {
            tokio::select! {
                got = events.recv() => {
                    let closed = matches!(got, Err(broadcast::error::RecvError::Closed));
                    count(got);
                    if closed {
                        break;
                    }
                }
                _ = &mut stop_rx => {
                    loop {
                        match events.try_recv() {
                            Ok(ev) => count(Ok(ev)),
                            Err(broadcast::error::TryRecvError::Lagged(n)) => count(Err(broadcast::error::RecvError::Lagged(n))),
                            Err(_) => break,
                        }
                    }
                    break;
                }
            }
        }
        (disk, lagged)
    });

    let mut acks = VecDeque::with_capacity(ACK_WINDOW);
    let t0 = Instant::now();
    for p in patches {
        if acks.len() == ACK_WINDOW {
            let oldest: tandem::node::Ack = acks.pop_front().expect("window is full");
            oldest.wait().await?;
        }
        acks.push_back(node.edit(
            &path,
            vec![Splice {
                at: p.0,
                delete: p.1,
                insert: p.2.clone(),
            }],
        ));
    }
    for ack in acks {
        ack.wait().await?;
    }
    let elapsed = t0.elapsed();

    let text = node.text(name).await?;
    let db_after = db_sizes(&root);
    node.shutdown().await;
    let db_after_shutdown = db_sizes(&root);
    let disk_file = file_size(&root.join(name));
    let _ = stop_tx.send(());
    let (disk_changes, lagged) = counter.await.unwrap_or((u64::MAX, u64::MAX));
    Ok(EngineReplay {
        elapsed,
        disk_changes,
        lagged,
        text,
        db_after,
        db_after_shutdown,
        disk_file,
    })
}

/// Char index of the first difference between `a` and `b`.
fn first_difference(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Up to 40 chars either side of char `at`.
fn excerpt(s: &str, at: usize) -> String {
    s.chars().skip(at.saturating_sub(40)).take(80).collect()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn per_patch_us(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n.max(1) as f64
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

async fn run_replay(trace_name: &str, quick: bool) -> Result<()> {
    let trace = load_trace(trace_name)?;
    let all: Vec<&Patch> = trace.txns.iter().flat_map(|t| t.patches.iter()).collect();
    let patches = if quick {
        &all[..all.len().min(QUICK_PATCHES)]
    } else {
        &all[..]
    };
    let complete = patches.len() == all.len();

    let (bare, bare_text) = replay_bare(&trace.start_content, patches);
    let bare_ok = if complete { bare_text == trace.end_content } else { true };
    if !bare_ok {
        println!(
            "ERROR bare yrs replay: final text differs from endContent ({} vs {} chars)",
            bare_text.chars().count(),
            trace.end_content.chars().count()
        );
    }

    let watch = !std::env::var("TANDEM_BENCH_WATCH").is_ok_and(|v| v == "0");
    let engine = replay_engine(&trace.start_content, patches, watch).await?;
    let expected = if complete { &trace.end_content } else { &bare_text };
    let engine_ok = engine.text.as_deref() == Some(expected.as_str());
    if !engine_ok {
        match &engine.text {
            None => println!("ERROR engine replay: node.text(\"paper.tex\") is None"),
            Some(t) => {
                let at = first_difference(t, expected);
                println!(
                    "ERROR engine replay: final text differs from {} ({} vs {} chars), first at char {at}:\n  engine   {:?}\n  expected {:?}",
                    if complete { "endContent" } else { "the bare yrs replay" },
                    t.chars().count(),
                    expected.chars().count(),
                    excerpt(t, at),
                    excerpt(expected, at),
                );
            }
        }
    }

    let n = patches.len();
    let ratio = secs(engine.elapsed) / secs(bare);
    println!(
        "trace {trace_name}  patches {n}{}  bare {:.2} s ({:.1} µs/patch)  engine {:.2} s ({:.1} µs/patch)  ratio {ratio:.2} (target <= {TARGET_RATIO})",
        if complete { String::new() } else { format!(" of {}", all.len()) },
        secs(bare),
        per_patch_us(bare, n),
        secs(engine.elapsed),
        per_patch_us(engine.elapsed, n),
    );
    println!(
        "  final text {} chars, {} bytes ({})  text check: bare {}  engine {}",
        expected.chars().count(),
        expected.len(),
        if complete {
            "== endContent"
        } else {
            "partial replay, compared with bare yrs"
        },
        if bare_ok { "ok" } else { "MISMATCH" },
        if engine_ok { "ok" } else { "MISMATCH" },
    );
    let (db, wal) = engine.db_after;
    let (db2, wal2) = engine.db_after_shutdown;
    println!(
        "  engine db after replay {} (tandem.db {} + wal {})  after shutdown {} (tandem.db {} + wal {})  paper.tex on disk {} bytes",
        mib(db + wal),
        mib(db),
        mib(wal),
        mib(db2 + wal2),
        mib(db2),
        mib(wal2),
        engine.disk_file,
    );
    let count = |n: u64| if n == u64::MAX { "?".to_string() } else { n.to_string() };
    println!(
        "  engine path: Node::edit per patch, up to {ACK_WINDOW} outstanding acks, timed from first edit to last ack; \
         watch {}, disk-origin changes {} (events lagged {})",
        if watch { "on" } else { "off" },
        count(engine.disk_changes),
        count(engine.lagged),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (b) Latency

/// Whether `text` holds at least `chars` code points (the latency file only grows).
fn has_chars(text: &Option<String>, chars: usize) -> bool {
    text.as_ref().is_some_and(|t| t.chars().count() >= chars)
}

enum Wait {
    /// The remote apply was seen at this instant.
    Seen(Instant),
    TimedOut,
    Closed,
}

/// Waits until `b` has applied the remote change that makes `path` at least `chars` long,
/// using its `FileChanged { origin: Remote }` events; the instant is taken when the event
/// arrives (the text check happens after it).
async fn wait_remote(
    b: &Node,
    events: &mut broadcast::Receiver<Event>,
    path: &str,
    chars: usize,
    deadline: tokio::time::Instant,
) -> Result<Wait> {
    loop {
        let got = match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => return Ok(Wait::TimedOut),
            Ok(got) => got,
        };
        let seen = Instant::now();
        match got {
            Ok(Event::FileChanged {
                path: p,
                origin: Origin::Remote,
            }) if p == path => {
                if has_chars(&b.text(path).await?, chars) {
                    return Ok(Wait::Seen(seen));
                }
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // The event may have been dropped: look at the text itself.
                if has_chars(&b.text(path).await?, chars) {
                    return Ok(Wait::Seen(seen));
                }
            }
            Err(broadcast::error::RecvError::Closed) => return Ok(Wait::Closed),
        }
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn run_latency(edits: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let root_a = dir.path().join("a");
    let root_b = dir.path().join("b");
    Node::init(&root_a)?;
    let a = Node::start(bench_config(&root_a)).await?;
    let code = a.invite(Role::Editor, Duration::from_secs(600)).await?;
    let t_join = Instant::now();
    let b = match Node::join(bench_config(&root_b), &code, |_, _| {}).await {
        Ok(b) => b,
        Err(e) => {
            a.shutdown().await;
            return Err(format!("join failed: {e}").into());
        }
    };
    let joined = t_join.elapsed();
    let result = measure_latency(&a, &b, edits, joined).await;
    b.shutdown().await;
    a.shutdown().await;
    result
}

async fn measure_latency(a: &Node, b: &Node, edits: usize, joined: Duration) -> Result<()> {
    let name = "latency.txt";
    let path = RelPath::new(name)?;
    let mut events = b.subscribe();

    // Ready: one edit on A shows on B.
    let t_ready = Instant::now();
    let seed = "ready\n";
    a.edit(
        &path,
        vec![Splice {
            at: 0,
            delete: 0,
            insert: seed.into(),
        }],
    )
    .wait()
    .await?;
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    let mut ready = false;
    while tokio::time::Instant::now() < deadline {
        if b.text(name).await?.as_deref() == Some(seed) {
            ready = true;
            break;
        }
        // Woken by any event on B, or re-check every 50 ms.
        let step = (tokio::time::Instant::now() + Duration::from_millis(50)).min(deadline);
        match tokio::time::timeout_at(step, events.recv()).await {
            Ok(Err(broadcast::error::RecvError::Closed)) => return Err("peer B stopped".into()),
            Ok(_) | Err(_) => {}
        }
    }
    if !ready {
        return Err(format!("peer B did not show A's first edit within {READY_TIMEOUT:?}").into());
    }
    let ready_after = t_ready.elapsed();

    let base = seed.chars().count();
    let mut samples = Vec::with_capacity(edits);
    let mut timeouts = 0usize;
    let mut ack_errors = 0usize;
    let t_all = Instant::now();
    for i in 0..edits {
        // Forget events from earlier edits.
        loop {
            match events.try_recv() {
                Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        let t0 = Instant::now();
        let ack = a.edit(
            &path,
            vec![Splice {
                at: i,
                delete: 0,
                insert: "x".into(),
            }],
        );
        let deadline = tokio::time::Instant::now() + EDIT_TIMEOUT;
        match wait_remote(b, &mut events, name, base + i + 1, deadline).await? {
            Wait::Seen(t1) => samples.push(t1 - t0),
            Wait::TimedOut => timeouts += 1,
            Wait::Closed => return Err("peer B stopped".into()),
        }
        if ack.wait().await.is_err() {
            ack_errors += 1;
        }
    }
    let total = t_all.elapsed();

    let final_ok = b.text(name).await? == a.text(name).await?;
    samples.sort();
    let n = samples.len();
    let mean = if n == 0 {
        Duration::ZERO
    } else {
        samples.iter().sum::<Duration>() / n as u32
    };
    let p50 = percentile(&samples, 50.0);
    let p99 = percentile(&samples, 99.0);
    let max = samples.last().copied().unwrap_or_default();
    let min = samples.first().copied().unwrap_or_default();
    println!(
        "latency edit->remote apply  edits {edits}  samples {n}  timeouts {timeouts} (>{}s)  p50 {:.3} ms (target <= {TARGET_P50_MS})  p99 {:.3} ms (target <= {TARGET_P99_MS})  max {:.3} ms",
        EDIT_TIMEOUT.as_secs(),
        ms(p50),
        ms(p99),
        ms(max),
    );
    println!(
        "  min {:.3} ms  mean {:.3} ms  total {:.2} s  join {:.2} s  ready after {:.2} s  final texts equal: {}  ack errors {ack_errors}",
        ms(min),
        ms(mean),
        secs(total),
        secs(joined),
        secs(ready_after),
        if final_ok { "yes" } else { "NO" },
    );
    println!("  method: t0 before A.edit (ack not awaited before the wait), t1 at B's FileChanged{{origin: Remote}} event; sequential, one edit in flight, loopback TCP");
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let quick = std::env::var("TANDEM_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let trace = std::env::var("TANDEM_BENCH_TRACE").unwrap_or_else(|_| "automerge-paper".into());
    let edits = if quick { QUICK_LATENCY_EDITS } else { FULL_LATENCY_EDITS };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    println!(
        "tandem engine bench{}",
        if quick {
            format!("  (QUICK: first {QUICK_PATCHES} patches, {QUICK_LATENCY_EDITS} latency edits)")
        } else {
            String::new()
        }
    );
    let mut failed = false;
    if let Err(e) = rt.block_on(run_replay(&trace, quick)) {
        println!("trace {trace}  ERROR {e}");
        failed = true;
    }
    if let Err(e) = rt.block_on(run_latency(edits)) {
        println!("latency  ERROR {e}");
        failed = true;
    }
    drop(rt);
    if failed {
        std::process::exit(1);
    }
}
