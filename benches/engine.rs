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
//! - `TANDEM_BENCH_WATCH=0`: replay with the folder watcher off (it is on by default).
//!
//! Progress goes to stderr, figures to stdout. Wrong final texts are printed as ERROR lines.
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
/// Consecutive timeouts after which the latency run gives up.
const MAX_TIMEOUTS_IN_A_ROW: usize = 5;
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
    // The review agent reads whole files after edits settle; it is not part of the edit path.
    cfg.review_agent = false;
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

    eprintln!("replay: bare yrs, {} patches", patches.len());
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
    eprintln!("replay: engine, {} patches", patches.len());
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

enum Wait {
    /// The remote apply was seen at this instant.
    Seen(Instant),
    TimedOut,
    Closed,
}

/// Other events seen on B while waiting, for the report.
#[derive(Default)]
struct Tally {
    connected: u64,
    disconnected: u64,
    synced: u64,
    disk: u64,
    refused: u64,
    /// Remote changes to the file seen while B did not yet hold the awaited edit.
    stale: u64,
    lagged: u64,
}

impl Tally {
    fn count(&mut self, ev: &Event) {
        match ev {
            Event::PeerConnected { .. } => self.connected += 1,
            Event::PeerDisconnected { .. } => self.disconnected += 1,
            Event::Synced { .. } => self.synced += 1,
            Event::FileChanged {
                origin: Origin::Disk, ..
            } => self.disk += 1,
            Event::Refused { .. } => self.refused += 1,
            _ => {}
        }
    }
}

/// Waits until `b` has applied `a`'s latest edit to `path`, seen as a `FileChanged { path,
/// origin: Remote }` event on `b`; the instant is taken when the event arrives. After it (out of
/// the timing) the two texts are compared: `a` has already applied its edit (its commands run in
/// order), so equal texts mean the event brought the edit; unequal means it was a late event for
/// an earlier change (counted as stale) and the wait goes on.
async fn wait_remote(
    a: &Node,
    b: &Node,
    events: &mut broadcast::Receiver<Event>,
    path: &str,
    deadline: tokio::time::Instant,
    tally: &mut Tally,
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
                if b.text(path).await? == a.text(path).await? {
                    return Ok(Wait::Seen(seen));
                }
                tally.stale += 1;
            }
            Ok(ev) => tally.count(&ev),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tally.lagged += n;
                // The edit's event may have been dropped: look at the texts themselves.
                if b.text(path).await? == a.text(path).await? {
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
    eprintln!("latency: peer B joining");
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
        let woke = tokio::time::timeout_at(step, events.recv()).await;
        if let Ok(Err(broadcast::error::RecvError::Closed)) = woke {
            return Err("peer B stopped".into());
        }
    }
    if !ready {
        return Err(format!("peer B did not show A's first edit within {READY_TIMEOUT:?}").into());
    }
    let ready_after = t_ready.elapsed();

    eprintln!("latency: {edits} edits");
    let base = seed.chars().count();
    let mut samples = Vec::with_capacity(edits);
    let mut timeouts = 0usize;
    let mut in_a_row = 0usize;
    let mut ack_errors = 0usize;
    let mut tally = Tally::default();
    let mut aborted = None;
    let t_all = Instant::now();
    for i in 0..edits {
        // Forget events from earlier edits.
        loop {
            match events.try_recv() {
                Ok(ev) => tally.count(&ev),
                Err(broadcast::error::TryRecvError::Lagged(n)) => tally.lagged += n,
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
        match wait_remote(a, b, &mut events, name, deadline, &mut tally).await? {
            Wait::Seen(t1) => {
                samples.push(t1 - t0);
                in_a_row = 0;
            }
            Wait::TimedOut => {
                timeouts += 1;
                in_a_row += 1;
                let len = |t: Option<String>| t.map_or("none".to_string(), |t| t.chars().count().to_string());
                eprintln!(
                    "latency: edit {i} not seen on B within {EDIT_TIMEOUT:?} (A has {} chars, B has {}, want {})",
                    len(a.text(name).await?),
                    len(b.text(name).await?),
                    base + i + 1
                );
            }
            Wait::Closed => return Err("peer B stopped".into()),
        }
        if ack.wait().await.is_err() {
            ack_errors += 1;
        }
        if in_a_row == MAX_TIMEOUTS_IN_A_ROW {
            aborted = Some(i + 1);
            break;
        }
    }
    let total = t_all.elapsed();

    // B may still be catching up after a timeout: give it a while to converge.
    let converge = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut final_ok = false;
    let (mut len_a, mut len_b) = (0, 0);
    while tokio::time::Instant::now() < converge {
        let (text_a, text_b) = (a.text(name).await?, b.text(name).await?);
        let chars = |t: &Option<String>| t.as_ref().map_or(0, |t| t.chars().count());
        (len_a, len_b) = (chars(&text_a), chars(&text_b));
        if text_a == text_b {
            final_ok = true;
            break;
        }
        let step = (tokio::time::Instant::now() + Duration::from_millis(50)).min(converge);
        let _ = tokio::time::timeout_at(step, events.recv()).await;
    }
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
        "latency edit->remote apply  edits {}{}  samples {n}  timeouts {timeouts} (>{}s)  p50 {:.3} ms (target <= {TARGET_P50_MS})  p99 {:.3} ms (target <= {TARGET_P99_MS})  max {:.3} ms",
        aborted.unwrap_or(edits),
        match aborted {
            Some(_) => format!(" of {edits}, ABORTED after {MAX_TIMEOUTS_IN_A_ROW} timeouts in a row"),
            None => String::new(),
        },
        EDIT_TIMEOUT.as_secs(),
        ms(p50),
        ms(p99),
        ms(max),
    );
    println!(
        "  min {:.3} ms  mean {:.3} ms  total {:.2} s  join {:.2} s  ready after {:.2} s  ack errors {ack_errors}",
        ms(min),
        ms(mean),
        secs(total),
        secs(joined),
        secs(ready_after),
    );
    let want = base + aborted.unwrap_or(edits);
    println!(
        "  final text: A {len_a} chars, B {len_b} chars, expected {want} ({})  A == B: {}",
        if len_a == want && len_b == want {
            "ok".to_string()
        } else {
            format!(
                "LOST {} on A, {} on B",
                want as i64 - len_a as i64,
                want as i64 - len_b as i64
            )
        },
        if final_ok { "yes" } else { "NO" },
    );
    println!(
        "  events on B meanwhile: connected {}  disconnected {}  synced {}  disk-origin changes {}  refused {}  stale remote changes {}  lagged {}",
        tally.connected, tally.disconnected, tally.synced, tally.disk, tally.refused, tally.stale, tally.lagged
    );
    println!("  method: t0 before A.edit (ack not awaited before the wait), t1 at B's FileChanged{{origin: Remote}} event (counted once B's text equals A's); sequential, one edit in flight, loopback TCP");
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
