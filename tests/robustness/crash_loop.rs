//! kill -9 at random moments while both peers edit: nothing acknowledged is ever lost, the
//! database stays sound, and the peers converge after every restart.

use crate::common::tree;
use crate::matrix::{report, seed, setting};
use crate::procs::{get_text, invite, ok, process_panics, set_text, Host};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Appends numbered lines to `file` through `dir`'s control socket until told to stop; returns
/// the lines the peer acknowledged (stored).
fn editor(
    dir: PathBuf,
    file: &'static str,
    who: &'static str,
    first: usize,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut acked = Vec::new();
        let mut known: Option<String> = None;
        let mut i = first;
        while !stop.load(Ordering::SeqCst) {
            let text = match known.take() {
                Some(t) => t,
                None => match get_text(&dir, file) {
                    Ok(t) => t.unwrap_or_default(),
                    Err(_) => break, // the peer is gone (killed): this round's editing is over
                },
            };
            let line = format!("{who} {i}\n");
            i += 1;
            let next = format!("{text}{line}");
            match set_text(&dir, file, &next) {
                Ok(()) => {
                    acked.push(line);
                    known = Some(next);
                }
                Err(_) => break,
            }
            // Typing pace, not synchronisation: a few dozen edits a second.
            std::thread::sleep(Duration::from_millis(15));
        }
        acked
    })
}

fn sound(dir: &Path) -> bool {
    let store = tandem::store::Store::open(&dir.join(".tandem/tandem.db"), Default::default()).unwrap();
    store.integrity_check().unwrap()
}

#[test]
fn acknowledged_edits_survive_kill_9_at_random_moments_and_the_peers_converge() {
    let rounds = setting("crash_rounds", 5, 50);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed("crash_loop"));
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("alice");
    ok(&["init", a.to_str().unwrap()]);
    let hosts = [
        Host::new(a.clone(), None, "alice", "/ip4/127.0.0.1/tcp/0", false),
        Host::new(tmp.path().join("bob"), None, "bob", "/ip4/127.0.0.1/tcp/0", false),
    ];
    let files = ["alice.txt", "bob.txt"];
    let names = ["alice", "bob"];
    let mut procs = [Some(hosts[0].serve()), None];
    procs[1] = Some(hosts[1].join(&invite(&a)));
    let panics_before = process_panics();

    let mut acked: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut next_line = [0usize; 2];
    let (mut lost, mut unsound, mut inputs) = (0u64, 0u64, 0u64);
    for round in 0..rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let editors: Vec<_> = (0..2)
            .map(|p| editor(hosts[p].dir.clone(), files[p], names[p], next_line[p], stop.clone()))
            .collect();
        // The random moment: anywhere from the first edits to well into a burst.
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..1200)));
        let victim = rng.gen_range(0..2);
        procs[victim].take().unwrap().kill9();
        stop.store(true, Ordering::SeqCst);
        for (p, e) in editors.into_iter().enumerate() {
            let got = e.join().unwrap();
            next_line[p] += got.len() + 1;
            inputs += got.len() as u64;
            acked[p].extend(got);
        }
        if !sound(&hosts[victim].dir) {
            unsound += 1;
            eprintln!("round {round}: {}'s database fails integrity_check", names[victim]);
        }
        procs[victim] = Some(hosts[victim].serve());

        // Everything the killed peer acknowledged, in every round so far, is still there.
        let text = get_text(&hosts[victim].dir, files[victim]).unwrap().unwrap_or_default();
        let missing = acked[victim].iter().filter(|l| !text.contains(l.as_str())).count() as u64;
        if missing > 0 {
            eprintln!("round {round}: {missing} acknowledged edits of {} lost", names[victim]);
        }
        lost += missing;
        let converged = || {
            let (ta, tb) = (tree(&hosts[0].dir), tree(&hosts[1].dir));
            ta == tb
                && (0..2).all(|p| {
                    let disk = ta.get(files[p]).map(String::as_str).unwrap_or("");
                    acked[p].iter().all(|l| disk.contains(l.as_str()))
                })
        };
        let start = std::time::Instant::now();
        while !converged() {
            if start.elapsed() > Duration::from_secs(60) {
                for p in 0..2 {
                    eprintln!("--- {}: {}", names[p], procs[p].as_ref().unwrap().tail(30));
                    for f in files {
                        let disk = std::fs::read_to_string(hosts[p].dir.join(f)).unwrap_or_default();
                        let doc = get_text(&hosts[p].dir, f).ok().flatten().unwrap_or_default();
                        eprintln!(
                            "{}: {f}: disk {} lines, doc {} lines",
                            names[p],
                            disk.lines().count(),
                            doc.lines().count()
                        );
                    }
                }
                panic!("round {round}: the peers did not converge within 60 s");
            }
            std::thread::park_timeout(Duration::from_millis(25));
        }
        println!(
            "round {round}: killed {} after {} + {} acknowledged edits; converged",
            names[victim],
            acked[0].len(),
            acked[1].len()
        );
    }
    let panics = (process_panics() - panics_before) as u64;
    report(
        "crash_loop",
        rounds,
        inputs,
        lost,
        panics,
        &format!("unsound_databases={unsound}"),
    );
    assert_eq!(unsound, 0, "a database failed integrity_check after kill -9");
}
