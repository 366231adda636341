//! Disk ⇄ core: a debounced `notify` watcher that reads changed files and reports them to the
//! core, and a writer that puts documents on disk atomically without clobbering a racing save.

use crate::core::{Cmd, DiskEvent, WriteCmd, WriteResult};
use crate::workspace::{self, Ignore, Layout, ReadOutcome, RelPath};
use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Shortest time between two writes of the same file.
const WRITE_EVERY: Duration = Duration::from_millis(20);

/// How long the watcher waits for a burst of events to settle (long enough that a program
/// writing a file in place is rarely caught between truncating and writing it).
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Keeps the watcher alive; dropping it stops watching.
pub struct Watcher {
    _debouncer: notify_debouncer_full::Debouncer<notify::RecommendedWatcher, notify_debouncer_full::RecommendedCache>,
}

/// Errors starting the watcher.
#[derive(Debug, thiserror::Error)]
#[error("could not watch {path}: {why}")]
pub struct WatchError {
    path: PathBuf,
    why: String,
}

/// Scans the folder once and tells the core (at start, and after an overflow).
pub fn rescan(layout: &Layout, core: &mpsc::UnboundedSender<Cmd>) {
    let ignore = Ignore::load(layout);
    let read_at = Instant::now();
    let ev = match workspace::scan(layout, &ignore) {
        Ok(_) if !layout.is_workspace() => DiskEvent::RootMissing,
        Ok(scan) => DiskEvent::Rescan(scan, read_at),
        Err(e) => {
            tracing::error!(error = %e, "scan failed");
            DiskEvent::RootMissing
        }
    };
    let _ = core.send(Cmd::Disk(ev));
}

/// A rescan the watcher asked for (its error, an overflow): such errors come at once, not
/// debounced, often while the folder is being removed, so the scan is trusted only if the
/// workspace is still there a debounce period later; a half-deleted folder would otherwise read
/// as every missing file deleted.
fn rescan_settled(layout: &Layout, core: &mpsc::UnboundedSender<Cmd>) {
    std::thread::sleep(DEBOUNCE);
    if !layout.is_workspace() {
        let _ = core.send(Cmd::Disk(DiskEvent::RootMissing));
        return;
    }
    rescan(layout, core);
}

/// Starts watching the workspace folder; events are read and sent to the core.
pub fn watch(layout: Layout, core: mpsc::UnboundedSender<Cmd>) -> Result<Watcher, WatchError> {
    let (tx, rx) = std_mpsc::channel::<DebounceEventResult>();
    let err = |e: notify::Error| WatchError {
        path: layout.root.clone(),
        why: e.to_string(),
    };
    let mut debouncer = new_debouncer(DEBOUNCE, None, tx).map_err(err)?;
    debouncer.watch(&layout.root, RecursiveMode::Recursive).map_err(err)?;
    std::thread::Builder::new()
        .name("tandem-watch".into())
        .spawn(move || watch_loop(layout, rx, core))
        .map_err(|e| WatchError {
            path: PathBuf::new(),
            why: e.to_string(),
        })?;
    Ok(Watcher { _debouncer: debouncer })
}

fn watch_loop(layout: Layout, rx: std_mpsc::Receiver<DebounceEventResult>, core: mpsc::UnboundedSender<Cmd>) {
    let mut ignore = Ignore::load(&layout);
    while let Ok(res) = rx.recv() {
        let events = match res {
            Ok(events) => events,
            Err(errors) => {
                for e in errors {
                    tracing::warn!(error = %e, "watcher error; rescanning");
                }
                rescan_settled(&layout, &core);
                continue;
            }
        };
        let mut paths = BTreeSet::new();
        let mut full = false;
        for ev in events {
            full |= ev.event.need_rescan();
            if is_change(&ev.event.kind) {
                paths.extend(ev.event.paths.iter().cloned());
            }
        }
        if full {
            tracing::warn!("the watcher's event queue overflowed (events were lost); rescanning the whole folder");
        }
        if !layout.is_workspace() {
            let _ = core.send(Cmd::Disk(DiskEvent::RootMissing));
            continue;
        }
        if paths.iter().any(|p| is_rule_file(&layout, p)) {
            ignore = Ignore::load(&layout);
            full = true;
        }
        for p in &paths {
            if full {
                break;
            }
            // A directory appearing (git checkout, mv of a folder) may hold files whose own
            // events came before its watch existed: scan everything instead.
            if p.is_dir() && p != &layout.root {
                full = true;
            }
        }
        if full {
            rescan_settled(&layout, &core);
            continue;
        }
        for p in paths {
            let Ok(rel) = RelPath::from_abs(&layout, &p) else {
                continue;
            };
            if ignore.is_ignored(&rel, false) {
                continue;
            }
            let read_at = Instant::now();
            let ev = match workspace::read_text(&layout, &rel) {
                ReadOutcome::Missing => DiskEvent::Removed(rel, read_at),
                other => DiskEvent::Changed(rel, other, read_at),
            };
            if core.send(Cmd::Disk(ev)).is_err() {
                return;
            }
        }
    }
}

/// Whether an event may mean new content. Opening or reading a file is not a change, and must not
/// count as one: this watcher's own reads would otherwise be seen and read again, for ever (with
/// 1,000 files, a quarter of a core while idle). A file closed after writing is a change.
fn is_change(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    !matches!(kind, EventKind::Access(a) if *a != AccessKind::Close(AccessMode::Write))
}

fn is_rule_file(layout: &Layout, p: &Path) -> bool {
    p.parent() == Some(layout.root.as_path())
        && matches!(
            p.file_name().and_then(|n| n.to_str()),
            Some(".gitignore" | ".tandemignore")
        )
}

/// Starts the writer thread; it serves until the sender is dropped.
pub fn writer(layout: Layout, core: mpsc::UnboundedSender<Cmd>) -> std::io::Result<std_mpsc::Sender<WriteCmd>> {
    let (tx, rx) = std_mpsc::channel::<WriteCmd>();
    std::thread::Builder::new().name("tandem-write".into()).spawn(move || {
        let mut last: HashMap<RelPath, Instant> = HashMap::new();
        while let Ok(cmd) = rx.recv() {
            let path = match &cmd {
                WriteCmd::Write { path, .. } | WriteCmd::Remove { path, .. } => path.clone(),
            };
            // A file being edited fast is rewritten at most every WRITE_EVERY: the core sends the
            // next write only when this one is done, so the edits meanwhile land in one write
            // instead of one rewrite of the whole file per keystroke. Other files are not held up.
            if let Some(wait) = last.get(&path).and_then(|t| WRITE_EVERY.checked_sub(t.elapsed())) {
                std::thread::sleep(wait);
            }
            last.insert(path, Instant::now());
            if last.len() > 10_000 {
                last.retain(|_, t| t.elapsed() < WRITE_EVERY);
            }
            let res = write_one(&layout, cmd);
            if core.send(Cmd::Wrote(res)).is_err() {
                return;
            }
        }
    })?;
    Ok(tx)
}

/// Writes only if the disk still holds what the core last saw, so a save made meanwhile wins
/// the race and comes back through the merge instead of being overwritten.
fn write_one(layout: &Layout, cmd: WriteCmd) -> WriteResult {
    let (path, expect) = match &cmd {
        WriteCmd::Write { path, expect, .. } => (path.clone(), expect.as_deref()),
        WriteCmd::Remove { path, expect } => (path.clone(), Some(expect.as_str())),
    };
    let now = workspace::read_text(layout, &path);
    let unchanged = match (&now, expect) {
        (ReadOutcome::Text(t), Some(e)) => t == e,
        (ReadOutcome::Missing, None) => true,
        _ => false,
    };
    if !unchanged {
        // Already what we want (e.g. the same edit made on both sides) counts as written.
        if let (ReadOutcome::Text(t), WriteCmd::Write { text, .. }) = (&now, &cmd) {
            if t == text {
                return WriteResult::Written(path, text.clone());
            }
        }
        return WriteResult::Raced(path, now);
    }
    match cmd {
        WriteCmd::Write { path, text, .. } => match workspace::write_atomic(layout, &path, &text) {
            Ok(()) => WriteResult::Written(path, text),
            Err(e) => WriteResult::Failed(path, e.to_string()),
        },
        WriteCmd::Remove { path, .. } => match workspace::remove_file(layout, &path) {
            Ok(()) => WriteResult::Removed(path),
            Err(e) => WriteResult::Failed(path, e.to_string()),
        },
    }
}

#[cfg(test)]
mod change_tests {
    use super::is_change;
    use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, EventKind, ModifyKind};

    #[test]
    fn reads_of_a_file_are_not_changes_but_a_close_after_writing_is() {
        assert!(!is_change(&EventKind::Access(AccessKind::Open(AccessMode::Any))));
        assert!(!is_change(&EventKind::Access(AccessKind::Read)));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(AccessMode::Read))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(AccessMode::Write))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(DataChange::Any))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
        assert!(is_change(&EventKind::Any));
    }
}
