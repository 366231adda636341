//! Watcher faults: editors' save styles, a `git checkout` switching thousands of files, and an
//! inotify queue overflow. No edit is lost, nothing echoes back and forth, and an overflow
//! brings a full rescan.

use crate::common::{config, converged, joined, tree, wait_for, Peer};
use crate::matrix::{count_engine_panics, engine_panics, report, setting};
use crate::procs::{invite, ok, process_panics, wait_until_within, Host};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tandem::events::Origin;
use tandem::Event;

/// Changes a peer made itself (from its disk or its API), and remote ones, as its events tell.
#[derive(Debug, Default, Clone, Copy)]
struct Changes {
    own: u64,
    /// Own changes to files other than `notes/` (the only ones bob writes himself).
    own_elsewhere: u64,
    remote: u64,
    deletes_received: u64,
    lagged: u64,
}

fn count_changes(peer: &Peer) -> Arc<Mutex<Changes>> {
    let counts = Arc::new(Mutex::new(Changes::default()));
    let mut rx = peer.node.subscribe();
    let c = counts.clone();
    tokio::spawn(async move {
        loop {
            let ev = match rx.recv().await {
                Ok(ev) => ev,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    c.lock().unwrap().lagged += n;
                    continue;
                }
                Err(_) => return,
            };
            let mut c = c.lock().unwrap();
            let (path, origin, delete) = match ev {
                Event::FileChanged { path, origin } | Event::FileCreated { path, origin } => (path, origin, false),
                Event::FileDeleted { path, origin } => (path, origin, true),
                _ => continue,
            };
            match origin {
                Origin::Remote => {
                    c.remote += 1;
                    c.deletes_received += delete as u64;
                }
                _ => {
                    c.own += 1;
                    c.own_elsewhere += !path.starts_with("notes/") as u64;
                }
            }
        }
    });
    counts
}

/// Saves `text` the way one editor or another does.
fn save(path: &Path, text: &str, style: usize) {
    match style % 3 {
        // vim/VS Code: write a temporary file beside it, rename it over.
        0 => crate::common::atomic_save(path, text),
        // vim with a backup: move the file away, write a new one, drop the backup.
        1 => {
            let backup = path.with_extension("txt~");
            std::fs::rename(path, &backup).unwrap();
            std::fs::write(path, text).unwrap();
            std::fs::remove_file(backup).unwrap();
        }
        // nano and most tools: truncate and write in place.
        _ => std::fs::write(path, text).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_editor_save_style_reaches_the_other_peer_and_never_reads_as_a_delete() {
    count_engine_panics();
    let panics = engine_panics();
    let saves = setting("saves", 60, 600);
    let alice = crate::common::owner(&[("notes.txt", "start\n")]).await;
    let bob = joined(&alice, "bob").await;
    converged(&[&alice, &bob]).await;
    let seen = count_changes(&bob);
    let mut text = String::from("start\n");
    for i in 0..saves {
        text.push_str(&format!("save {i}\n"));
        save(&alice.path("notes.txt"), &text, i as usize);
        if i % 10 == 9 {
            // Let some saves cross one by one, others pile up in one debounce.
            let want = text.clone();
            wait_for(&[&bob.node], "bob has the save", || async {
                bob.read("notes.txt").as_deref() == Some(&*want)
            })
            .await;
        }
    }
    converged(&[&alice, &bob]).await;
    let got = bob.read("notes.txt").unwrap_or_default();
    let lost = (0..saves).filter(|i| !got.contains(&format!("save {i}\n"))).count() as u64;
    let deletes = seen.lock().unwrap().deletes_received;
    report(
        "editor_saves",
        saves,
        saves,
        lost,
        (engine_panics() - panics) as u64,
        &format!("deletes_seen={deletes}"),
    );
    assert_eq!(deletes, 0, "a save was read as a delete");
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "-c",
            "core.autocrlf=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `base` branch with one file, and two branches over `n` files: `b` changes a third of `a`'s
/// files, deletes a tenth, adds a tenth. Left on `start`.
fn two_branches(dir: &Path, n: usize, start: &str) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "base"]);
    std::fs::write(dir.join("README.md"), "# project\n").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    git(dir, &["checkout", "-q", "-b", "a"]);
    for i in 0..n {
        let p = dir.join(format!("src/m{}/f{i}.rs", i % 100));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("// file {i}\nfn f{i}() {{}}\n")).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "a"]);
    git(dir, &["checkout", "-q", "-b", "b"]);
    for i in 0..n {
        let p = dir.join(format!("src/m{}/f{i}.rs", i % 100));
        if i % 10 == 1 {
            std::fs::remove_file(p).unwrap();
        } else if i % 3 == 0 {
            std::fs::write(p, format!("// file {i}, branch b\nfn f{i}() -> u32 {{ {i} }}\n")).unwrap();
        }
    }
    for i in 0..n / 10 {
        let p = dir.join(format!("new/n{}/g{i}.rs", i % 20));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("// new {i}\n")).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "b"]);
    git(dir, &["checkout", "-q", start]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_checkout_of_thousands_of_files_converges_without_an_echo_or_a_lost_edit() {
    if Command::new("git").arg("--version").output().is_err() {
        eprintln!("git is not installed: the checkout case is not checked");
        return;
    }
    count_engine_panics();
    let panics = engine_panics();
    let n = setting("checkout_files", 2000, 10_000) as usize;
    let deadline_s = setting("checkout_deadline", 120, 600);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("alice");
    // Bob joins while the folder is on `base`: the thousands of files come by the checkout.
    two_branches(&dir, n, "base");
    tandem::Node::init(&dir).unwrap();
    let alice = Peer {
        node: tandem::Node::start(config(&dir, "alice")).await.unwrap(),
        dir: dir.clone(),
        tmp: None,
    };
    let deadline = Duration::from_secs(deadline_s);
    let bob = joined(&alice, "bob").await;
    converge_within(&alice, &bob, deadline, "bob joins with every file").await;
    let (ours, theirs) = (count_changes(&alice), count_changes(&bob));

    let mut switched = 0u64;
    let mut lost = 0u64;
    for (round, branch) in ["a", "b", "a"].iter().enumerate() {
        let before = synced(&dir);
        git(&dir, &["checkout", "-q", branch]);
        // Bob writes a note of his own while the checkout storms through.
        let note = format!("notes/bob-{round}.md");
        bob.write(&note, &format!("bob's note {round}\n"));
        let after = synced(&dir);
        switched += before.iter().filter(|(k, v)| after.get(*k) != Some(v)).count() as u64
            + after.keys().filter(|k| !before.contains_key(*k)).count() as u64;
        converge_within(&alice, &bob, deadline, &format!("checkout of {branch} converges")).await;
        let got = synced(&bob.dir);
        // Everything git put there, and every note of bob's, is on both sides.
        lost += after.iter().filter(|(k, v)| got.get(*k) != Some(v)).count() as u64;
        lost += (0..=round)
            .filter(|r| !got.contains_key(&format!("notes/bob-{r}.md")))
            .count() as u64;
    }
    let (o, t) = (*ours.lock().unwrap(), *theirs.lock().unwrap());
    println!(
        "checkout: {switched} files switched; alice published {} changes, bob {} of his own ({} outside his notes)",
        o.own, t.own, t.own_elsewhere
    );
    report(
        "git_checkout",
        3,
        switched,
        lost,
        (engine_panics() - panics) as u64,
        &format!("published={} echoed={}", o.own, t.own_elsewhere),
    );
    // Each switched file is at most a couple of changes (a delete-and-create, a write caught
    // halfway); an echo loop would grow without bound. Bob's own are his three notes.
    assert!(
        o.own <= 2 * switched + 10,
        "alice published {} changes for {switched} switched files",
        o.own
    );
    assert_eq!(t.lagged + o.lagged, 0, "events were dropped: counts are incomplete");
    assert_eq!(t.own_elsewhere, 0, "bob re-published changes he received (an echo)");
}

/// The synced files of a folder: everything but git's own.
fn synced(dir: &Path) -> BTreeMap<String, String> {
    let mut t = tree(dir);
    t.retain(|k, _| !k.starts_with(".git/"));
    t
}

async fn converge_within(a: &Peer, b: &Peer, deadline: Duration, what: &str) {
    let start = std::time::Instant::now();
    loop {
        let (ta, tb) = (synced(&a.dir), synced(&b.dir));
        if ta == tb {
            println!("{what}: {} files in {:.1} s", ta.len(), start.elapsed().as_secs_f64());
            return;
        }
        if start.elapsed() > deadline {
            let only_a: Vec<_> = ta.keys().filter(|k| tb.get(*k) != ta.get(*k)).take(10).collect();
            let only_b: Vec<_> = tb.keys().filter(|k| ta.get(*k) != tb.get(*k)).take(10).collect();
            let mut docs = Vec::new();
            for k in only_a.iter().chain(&only_b).take(5) {
                docs.push((
                    a.node.text(k).await.unwrap().map(|t| t.len()),
                    b.node.text(k).await.unwrap().map(|t| t.len()),
                ));
            }
            panic!(
                "timed out after {deadline:?}: {what} ({} vs {} files); differ: {only_a:?} / {only_b:?}; docs {docs:?}",
                ta.len(),
                tb.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Restores a sysctl when dropped.
struct Sysctl {
    path: &'static str,
    old: String,
}

impl Sysctl {
    fn set(path: &'static str, value: &str) -> Option<Sysctl> {
        let old = std::fs::read_to_string(path).ok()?;
        std::fs::write(path, value).ok()?;
        Some(Sysctl { path, old })
    }
}

impl Drop for Sysctl {
    fn drop(&mut self) {
        let _ = std::fs::write(self.path, self.old.trim());
    }
}

#[test]
fn a_watcher_queue_overflow_brings_a_full_rescan_and_loses_nothing() {
    let files = setting("overflow_files", 40, 45);
    let saves = setting("overflow_saves", 100, 1000);
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("alice");
    ok(&["init", a.to_str().unwrap()]);
    let alice_host = Host::new(a.clone(), None, "alice", "/ip4/127.0.0.1/tcp/0", false);
    let bob_host = Host::new(tmp.path().join("bob"), None, "bob", "/ip4/127.0.0.1/tcp/0", false);
    let panics = process_panics();
    // The queue size is read when a watcher is made: lower it only while alice starts. It stays
    // above the number of files: a rescan opens every file, and notify reports each open, so a
    // queue smaller than the folder would overflow again on every rescan (SECURITY.md §3).
    let alice = {
        let Some(_small) = Sysctl::set("/proc/sys/fs/inotify/max_queued_events", "64") else {
            eprintln!("cannot lower fs.inotify.max_queued_events (needs root): the overflow case is not checked");
            return;
        };
        alice_host.serve()
    };
    let _bob = bob_host.join(&invite(&a));
    // Far more events than the queue holds: every file saved over and over, as fast as the disk
    // takes it, round after round until the queue overflows.
    let mut rounds = 0;
    while rounds < 20 && (rounds == 0 || !alice.logged("overflowed")) {
        for save in 0..saves {
            for i in 0..files {
                let p = a.join(format!("burst/d{}/f{i}.txt", i % 10));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, format!("file {i} save {rounds}.{save}\n")).unwrap();
            }
        }
        rounds += 1;
        let last = rounds - 1;
        wait_until_within(Duration::from_secs(120), "bob has every file's last save", || {
            let t = tree(&bob_host.dir);
            (0..files).all(|i| {
                t.get(&format!("burst/d{}/f{i}.txt", i % 10)).map(String::as_str)
                    == Some(&format!("file {i} save {last}.{}\n", saves - 1))
            })
        });
    }
    // Every save of the last round was written in full: the last one is what must be there.
    let got = tree(&bob_host.dir);
    let lost = (0..files)
        .filter(|i| {
            got.get(&format!("burst/d{}/f{i}.txt", i % 10)).map(String::as_str)
                != Some(&format!("file {i} save {}.{}\n", rounds - 1, saves - 1))
        })
        .count() as u64;
    // Quiet now: the watcher must not keep reading files (its own reads are not changes). An
    // observation window, not a synchronisation: a loop would read every file every 100 ms.
    let before = alice.reads_by("tandem-watch");
    std::thread::sleep(Duration::from_secs(2));
    let idle_reads = alice.reads_by("tandem-watch") - before;
    let rescanned = alice.logged("overflowed");
    println!("overflow: {files} files saved {saves} times in each of {rounds} rounds");
    report(
        "watcher_overflow",
        alice.count("overflowed") as u64,
        files * saves * rounds,
        lost,
        (process_panics() - panics) as u64,
        &format!("rescanned={rescanned} idle_watcher_reads={idle_reads}"),
    );
    // A late rescan may fall in the window (two reads a file); a loop would read every file
    // every 100 ms, some forty times as much.
    assert!(
        idle_reads < files * 10,
        "alice's watcher read {idle_reads} times in 2 s of quiet: a read loop"
    );
    assert!(rescanned, "alice never said she rescanned: {}", alice.tail(20));
}

/// Joining a workspace that already holds 10,000 files, with the long settings only (about a
/// minute). It timed out before the watcher stopped re-reading every file it had read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_a_workspace_of_ten_thousand_files_completes() {
    if !crate::matrix::long() {
        eprintln!("long settings only (TANDEM_MATRIX=long): joining 10,000 files takes about a minute");
        return;
    }
    count_engine_panics();
    let panics = engine_panics();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("alice");
    two_branches(&dir, 10_000, "a");
    tandem::Node::init(&dir).unwrap();
    let alice = Peer {
        node: tandem::Node::start(config(&dir, "alice")).await.unwrap(),
        dir: dir.clone(),
        tmp: None,
    };
    let bob = joined(&alice, "bob").await;
    converge_within(&alice, &bob, Duration::from_secs(600), "bob joins with every file").await;
    let n = synced(&bob.dir).len() as u64;
    report("join_large", 0, n, 0, (engine_panics() - panics) as u64, "");
}
