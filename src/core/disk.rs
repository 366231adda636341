//! The core's side of disk ⇄ CRDT: a save on disk becomes a merged edit, a document change
//! becomes a guarded write, and our own writes are recognised by content, not echoed.

use super::{Core, DiskEvent, WriteCmd, WriteResult};
use crate::docs::DocId;
use crate::events::{Event, Origin};
use crate::merge;
use crate::workspace::{fold_name, ReadOutcome, RelPath, Skip};
use std::collections::{BTreeSet, HashMap};

/// Prefix of the `disk_bases` rows that hold the hash of a write about to be made (a workspace
/// path can never start with a control character).
pub(super) const INTENT: &str = "\u{1}write:";

fn text_hash(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex().to_string()
}

impl Core {
    pub(super) fn on_disk(&mut self, ev: DiskEvent) {
        if let DiskEvent::RootMissing = ev {
            if !self.root_missing {
                tracing::error!(root = %self.layout.root.display(), "workspace folder vanished: syncing of files stopped, nothing is deleted");
                let _ = self.out.events.send(Event::RootMissing);
            }
            self.root_missing = true;
            return;
        }
        if !self.layout.is_workspace() {
            // A vanishing folder reports its files as removed first: never read that as deletions.
            // Its `.tandem/` going too is the sign, and also catches a folder unmounted under us,
            // whose path then shows the empty folder beneath the mount.
            return self.on_disk(DiskEvent::RootMissing);
        }
        self.root_missing = false;
        match ev {
            DiskEvent::Changed(path, outcome, read_at) => self.on_read(path, outcome, read_at),
            DiskEvent::Removed(path, read_at) => self.on_read(path, ReadOutcome::Missing, read_at),
            DiskEvent::Rescan(scan, read_at) => {
                self.skipped = scan.skipped.into_iter().collect();
                let mut seen = BTreeSet::new();
                for (path, text) in scan.files {
                    seen.insert(path.clone());
                    self.on_read(path, ReadOutcome::Text(text), read_at);
                }
                for path in self.docs.live_files() {
                    if seen.contains(&path) || self.skipped.contains_key(path.as_str()) {
                        continue;
                    }
                    if self.disk_base.contains_key(&path) {
                        self.on_read(path, ReadOutcome::Missing, read_at);
                    } else {
                        // Never written here yet (arrived while we were down): write it now.
                        self.batch.dirty.insert(path);
                    }
                }
            }
            DiskEvent::RootMissing => {}
        }
    }

    fn on_file(&mut self, path: RelPath, outcome: ReadOutcome) {
        if let Some(in_flight) = self.writing.get(&path) {
            let ours = match &outcome {
                ReadOutcome::Text(t) => in_flight.as_deref() == Some(t.as_str()),
                ReadOutcome::Missing => in_flight.is_none(),
                ReadOutcome::Skipped(_) => false,
            };
            if ours {
                return; // our own write, seen before the writer confirmed it
            }
        }
        match outcome {
            ReadOutcome::Text(ours) => {
                self.skipped.remove(path.as_str());
                self.on_saved(path, ours);
            }
            ReadOutcome::Skipped(why) => {
                self.skipped.insert(path.to_string(), why);
            }
            ReadOutcome::Missing => {
                self.skipped.remove(path.as_str());
                if self.disk_base.remove(&path).is_none() {
                    return;
                }
                if let Err(e) = self.store.remove_disk_base(path.as_str()) {
                    tracing::warn!(path = %path, error = %e, "could not forget disk base");
                }
                if !self.may_edit_locally(&path) {
                    return;
                }
                if let Some(update) = self.docs.delete_file(&path) {
                    tracing::info!(path = %path, "deleted on disk");
                    self.local_change(DocId::File(path.clone()), update);
                    self.batch.events.push(Event::FileDeleted {
                        path: path.to_string(),
                        origin: Origin::Disk,
                    });
                }
            }
        }
    }

    /// A read from the watcher or a scan. One made before our latest write of the file is stale:
    /// merging that old text would revert what the write brought, so the file is read again now.
    fn on_read(&mut self, path: RelPath, outcome: ReadOutcome, read_at: std::time::Instant) {
        if self.written_at.get(&path).is_some_and(|w| read_at < *w) {
            let fresh = crate::workspace::read_text(&self.layout, &path);
            return self.on_file(path, fresh);
        }
        self.on_file(path, outcome);
    }

    fn may_edit_locally(&self, path: &RelPath) -> bool {
        if self.my_role().is_some_and(crate::members::Role::can_edit) {
            return true;
        }
        tracing::warn!(path = %path, "change on disk not shared: this peer may not edit files");
        false
    }

    /// A save on disk: rebase the user's change (base → ours) onto the live text.
    fn on_saved(&mut self, path: RelPath, ours: String) {
        if !self.batch.old_bases.iter().any(|(p, _)| *p == path) {
            let old = self.disk_base.get(&path).cloned();
            self.batch.old_bases.push((path.clone(), old));
        }
        if self.intended.get(&path).is_some_and(|h| *h == text_hash(&ours)) && self.disk_base.get(&path) != Some(&ours)
        {
            // Our own write, made just before a crash and never confirmed: it is the base now.
            self.set_disk_base(&path, ours.clone());
        }
        let base = self.disk_base.get(&path).cloned();
        if base.as_deref() == Some(ours.as_str()) {
            // Nothing new on disk, but the document may be ahead of it: edits stored just before
            // a crash (kill -9) and never written out would otherwise stay off disk until the
            // next change to the file.
            if self.docs.live_text(&path).as_deref() != Some(ours.as_str()) {
                self.batch.dirty.insert(path);
            }
            return;
        }
        if self.docs.live_text(&path).as_deref() == Some(ours.as_str()) {
            // Already the document's text (say, written just before a crash): only the base moves.
            self.set_disk_base(&path, ours);
            return;
        }
        if !self.may_edit_locally(&path) {
            return;
        }
        if !self.docs.has_room_for(&DocId::File(path.clone())) {
            let max = self.docs.max_docs();
            if self.skipped.insert(path.to_string(), Skip::LimitReached(max)).is_none() {
                tracing::warn!(path = %path, limit = max, "new file not synced: the workspace holds the most documents this peer takes");
            }
            return;
        }
        let splices = match self.docs.live_text(&path) {
            Some(theirs) => merge::rebase(base.as_deref().unwrap_or(""), &ours, &theirs),
            // New, or re-created after a delete: the save is the whole truth.
            None => {
                self.batch.events.push(Event::FileCreated {
                    path: path.to_string(),
                    origin: Origin::Disk,
                });
                let old = self.docs.raw_text(&path).unwrap_or_default();
                merge::diff(&old, &ours)
            }
        };
        if let Some(update) = self.docs.edit_file(&path, &splices) {
            tracing::debug!(path = %path, splices = splices.len(), "change on disk");
            self.local_change(DocId::File(path.clone()), update);
            self.batch.events.push(Event::FileChanged {
                path: path.to_string(),
                origin: Origin::Disk,
            });
        }
        self.set_disk_base(&path, ours.clone());
        if self.docs.live_text(&path).as_deref() != Some(ours.as_str()) {
            // The merge kept a teammate's concurrent edit: put the merged text on disk.
            self.batch.dirty.insert(path);
        }
    }

    fn set_disk_base(&mut self, path: &RelPath, text: String) {
        if let Err(e) = self.store.set_disk_base(path.as_str(), &text) {
            tracing::warn!(path = %path, error = %e, "could not record disk base");
        }
        self.disk_base.insert(path.clone(), text);
    }

    /// Puts back a disk base a failed commit had moved (memory first; the store as it can).
    pub(super) fn restore_disk_base(&mut self, path: &RelPath, old: Option<String>) {
        match old {
            Some(text) => self.set_disk_base(path, text),
            None => {
                self.disk_base.remove(path);
                if let Err(e) = self.store.remove_disk_base(path.as_str()) {
                    tracing::warn!(path = %path, error = %e, "could not forget disk base");
                }
            }
        }
    }

    /// Retries what the disk refused: writes that failed, and saves that could not be stored.
    pub(super) fn retry_disk(&mut self) {
        if self.root_missing {
            return;
        }
        for path in std::mem::take(&mut self.reread) {
            let now = std::time::Instant::now();
            let outcome = crate::workspace::read_text(&self.layout, &path);
            self.on_read(path, outcome, now);
        }
        for path in self.failed_writes.clone() {
            self.write_out(&path);
        }
    }

    pub(super) fn on_wrote(&mut self, res: WriteResult) {
        match res {
            WriteResult::Written(path, text) => {
                self.writing.remove(&path);
                self.failed_writes.remove(&path);
                self.written_at.insert(path.clone(), std::time::Instant::now());
                let _ = self.out.events.send(Event::FileWritten { path: path.to_string() });
                self.set_disk_base(&path, text);
                self.write_out(&path);
            }
            WriteResult::Removed(path) => {
                self.writing.remove(&path);
                self.failed_writes.remove(&path);
                self.written_at.insert(path.clone(), std::time::Instant::now());
                let _ = self.out.events.send(Event::FileWritten { path: path.to_string() });
                self.disk_base.remove(&path);
                if let Err(e) = self.store.remove_disk_base(path.as_str()) {
                    tracing::warn!(path = %path, error = %e, "could not forget disk base");
                }
                self.write_out(&path);
            }
            WriteResult::Raced(path, now) => {
                self.writing.remove(&path);
                self.failed_writes.remove(&path);
                self.on_file(path.clone(), now);
                self.write_out(&path);
            }
            WriteResult::Failed(path, why) => {
                self.writing.remove(&path);
                // Logged once until the file is written again, not on every retry.
                if self.failed_writes.insert(path.clone()) {
                    tracing::error!(path = %path, error = %why, "could not write file; retrying every second");
                }
            }
        }
    }

    /// Writes out changed documents, except a new file whose name another live file shares on a
    /// case-insensitive, normalising file system: only one of them may ever reach the disk, or two
    /// documents would overwrite each other there. The rule holds on every peer, whatever its file
    /// system: the one already on this disk stays, else the first in byte order is written.
    pub(super) fn write_dirty(&mut self, dirty: BTreeSet<RelPath>) {
        let creating = dirty.iter().any(|p| !self.disk_base.contains_key(p));
        let groups = creating.then(|| self.fold_groups());
        for path in dirty {
            if let Some(other) = groups.as_ref().and_then(|g| self.clash(&path, g)) {
                let why = Skip::NameClash(other.to_string());
                if self.skipped.insert(path.to_string(), why).is_none() {
                    tracing::warn!(path = %path, other = %other, "file not written: its name clashes with another's");
                }
                continue;
            }
            self.write_out(&path);
        }
    }

    fn fold_groups(&self) -> HashMap<String, Vec<RelPath>> {
        let mut groups: HashMap<String, Vec<RelPath>> = HashMap::new();
        for path in self.docs.live_files() {
            groups.entry(fold_name(path.as_str())).or_default().push(path);
        }
        groups
    }

    /// The file that keeps new file `path` off the disk: another of its fold that is on this disk
    /// already (or on its way there), or that sorts first.
    fn clash(&self, path: &RelPath, groups: &HashMap<String, Vec<RelPath>>) -> Option<RelPath> {
        if self.is_on_disk(path) {
            return None;
        }
        let group = groups.get(&fold_name(path.as_str()))?;
        group
            .iter()
            .filter(|other| *other != path)
            .find(|other| self.is_on_disk(other) || *other < path)
            .cloned()
    }

    /// Whether the file is on this disk, or being written there.
    fn is_on_disk(&self, path: &RelPath) -> bool {
        self.disk_base.contains_key(path) || self.writing.get(path).is_some_and(Option::is_some)
    }

    /// Sends the document's text to disk if it differs from what is there and no write is in flight.
    pub(super) fn write_out(&mut self, path: &RelPath) {
        if self.root_missing || self.writing.contains_key(path) {
            return;
        }
        let want = self.docs.live_text(path);
        let have = self.disk_base.get(path);
        let cmd = match (want, have) {
            (Some(w), Some(h)) if &w == h => return,
            (Some(w), h) => WriteCmd::Write {
                path: path.clone(),
                text: w,
                expect: h.cloned(),
            },
            (None, Some(h)) => WriteCmd::Remove {
                path: path.clone(),
                expect: h.clone(),
            },
            (None, None) => return,
        };
        let target = match &cmd {
            WriteCmd::Write { text, .. } => Some(text.clone()),
            WriteCmd::Remove { .. } => None,
        };
        if let Some(text) = &target {
            let hash = text_hash(text);
            if let Err(e) = self.store.set_disk_base(&format!("{INTENT}{path}"), &hash) {
                tracing::warn!(path = %path, error = %e, "could not record a write before making it");
            }
            self.intended.insert(path.clone(), hash);
        }
        if self.out.writer.send(cmd).is_ok() {
            self.writing.insert(path.clone(), target);
        }
    }
}
