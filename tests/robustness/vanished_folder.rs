//! The workspace folder deleted or unmounted under a running peer: it stops syncing the folder
//! and says why, and its teammates keep every file (they are never told every file was deleted).
//! (tests/sync.rs covers a folder moved away.)

use crate::common::{config, joined, tree, wait_for, Peer};
use crate::matrix::{count_engine_panics, engine_panics, report};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const FILES: usize = 40;

fn files() -> Vec<(String, String)> {
    (0..FILES)
        .map(|i| (format!("dir{}/file{i}.txt", i % 4), format!("content of file {i}\n")))
        .collect()
}

async fn owner_in(dir: &Path) -> Peer {
    for (rel, text) in files() {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    tandem::Node::init(dir).unwrap();
    Peer {
        node: tandem::Node::start(config(dir, "alice")).await.unwrap(),
        dir: dir.to_path_buf(),
        tmp: None,
    }
}

/// After `vanish` takes alice's folder away: she reports it, an edit made through her API still
/// reaches bob (so anything she published before it has too), and bob still has every file.
async fn vanish_and_check(scenario: &str, alice: Peer, vanish: impl FnOnce(&Path)) {
    count_engine_panics();
    let panics = engine_panics();
    let bob = joined(&alice, "bob").await;
    crate::common::converged(&[&alice, &bob]).await;
    let before: BTreeMap<String, String> = tree(&bob.dir);
    assert_eq!(before.len(), FILES);

    vanish(&alice.dir);
    wait_for(&[&alice.node], "alice reports her folder missing", || async {
        alice.node.status().await.unwrap().docs.root_missing
    })
    .await;
    alice
        .node
        .set_text("after.txt", "made after the folder went\n")
        .await
        .unwrap();
    wait_for(&[&bob.node], "bob receives alice's later edit", || async {
        bob.read("after.txt").is_some()
    })
    .await;
    let mut after = tree(&bob.dir);
    after.remove("after.txt");
    let lost = before.keys().filter(|k| after.get(*k) != before.get(*k)).count() as u64;
    let status = alice.node.status().await.unwrap();
    assert_eq!(
        status.docs.files.len(),
        FILES + 1,
        "alice's documents are all still live: {:?}; bob has {} files, lost {lost}",
        status.docs.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
        after.len()
    );
    report(scenario, 1, FILES as u64, lost, (engine_panics() - panics) as u64, "");
    alice.node.shutdown().await;
    bob.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_workspace_folder_stops_syncing_and_its_files_stay_with_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let alice = owner_in(&tmp.path().join("alice")).await;
    vanish_and_check("folder_deleted", alice, |dir| std::fs::remove_dir_all(dir).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmounted_workspace_folder_stops_syncing_and_its_files_stay_with_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("alice");
    std::fs::create_dir_all(&dir).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16m", "tandem-test", dir.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a tmpfs here (needs root): the unmount case is not checked");
        return;
    }
    let alice = owner_in(&dir).await;
    // Lazily, as a yanked drive or a dropped share: the engine's open files stay usable, and the
    // path now shows the empty folder underneath.
    vanish_and_check("folder_unmounted", alice, |dir| {
        assert!(Command::new("umount").arg("-l").arg(dir).status().unwrap().success());
    })
    .await;
}
