//! A full disk and a read-only folder under a running `tandem serve`: a clear error, a sound
//! database, nothing acknowledged lost, and edits flow again once the disk is usable.

use crate::common::tree;
use crate::matrix::{report, setting};
use crate::procs::{invite, ok, process_panics, set_text, wait_until_within, Host};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn mount_tmpfs(dir: &Path, size: &str) -> bool {
    std::fs::create_dir_all(dir).unwrap();
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tandem-test"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Unmounts when dropped (lazily: a failing test may leave a process holding files open).
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// `PRAGMA integrity_check` on a database a running peer holds open, read-only.
fn sound(dir: &Path) -> bool {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let conn = rusqlite::Connection::open_with_flags(dir.join(".tandem/tandem.db"), flags).unwrap();
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    verdict == "ok"
}

/// Empties the database's write-ahead log into the database and truncates it.
fn checkpoint_truncate(dir: &Path) {
    let conn = rusqlite::Connection::open(dir.join(".tandem/tandem.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let _: (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
}

/// Fills the file system holding `path` until it refuses more.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![b'x'; 64 << 10];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_refuses_edits_clearly_keeps_the_database_sound_and_recovers_when_space_returns() {
    let rounds = setting("full_disk_rounds", 1, 5);
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("alice");
    if !mount_tmpfs(&a, "24m") {
        eprintln!("cannot mount a tmpfs here (needs root): the full-disk case is not checked");
        return;
    }
    let _mount = Mounted(a.clone());
    ok(&["init", a.to_str().unwrap()]);
    std::fs::write(a.join("a.txt"), "alice's file\n").unwrap();
    let alice_host = Host::new(a.clone(), None, "alice", "/ip4/127.0.0.1/tcp/0", false);
    let bob_host = Host::new(tmp.path().join("bob"), None, "bob", "/ip4/127.0.0.1/tcp/0", false);
    let panics = process_panics();
    let alice = alice_host.serve();
    let _bob = bob_host.join(&invite(&a));
    let b = bob_host.dir.clone();
    wait_until_within(Duration::from_secs(30), "bob has alice's file", || {
        b.join("a.txt").exists()
    });

    let ballast = a.join(".tandem/ballast");
    let (mut acked, mut refused, mut bob_lines) = (Vec::new(), Vec::new(), Vec::new());
    let mut text = String::from("alice's file\n");
    let mut unsound = 0;
    let mut disk_saves = Vec::new();
    for round in 0..rounds {
        fill(&ballast);
        // Big edits, so that they cannot all fit in the room SQLite keeps in its files.
        for i in 0..8 {
            let line = format!("round {round} edit {i} {}\n", "y".repeat(64 << 10));
            let next = format!("{text}{line}");
            match set_text(&a, "a.txt", &next) {
                Ok(()) => {
                    acked.push(line);
                    text = next;
                }
                Err(e) => refused.push(e),
            }
            // Bob keeps editing his own file meanwhile: alice must get it all once she can.
            let bl = format!("bob round {round} line {i}\n");
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(b.join("b.txt"))
                .unwrap();
            f.write_all(bl.as_bytes()).unwrap();
            bob_lines.push(bl);
        }
        // A save in the last room on the disk: the file is on disk, but the database has no
        // room left to take it in (its log emptied first, so it cannot reuse old room). The save
        // must not be lost, nor overwritten later.
        // (A checkpoint needs room itself: make some, then fill the disk again.)
        std::fs::remove_file(&ballast).unwrap();
        checkpoint_truncate(&a);
        fill(&ballast);
        let room = std::fs::metadata(&ballast).unwrap().len().saturating_sub(512 << 10);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&ballast)
            .unwrap()
            .set_len(room)
            .unwrap();
        let saved = format!("round {round} saved in the last room {}\n", "z".repeat(320 << 10));
        let on_disk = std::fs::read_to_string(a.join("a.txt")).unwrap();
        let refusals = alice.count("could not store updates");
        let write = std::fs::write(a.join("a.txt"), format!("{on_disk}{saved}"));
        fill(&a.join(".tandem/ballast3"));
        if let Err(e) = write {
            println!("round {round}: the save itself did not fit: {e}");
        } else {
            disk_saves.push(saved);
            wait_until_within(
                Duration::from_secs(30),
                "alice says she could not store the save",
                || alice.count("could not store updates") > refusals,
            );
        }
        if !sound(&a) {
            unsound += 1;
        }
        assert!(!refused.is_empty(), "round {round}: a full disk refused nothing");
        std::fs::remove_file(&ballast).unwrap();
        std::fs::remove_file(a.join(".tandem/ballast3")).unwrap();

        // Space is back: her edits are taken again, and everything flows both ways.
        wait_until_within(Duration::from_secs(30), "alice takes her save in", || {
            crate::procs::get_text(&a, "a.txt")
                .ok()
                .flatten()
                .is_some_and(|t| disk_saves.iter().all(|l| t.contains(l.as_str())))
        });
        text = crate::procs::get_text(&a, "a.txt").unwrap().unwrap();
        let line = format!("round {round} after the disk had room again\n");
        let next = format!("{text}{line}");
        set_text(&a, "a.txt", &next).unwrap();
        acked.push(line);
        text = next;
        crate::procs::wait_until_or(
            Duration::from_secs(60),
            &format!("round {round}: the peers converge after the disk had room again"),
            || {
                let (ta, tb) = (tree(&a), tree(&b));
                ta == tb
                    && acked
                        .iter()
                        .chain(&disk_saves)
                        .all(|l| ta.get("a.txt").is_some_and(|t| t.contains(l.as_str())))
                    && bob_lines
                        .iter()
                        .all(|l| ta.get("b.txt").is_some_and(|t| t.contains(l.as_str())))
            },
            || {
                let short = |t: &str| {
                    t.lines()
                        .map(|l| l.chars().take(40).collect::<String>())
                        .collect::<Vec<_>>()
                        .join(" | ")
                };
                let mut out = String::new();
                for (who, dir) in [("alice", &a), ("bob", &b)] {
                    for f in ["a.txt", "b.txt"] {
                        let disk = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
                        let doc = crate::procs::get_text(dir, f).ok().flatten().unwrap_or_default();
                        out += &format!("{who} {f} disk: {}\n{who} {f} doc:  {}\n", short(&disk), short(&doc));
                    }
                }
                out + &alice.tail(40)
            },
        );
    }
    let first = &refused[0];
    println!(
        "full disk: {} edits acknowledged, {} refused, {} saved on disk in the last room, e.g.: {first}",
        acked.len(),
        refused.len(),
        disk_saves.len()
    );
    assert!(
        refused
            .iter()
            .all(|e| e.contains("could not store") && e.contains("full")),
        "refusals say what failed and why: {refused:?}"
    );
    let wrote_failed = alice.logged("could not write file");
    println!("full disk: alice logged a failed file write: {wrote_failed}");
    report(
        "full_disk",
        rounds,
        (acked.len() + refused.len() + bob_lines.len() + disk_saves.len()) as u64,
        0,
        (process_panics() - panics) as u64,
        &format!("refused={} unsound_databases={unsound}", refused.len()),
    );
    assert_eq!(unsound, 0, "the database failed integrity_check on a full disk");
}

#[test]
fn a_read_only_folder_is_reported_keeps_its_state_and_catches_up_when_writable_again() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("alice");
    ok(&["init", a.to_str().unwrap()]);
    // The workspace's `docs/` is its own file system, so it can turn read-only under the peer.
    let docs = a.join("docs");
    if !mount_tmpfs(&docs, "4m") {
        eprintln!("cannot mount a tmpfs here (needs root): the read-only case is not checked");
        return;
    }
    let _mount = Mounted(docs.clone());
    std::fs::write(docs.join("guide.md"), "# guide\n").unwrap();
    let alice_host = Host::new(a.clone(), None, "alice", "/ip4/127.0.0.1/tcp/0", false);
    let bob_host = Host::new(tmp.path().join("bob"), None, "bob", "/ip4/127.0.0.1/tcp/0", false);
    let panics = process_panics();
    let alice = alice_host.serve();
    let _bob = bob_host.join(&invite(&a));
    let b = bob_host.dir.clone();
    wait_until_within(Duration::from_secs(30), "bob has the guide", || {
        b.join("docs/guide.md").exists()
    });

    let remount = |mode: &str| {
        assert!(Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&docs)
            .status()
            .unwrap()
            .success())
    };
    remount("ro");
    std::fs::write(b.join("docs/guide.md"), "# guide\nbob's chapter\n").unwrap();
    wait_until_within(
        Duration::from_secs(30),
        "alice takes bob's edit in and says she cannot write it",
        || {
            crate::procs::get_text(&a, "docs/guide.md").ok().flatten().as_deref() == Some("# guide\nbob's chapter\n")
                && alice.logged("could not write file")
        },
    );
    let said = alice.tail(200);
    let said = said
        .lines()
        .rev()
        .find(|l| l.contains("could not write file"))
        .unwrap_or_default()
        .to_string();
    println!("read-only: alice says: {said}");
    assert!(
        said.contains("docs/guide.md") && said.contains("Read-only file system"),
        "{said}"
    );
    assert_eq!(std::fs::read_to_string(docs.join("guide.md")).unwrap(), "# guide\n");
    let intact = sound(&a);

    remount("rw");
    wait_until_within(
        Duration::from_secs(60),
        "bob's edit reaches alice's disk once it is writable",
        || std::fs::read_to_string(docs.join("guide.md")).is_ok_and(|t| t == "# guide\nbob's chapter\n"),
    );
    std::fs::write(docs.join("guide.md"), "# guide\nbob's chapter\nalice's answer\n").unwrap();
    wait_until_within(Duration::from_secs(30), "and alice's next save reaches bob", || {
        std::fs::read_to_string(b.join("docs/guide.md")).is_ok_and(|t| t.contains("alice's answer"))
    });
    report(
        "read_only_folder",
        1,
        2,
        0,
        (process_panics() - panics) as u64,
        &format!("database_sound={intact}"),
    );
    assert!(intact, "the database failed integrity_check");
}
