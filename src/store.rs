//! SQLite persistence: per-document update logs, snapshots, metadata, invites and disk bases.
//!
//! Durability: the database runs in WAL mode. With `synchronous=NORMAL` ([`Durability::Normal`],
//! the engine's default) a committed transaction survives a crash of the process (kill -9), but
//! the last few commits may be lost on power loss or an OS crash, because the WAL is only fsynced
//! at checkpoints. [`Durability::Full`] survives power loss at the cost of one fsync per commit
//! (per batch, since [`Store::append`] commits a whole batch at once).
//!
//! Nothing read back from the file is trusted: a document row that cannot be read is reported as
//! [`StoreError::BadRow`] naming it, so the caller can [`Store::quarantine`] it and load again
//! instead of crash-looping.

use crate::members::Role;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, Value, ValueRef};
use rusqlite::{params, params_from_iter, Connection, ErrorCode, OptionalExtension, Result as SqlResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `MIGRATIONS[i]` takes a database from schema version `i` to `i + 1`: append, never edit.
const MIGRATIONS: &[&str] = &["
CREATE TABLE updates (id INTEGER PRIMARY KEY AUTOINCREMENT, doc TEXT NOT NULL, data BLOB NOT NULL) STRICT;
CREATE INDEX updates_by_doc ON updates (doc);
CREATE TABLE snapshots (doc TEXT PRIMARY KEY, data BLOB NOT NULL) STRICT;
CREATE TABLE quarantine (id INTEGER PRIMARY KEY, doc TEXT NOT NULL, row_id INTEGER, data ANY,
                         reason TEXT NOT NULL, at INTEGER NOT NULL) STRICT;
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;
CREATE TABLE invites (hash BLOB PRIMARY KEY, role INTEGER NOT NULL, expires_at INTEGER NOT NULL,
                      used_at INTEGER) STRICT;
CREATE TABLE disk_bases (path TEXT PRIMARY KEY, text TEXT NOT NULL) STRICT;
"];
// AUTOINCREMENT so a row id is never reused after compaction empties the table: `through_row`
// must never cover a row appended later. STRICT so a wrong-typed value cannot even be written.

/// Every fallible store operation returns this.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// What went wrong in the store, where, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An SQLite call failed.
    #[error("{what} failed in {path}: {err}{}", hint(.err))]
    Sqlite {
        what: String,
        path: PathBuf,
        err: rusqlite::Error,
    },
    /// The file is not SQLite, is damaged, or belongs to another program.
    #[error("{path} is not a Tandem database (corrupt, or another program's): move it aside and restore a backup, or delete it to start this workspace's history afresh")]
    NotADatabase { path: PathBuf },
    /// A newer Tandem wrote this database; this one cannot read it safely.
    #[error("{path} has schema version {found} but this Tandem knows only up to {SCHEMA_VERSION}: upgrade Tandem")]
    TooNew { path: PathBuf, found: i64 },
    /// A document's row holds the wrong kind of value; quarantine it so the rest loads.
    #[error("the {} of document {doc:?} in {path} is unreadable ({detail}); quarantine it so the document loads without it", row_name(*.row))]
    BadRow {
        path: PathBuf,
        doc: String,
        /// The update row, or `None` for the snapshot.
        row: Option<i64>,
        detail: String,
    },
    /// [`Store::quarantine`] was asked for a row that is not there.
    #[error("nothing to quarantine in {path}: document {doc:?} has no {} (already removed?)", row_name(*.row))]
    NoSuchRow {
        path: PathBuf,
        doc: String,
        row: Option<i64>,
    },
}

fn row_name(row: Option<i64>) -> String {
    row.map_or_else(|| "snapshot".into(), |id| format!("update row {id}"))
}

fn hint(e: &rusqlite::Error) -> &'static str {
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => "; the disk is full: free some space and retry",
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen) => {
            "; check that the .tandem folder exists and is writable by this user"
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "; another process holds the database: is a second Tandem running on this folder?"
        }
        Some(ErrorCode::DatabaseCorrupt) => "; the file is corrupt: move it aside and restore a backup",
        _ => "",
    }
}

/// Runs `f`, wrapping an SQLite failure with what was being done and where.
fn run<T>(path: &Path, what: impl Into<String>, f: impl FnOnce() -> SqlResult<T>) -> Result<T> {
    f().map_err(|err| match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { path: path.into() },
        _ => StoreError::Sqlite {
            what: what.into(),
            path: path.into(),
            err,
        },
    })
}

/// One document as stored: its snapshot, if compacted, and the updates appended after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDoc {
    /// The document id, e.g. `ws` or `f:src/main.rs`.
    pub doc: String,
    /// The latest compacted state, if any.
    pub snapshot: Option<Vec<u8>>,
    /// `(row id, update)` in append order.
    pub updates: Vec<(i64, Vec<u8>)>,
}

impl StoredDoc {
    fn new(doc: &str) -> StoredDoc {
        let doc = doc.to_string();
        StoredDoc {
            doc,
            snapshot: None,
            updates: Vec::new(),
        }
    }
}

/// How hard a commit is pushed to the disk (`PRAGMA synchronous`); see the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Survives a process crash; may lose the last commits on power loss.
    #[default]
    Normal,
    /// Survives power loss; one fsync per commit.
    Full,
}

/// An invite not yet used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpenInvite {
    /// Short id to cancel it by (not the code: the code is never stored).
    pub id: String,
    /// Role it grants.
    pub role: Role,
    /// Unix seconds.
    pub expires_at: u64,
}

/// A move to a new workspace key, saved by [`Store::rotate_key`].
pub struct KeyRotation<'a> {
    /// The new key.
    pub key: &'a [u8; 32],
    /// Its epoch.
    pub epoch: u32,
    /// The signed grant, encoded.
    pub grant: &'a [u8],
    /// The key it replaces.
    pub previous: &'a [u8; 32],
    /// Until when the replaced key is still accepted from members (Unix seconds).
    pub previous_until: u64,
}

fn invite_id(hash: &[u8]) -> String {
    hash.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// The outcome of redeeming an invite token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeInvite {
    /// Valid, now used up; grants this role.
    Ok(Role),
    /// No invite with this token was issued here.
    Unknown,
    /// Issued, but past its expiry.
    Expired,
    /// Already redeemed.
    Used,
}

/// The workspace database in `.tandem/`.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl FromSql for Role {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Role> {
        let code = v.as_i64()?;
        let role = u8::try_from(code).ok().and_then(Role::from_code);
        role.ok_or(FromSqlError::OutOfRange(code))
    }
}

fn blob(path: &Path, doc: &str, row: Option<i64>, v: Value) -> Result<Vec<u8>> {
    match v {
        Value::Blob(b) => Ok(b),
        other => Err(StoreError::BadRow {
            path: path.into(),
            doc: doc.into(),
            row,
            detail: format!("{} where bytes belong", other.data_type()),
        }),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn token_hash(token: &[u8; 16]) -> [u8; 32] {
    *blake3::hash(token).as_bytes()
}

impl Store {
    /// Opens (creating if absent) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, durability: Durability) -> Result<Store> {
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        let conn = run(path, "opening the database", || {
            let mut conn = Connection::open(path)?;
            // Every transaction here writes: taking the lock up front avoids BUSY on upgrade.
            conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
            conn.pragma_update(None, "synchronous", sync)?;
            Ok(conn)
        })?;
        let mut store = Store {
            conn,
            path: path.into(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        loop {
            let (conn, path) = (&mut self.conn, &self.path);
            // Read under the write lock, so two processes opening a fresh file do not both migrate.
            let tx = run(path, "starting a migration", || conn.transaction())?;
            let (found, empty): (i64, bool) = run(path, "reading the schema version", || {
                let sql = "SELECT user_version, (SELECT count(*) = 0 FROM sqlite_schema) \
                           FROM pragma_user_version";
                tx.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
            })?;
            if found > SCHEMA_VERSION {
                return Err(StoreError::TooNew {
                    path: path.clone(),
                    found,
                });
            }
            if found == SCHEMA_VERSION {
                return Ok(());
            }
            // Version 0 with tables in it, or a negative version, is some other program's file.
            let step = match usize::try_from(found) {
                Ok(0) if !empty => None,
                Ok(i) => MIGRATIONS.get(i),
                Err(_) => None,
            };
            let Some(step) = step else {
                return Err(StoreError::NotADatabase { path: path.clone() });
            };
            run(path, format!("migrating from version {found}"), || {
                tx.execute_batch(step)?;
                tx.pragma_update(None, "user_version", found + 1)?;
                tx.commit()
            })?;
        }
    }

    /// Appends `(doc, update)` rows in one transaction; on `Ok` they are committed.
    pub fn append(&mut self, batch: &[(&str, &[u8])]) -> Result<()> {
        let conn = &mut self.conn;
        run(&self.path, "appending updates", || {
            let tx = conn.transaction()?;
            let mut insert = tx.prepare_cached("INSERT INTO updates (doc, data) VALUES (?1, ?2)")?;
            for (doc, data) in batch {
                insert.execute(params![doc, data])?;
            }
            drop(insert);
            tx.commit()
        })
    }

    /// Every stored document with its snapshot and the updates after it, ordered by doc id.
    pub fn load_all(&self) -> Result<Vec<StoredDoc>> {
        self.load(None)
    }

    /// One document; empty (no snapshot, no updates) if nothing is stored for it.
    pub fn load_doc(&self, doc: &str) -> Result<StoredDoc> {
        let found = self.load(Some(doc))?.pop();
        Ok(found.unwrap_or_else(|| StoredDoc::new(doc)))
    }

    fn load(&self, only: Option<&str>) -> Result<Vec<StoredDoc>> {
        let filter = only.map_or("", |_| " WHERE doc = ?1");
        // Values are read as `Value`, which never fails, so a wrong-typed row can be named.
        type Rows = (Vec<(String, Value)>, Vec<(i64, String, Value)>);
        let (snapshots, updates): Rows = run(&self.path, "loading documents", || {
            let sql = format!("SELECT doc, data FROM snapshots{filter}");
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let snapshots = stmt.query_map(params_from_iter(only), |r| Ok((r.get(0)?, r.get(1)?)))?;
            let sql = format!("SELECT id, doc, data FROM updates{filter} ORDER BY id");
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let updates = stmt.query_map(params_from_iter(only), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok((snapshots.collect::<Result<_, _>>()?, updates.collect::<Result<_, _>>()?))
        })?;
        let mut docs = BTreeMap::new();
        for (doc, data) in snapshots {
            let data = blob(&self.path, &doc, None, data)?;
            docs.entry(doc).or_insert_with_key(|d| StoredDoc::new(d)).snapshot = Some(data);
        }
        for (id, doc, data) in updates {
            let data = blob(&self.path, &doc, Some(id), data)?;
            docs.entry(doc)
                .or_insert_with_key(|d| StoredDoc::new(d))
                .updates
                .push((id, data));
        }
        Ok(docs.into_values().collect())
    }

    /// How many update rows `doc` has after its snapshot (a hint for when to compact).
    pub fn update_count(&self, doc: &str) -> Result<u64> {
        let sql = "SELECT count(*) FROM updates WHERE doc = ?1";
        run(&self.path, "counting updates", || {
            self.conn.query_row(sql, [doc], |r| r.get(0))
        })
    }

    /// The id of `doc`'s newest update row: what [`Store::compact`] takes as `through_row`.
    pub fn last_row(&self, doc: &str) -> Result<Option<i64>> {
        let sql = "SELECT max(id) FROM updates WHERE doc = ?1";
        run(&self.path, "reading the last row", || {
            self.conn.query_row(sql, [doc], |r| r.get(0))
        })
    }

    /// Replaces `doc`'s snapshot and deletes its update rows with id <= `through_row`, atomically.
    pub fn compact(&mut self, doc: &str, snapshot: &[u8], through_row: i64) -> Result<()> {
        let conn = &mut self.conn;
        run(&self.path, format!("compacting document {doc:?}"), || {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO snapshots (doc, data) VALUES (?1, ?2) \
                 ON CONFLICT (doc) DO UPDATE SET data = excluded.data",
                params![doc, snapshot],
            )?;
            let sql = "DELETE FROM updates WHERE doc = ?1 AND id <= ?2";
            tx.execute(sql, params![doc, through_row])?;
            tx.commit()
        })
    }

    /// Moves update `row` of `doc` (its snapshot for `None`) aside with `reason`, out of every load.
    pub fn quarantine(&mut self, doc: &str, row: Option<i64>, reason: &str) -> Result<()> {
        let (conn, at) = (&mut self.conn, unix_now());
        let what = format!("quarantining the {} of document {doc:?}", row_name(row));
        // Copied by SQL rather than through Rust, so a wrong-typed value is kept verbatim.
        let moved = run(&self.path, what, || {
            let tx = conn.transaction()?;
            let moved = match row {
                Some(id) => {
                    let n = tx.execute(
                        "INSERT INTO quarantine (doc, row_id, data, reason, at) \
                         SELECT doc, id, data, ?3, ?4 FROM updates WHERE doc = ?1 AND id = ?2",
                        params![doc, id, reason, at],
                    )?;
                    tx.execute("DELETE FROM updates WHERE doc = ?1 AND id = ?2", params![doc, id])?;
                    n
                }
                None => {
                    let n = tx.execute(
                        "INSERT INTO quarantine (doc, row_id, data, reason, at) \
                         SELECT doc, NULL, data, ?2, ?3 FROM snapshots WHERE doc = ?1",
                        params![doc, reason, at],
                    )?;
                    tx.execute("DELETE FROM snapshots WHERE doc = ?1", [doc])?;
                    n
                }
            };
            tx.commit()?;
            Ok(moved)
        })?;
        if moved == 0 {
            return Err(StoreError::NoSuchRow {
                path: self.path.clone(),
                doc: doc.into(),
                row,
            });
        }
        Ok(())
    }

    /// Every quarantined row as `(doc, reason)`, oldest first.
    pub fn quarantined(&self) -> Result<Vec<(String, String)>> {
        let sql = "SELECT doc, reason FROM quarantine ORDER BY id";
        self.pairs(sql, "listing quarantined rows")
    }

    fn pairs(&self, sql: &str, what: &str) -> Result<Vec<(String, String)>> {
        run(&self.path, what, || {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// The metadata value stored under `key`, if any.
    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let sql = "SELECT value FROM meta WHERE key = ?1";
        run(&self.path, format!("reading metadata {key:?}"), || {
            self.conn.query_row(sql, [key], |r| r.get(0)).optional()
        })
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn meta_set(&mut self, key: &str, value: &[u8]) -> Result<()> {
        let sql = "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                   ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        run(&self.path, format!("writing metadata {key:?}"), || {
            self.conn.execute(sql, params![key, value]).map(drop)
        })
    }

    /// Records an invite; only a hash of `token` is kept, so a copy of the file redeems nothing.
    pub fn add_invite(&mut self, token: &[u8; 16], role: Role, expires_at: u64) -> Result<()> {
        let sql = "INSERT INTO invites (hash, role, expires_at) VALUES (?1, ?2, ?3)";
        let expires_at = i64::try_from(expires_at).unwrap_or(i64::MAX);
        let (hash, code) = (token_hash(token), role.code());
        run(&self.path, "recording an invite (each token once)", || {
            self.conn.execute(sql, params![hash, code, expires_at]).map(drop)
        })
    }

    /// Redeems an invite token at most once: checked and marked used in one transaction.
    pub fn take_invite(&mut self, token: &[u8; 16], now_unix: u64) -> Result<TakeInvite> {
        let (conn, hash) = (&mut self.conn, token_hash(token));
        let now = i64::try_from(now_unix).unwrap_or(i64::MAX);
        run(&self.path, "redeeming an invite", || {
            let tx = conn.transaction()?;
            let sql = "SELECT role, expires_at, used_at FROM invites WHERE hash = ?1";
            let found: Option<(Role, i64, Option<i64>)> = tx
                .query_row(sql, [hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let outcome = match found {
                None => TakeInvite::Unknown,
                Some((_, _, Some(_))) => TakeInvite::Used,
                Some((_, expires_at, None)) if now >= expires_at => TakeInvite::Expired,
                Some((role, _, None)) => {
                    let sql = "UPDATE invites SET used_at = ?2 WHERE hash = ?1";
                    tx.execute(sql, params![hash, now])?;
                    TakeInvite::Ok(role)
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
    }

    /// Invites not yet used, with their id (the first hex digits of the token's hash).
    pub fn open_invites(&self) -> Result<Vec<OpenInvite>> {
        let sql = "SELECT hash, role, expires_at FROM invites WHERE used_at IS NULL ORDER BY expires_at";
        run(&self.path, "listing invites", || {
            let mut stmt = self.conn.prepare(sql)?;
            let rows = stmt.query_map([], |r| {
                let hash: Vec<u8> = r.get(0)?;
                Ok(OpenInvite {
                    id: invite_id(&hash),
                    role: r.get(1)?,
                    expires_at: r.get::<_, i64>(2)?.max(0) as u64,
                })
            })?;
            rows.collect()
        })
    }

    /// Cancels the open invite whose id starts with `id`; false if none (or several) match.
    pub fn cancel_invite(&mut self, id: &str) -> Result<bool> {
        let open = self.open_invites()?;
        let matching: Vec<&OpenInvite> = open.iter().filter(|i| !id.is_empty() && i.id.starts_with(id)).collect();
        let [one] = matching.as_slice() else { return Ok(false) };
        let full = one.id.clone();
        let (conn, path) = (&mut self.conn, &self.path);
        run(path, "cancelling an invite", || {
            let tx = conn.transaction()?;
            let hashes: Vec<Vec<u8>> = {
                let mut stmt = tx.prepare("SELECT hash FROM invites WHERE used_at IS NULL")?;
                let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
                rows.collect::<SqlResult<_>>()?
            };
            for hash in hashes.iter().filter(|h| invite_id(h) == full) {
                tx.execute("DELETE FROM invites WHERE hash = ?1", [hash])?;
            }
            tx.commit()
        })?;
        Ok(true)
    }

    /// Moves to a new workspace key in one transaction: the key, its epoch and grant, the previous
    /// key with its deadline, and every open invite cancelled (they carry the old key).
    pub fn rotate_key(&mut self, rotation: &KeyRotation<'_>) -> Result<()> {
        let (conn, path) = (&mut self.conn, &self.path);
        run(path, "saving the new workspace key", || {
            let tx = conn.transaction()?;
            let set = "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                       ON CONFLICT (key) DO UPDATE SET value = excluded.value";
            let mut previous = rotation.previous.to_vec();
            previous.extend_from_slice(&rotation.previous_until.to_be_bytes());
            tx.execute(set, params!["psk", rotation.key.as_slice()])?;
            tx.execute(set, params!["psk_epoch", rotation.epoch.to_be_bytes().as_slice()])?;
            tx.execute(set, params!["psk_grant", rotation.grant])?;
            tx.execute(set, params!["psk_previous", previous])?;
            tx.execute("DELETE FROM invites WHERE used_at IS NULL", [])?;
            tx.commit()
        })
    }

    /// Records `text` as what is on disk at workspace-relative `path`.
    pub fn set_disk_base(&mut self, path: &str, text: &str) -> Result<()> {
        let sql = "INSERT INTO disk_bases (path, text) VALUES (?1, ?2) \
                   ON CONFLICT (path) DO UPDATE SET text = excluded.text";
        let what = format!("recording the disk base of {path:?}");
        run(&self.path, what, || {
            self.conn.execute(sql, params![path, text]).map(drop)
        })
    }

    /// Forgets the disk base of `path` (deleted, or no longer synced).
    pub fn remove_disk_base(&mut self, path: &str) -> Result<()> {
        let sql = "DELETE FROM disk_bases WHERE path = ?1";
        let what = format!("removing the disk base of {path:?}");
        run(&self.path, what, || self.conn.execute(sql, [path]).map(drop))
    }

    /// Every `(path, text)` disk base, ordered by path.
    pub fn disk_bases(&self) -> Result<Vec<(String, String)>> {
        self.pairs("SELECT path, text FROM disk_bases ORDER BY path", "loading disk bases")
    }

    /// Whether SQLite's `PRAGMA integrity_check` finds the file sound.
    pub fn integrity_check(&self) -> Result<bool> {
        let sql = "PRAGMA integrity_check";
        match self.conn.query_row(sql, [], |r| r.get::<_, String>(0)) {
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseCorrupt) => Ok(false),
            verdict => run(&self.path, "checking integrity", || verdict).map(|v| v == "ok"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    type Res = Result<(), Box<dyn Error>>;

    fn fresh() -> (tempfile::TempDir, PathBuf, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tandem.db");
        let store = Store::open(&path, Durability::Normal).unwrap();
        (dir, path, store)
    }

    fn updates(store: &Store, doc: &str) -> Vec<Vec<u8>> {
        let doc = store.load_doc(doc).unwrap();
        doc.updates.into_iter().map(|(_, u)| u).collect()
    }

    #[test]
    fn appended_updates_come_back_in_order_after_reopen() -> Res {
        let (_dir, path, mut store) = fresh();
        store.append(&[("a", b"1"), ("b", b"x"), ("a", b"2")])?;
        store.append(&[("a", b"3")])?;
        drop(store);
        let store = Store::open(&path, Durability::Full)?;
        let all = store.load_all()?;
        assert_eq!(all.iter().map(|d| &d.doc[..]).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(all[0], store.load_doc("a")?);
        assert_eq!(updates(&store, "a"), [b"1", b"2", b"3"]);
        assert_eq!(store.update_count("a")?, 3);
        assert_eq!(store.load_doc("none")?, StoredDoc::new("none"));
        Ok(())
    }

    #[test]
    fn a_failing_batch_leaves_nothing_behind() -> Res {
        let (_dir, _path, mut store) = fresh();
        store.conn.execute_batch(
            "CREATE TEMP TRIGGER boom BEFORE INSERT ON updates WHEN NEW.doc = 'boom' \
             BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        )?;
        let err = store.append(&[("a", b"1"), ("boom", b"2")]).unwrap_err();
        assert!(err.to_string().contains("appending updates"), "{err}");
        assert!(store.load_all()?.is_empty());
        store.append(&[("a", b"1")])?; // and the connection is still usable
        assert_eq!(store.update_count("a")?, 1);
        Ok(())
    }

    #[test]
    fn compaction_keeps_rows_appended_after_through_row() -> Res {
        let (_dir, _path, mut store) = fresh();
        store.append(&[("a", b"1"), ("b", b"x"), ("a", b"2")])?;
        let through = store.last_row("a")?.unwrap();
        store.append(&[("a", b"3")])?;
        store.compact("a", b"S12", through)?;
        assert_eq!(store.load_doc("a")?.snapshot.as_deref(), Some(&b"S12"[..]));
        assert_eq!(updates(&store, "a"), [b"3"]);
        assert_eq!(updates(&store, "b"), [b"x"]);
        store.compact("a", b"S123", store.last_row("a")?.unwrap())?;
        assert_eq!(store.last_row("a")?, None);
        store.append(&[("a", b"4")])?;
        assert!(store.last_row("a")?.unwrap() > through + 1, "row ids are never reused");
        Ok(())
    }

    #[test]
    fn quarantined_rows_leave_every_load_but_are_listed() -> Res {
        let (_dir, _path, mut store) = fresh();
        store.append(&[("a", b"good"), ("a", b"bad")])?;
        store.compact("b", b"bad snapshot", 0)?;
        let bad = store.last_row("a")?;
        store.quarantine("a", bad, "does not decode")?;
        store.quarantine("b", None, "snapshot does not decode")?;
        let all = store.load_all()?;
        assert_eq!((all.len(), updates(&store, "a")), (1, vec![b"good".to_vec()]));
        let listed = store.quarantined()?;
        assert_eq!(listed[0], ("a".into(), "does not decode".into()));
        assert_eq!(listed[1], ("b".into(), "snapshot does not decode".into()));
        let again = store.quarantine("a", bad, "again");
        assert!(matches!(again, Err(StoreError::NoSuchRow { .. })));
        Ok(())
    }

    #[test]
    fn a_wrong_typed_row_is_an_error_naming_it_then_quarantinable() -> Res {
        let (_dir, path, mut store) = fresh();
        store.append(&[("a", b"ok")])?;
        // STRICT forbids this, so forge the kind of file a damaged disk or a hand edit could leave.
        store.conn.execute_batch(
            "PRAGMA writable_schema = ON; \
             UPDATE sqlite_schema SET sql = replace(sql, 'STRICT', '') WHERE name = 'updates';",
        )?;
        drop(store);
        let mut store = Store::open(&path, Durability::Normal)?;
        store
            .conn
            .execute("INSERT INTO updates (doc, data) VALUES ('a', 42)", [])?;
        let Err(StoreError::BadRow { doc, row, .. }) = store.load_all() else {
            panic!("expected BadRow");
        };
        store.quarantine(&doc, row, "wrong type")?;
        assert_eq!(updates(&store, "a"), [b"ok"]);
        Ok(())
    }

    #[test]
    fn invites_are_single_use_expire_and_are_stored_hashed() -> Res {
        let (_dir, _path, mut store) = fresh();
        let (token, late) = ([7u8; 16], [8u8; 16]);
        store.add_invite(&token, Role::Editor, 1_000)?;
        store.add_invite(&late, Role::Viewer, 1_000)?;
        assert_eq!(store.take_invite(&token, 999)?, TakeInvite::Ok(Role::Editor));
        assert_eq!(store.take_invite(&token, 999)?, TakeInvite::Used);
        assert_eq!(store.take_invite(&late, 1_000)?, TakeInvite::Expired);
        assert_eq!(store.take_invite(&late, 1_000)?, TakeInvite::Expired);
        assert_eq!(store.take_invite(&[9u8; 16], 0)?, TakeInvite::Unknown);
        let mut stmt = store.conn.prepare("SELECT hash FROM invites")?;
        for hash in stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))? {
            assert!(!hash?.windows(16).any(|w| w == token || w == late));
        }
        Ok(())
    }

    #[test]
    fn disk_bases_and_meta_round_trip() -> Res {
        let (_dir, path, mut store) = fresh();
        store.set_disk_base("src/a.rs", "fn a() {}")?;
        store.set_disk_base("b.md", "old")?;
        store.set_disk_base("b.md", "new ✓")?;
        store.set_disk_base("gone.txt", "x")?;
        store.remove_disk_base("gone.txt")?;
        store.meta_set("name", b"v1")?;
        store.meta_set("name", b"v2")?;
        drop(store);
        let store = Store::open(&path, Durability::Normal)?;
        let bases = store.disk_bases()?;
        assert_eq!(
            bases,
            [("b.md", "new ✓"), ("src/a.rs", "fn a() {}")].map(|(p, t)| (p.into(), t.into()))
        );
        assert_eq!(store.meta_get("name")?, Some(b"v2".to_vec()));
        assert_eq!(store.meta_get("missing")?, None);
        Ok(())
    }

    const CRASH_DIR: &str = "TANDEM_STORE_CRASH_DIR";

    /// Does nothing unless run as the child of `committed_rows_survive_kill_9`.
    #[test]
    fn crash_child() {
        let Some(dir) = std::env::var_os(CRASH_DIR) else {
            return;
        };
        let mut store = Store::open(&Path::new(&dir).join("t.db"), Durability::Normal).unwrap();
        store.append(&[("a", b"committed")]).unwrap();
        let me = std::process::id().to_string();
        let _ = std::process::Command::new("kill").args(["-9", &me]).status();
        std::process::abort();
    }

    #[test]
    fn committed_rows_survive_kill_9() -> Res {
        use std::os::unix::process::ExitStatusExt;
        let dir = tempfile::tempdir()?;
        let name = concat!(module_path!(), "::crash_child");
        let name = name.split_once("::").map_or(name, |(_, test)| test);
        let status = std::process::Command::new(std::env::current_exe()?)
            .args(["--exact", name, "--test-threads=1"])
            .env(CRASH_DIR, dir.path())
            .stdout(std::process::Stdio::null())
            .status()?;
        assert_eq!(status.signal(), Some(9), "the child must die by SIGKILL: {status}");
        assert!(dir.path().join("t.db-wal").exists(), "the row is only in the WAL");
        let store = Store::open(&dir.path().join("t.db"), Durability::Normal)?;
        assert_eq!(updates(&store, "a"), [b"committed"]);
        assert!(store.integrity_check()?);
        Ok(())
    }

    #[test]
    fn bad_files_give_clear_errors_not_panics() -> Res {
        let dir = tempfile::tempdir()?;
        let open = |name: &str| Store::open(&dir.path().join(name), Durability::Normal).err();
        std::fs::write(dir.path().join("garbage.db"), vec![0x5a; 8192])?;
        let err = open("garbage.db").unwrap();
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
        assert!(err.to_string().contains("garbage.db"), "{err}");

        Connection::open(dir.path().join("other.db"))?.execute_batch("CREATE TABLE t (x)")?;
        assert!(matches!(open("other.db"), Some(StoreError::NotADatabase { .. })));

        assert!(open("newer.db").is_none());
        let newer = Connection::open(dir.path().join("newer.db"))?;
        newer.pragma_update(None, "user_version", SCHEMA_VERSION + 1)?;
        assert!(open("newer.db").unwrap().to_string().contains("upgrade Tandem"));

        let err = open("no/such/dir/t.db").unwrap();
        assert!(err.to_string().contains("writable"), "{err}");
        Ok(())
    }

    #[test]
    fn a_fresh_database_passes_integrity_check() -> Res {
        let (_dir, _path, store) = fresh();
        assert!(store.integrity_check()?);
        Ok(())
    }
}
