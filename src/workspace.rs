//! The workspace folder: `.tandem/` layout, path policy, ignore rules and scanning.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::{DirEntry, Match, WalkBuilder};

/// Name of the per-workspace state folder.
pub const STATE_DIR: &str = ".tandem";
/// Files over this size are not synced (they are listed as skipped).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Tandem's own ignore file, read alongside `.gitignore` and overriding it.
pub const IGNORE_FILE: &str = ".tandemignore";
/// Longest accepted workspace-relative path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest accepted path component, in bytes (the usual filesystem limit).
pub const MAX_COMPONENT_BYTES: usize = 255;

const TMP_MARKER: &str = ".tandem-tmp-";
const SNIFF_BYTES: usize = 8 * 1024;
const WINDOWS_FORBIDDEN: &[char] = &['<', '>', ':', '"', '|', '?', '*'];
// sun_path holds 108 bytes on Linux but only 104 on the BSDs and macOS, NUL included.
const SOCKET_PATH_MAX: usize = if cfg!(any(target_os = "linux", target_os = "android")) {
    107
} else {
    103
};

/// Everything that can go wrong with the workspace folder, worded for users.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The workspace folder does not exist.
    #[error("workspace folder {} does not exist; create it or check the path", .0.display())]
    Missing(PathBuf),
    /// Something that must be a folder is not one.
    #[error("{} is not a folder; move it out of the way or pick another path", .0.display())]
    NotAFolder(PathBuf),
    /// Neither the start folder nor any parent holds `.tandem/`.
    #[error("no Tandem workspace at {} or any parent; run `tandem init`", .0.display())]
    NoWorkspace(PathBuf),
    /// `.tandem/` already exists.
    #[error("{} is already a Tandem workspace", .0.display())]
    AlreadyWorkspace(PathBuf),
    /// A path the path policy refuses: (path, reason).
    #[error("unacceptable path {0:?}: {1}")]
    BadPath(String, String),
    /// Tandem never reads or writes through symbolic links.
    #[error("refusing to use symbolic link {}; replace it with a real file or folder", .0.display())]
    Symlink(PathBuf),
    /// Something other than a regular file sits where a file should be.
    #[error("{} is in the way: it is not a regular file; move it aside", .0.display())]
    NotAFile(PathBuf),
    /// The control socket path exceeds the OS limit: (path, its length).
    #[error("control socket path {} is {} bytes, over the {SOCKET_PATH_MAX}-byte limit for Unix sockets; move the workspace to a shorter path", .0.display(), .1)]
    SocketPathTooLong(PathBuf, usize),
    /// The root is gone, which must never be read as "every file was deleted".
    #[error("workspace folder {} is missing or unreadable; refusing to scan it (restore the folder and retry)", .0.display())]
    RootVanished(PathBuf),
    /// Any other I/O failure: (what we tried, path, cause).
    #[error("could not {} {}: {}", .0, .1.display(), .2)]
    Io(&'static str, PathBuf, #[source] io::Error),
}

fn io_err(action: &'static str, path: &Path, e: io::Error) -> WorkspaceError {
    WorkspaceError::Io(action, path.to_path_buf(), e)
}

/// Where everything lives inside one workspace folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Canonical absolute path of the workspace folder.
    pub root: PathBuf,
}

impl Layout {
    /// Opens the existing folder `root`, whether or not it holds `.tandem/` yet.
    pub fn new(root: &Path) -> Result<Layout, WorkspaceError> {
        let root = fs::canonicalize(root).map_err(|e| match e.kind() {
            ErrorKind::NotFound => WorkspaceError::Missing(root.to_path_buf()),
            _ => io_err("open workspace folder", root, e),
        })?;
        match root.is_dir() {
            true => Ok(Layout { root }),
            false => Err(WorkspaceError::NotAFolder(root)),
        }
    }

    /// Finds the workspace holding `start`, the way git finds a repository.
    pub fn find(start: &Path) -> Result<Layout, WorkspaceError> {
        let start = Layout::new(start)?.root;
        let found = start.ancestors().find(|dir| dir.join(STATE_DIR).is_dir());
        let root = found.map(Path::to_path_buf);
        root.map(|root| Layout { root })
            .ok_or(WorkspaceError::NoWorkspace(start))
    }

    /// The `.tandem/` state folder.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    /// The SQLite database.
    pub fn db_path(&self) -> PathBuf {
        self.state_dir().join("tandem.db")
    }

    /// This peer's private identity key.
    pub fn key_path(&self) -> PathBuf {
        self.state_dir().join("identity.key")
    }

    /// The daemon's control socket; bind via [`Layout::socket_path_checked`].
    pub fn socket_path(&self) -> PathBuf {
        self.state_dir().join("control.sock")
    }

    /// The control socket path, or a clear error if the OS could not bind it.
    pub fn socket_path_checked(&self) -> Result<PathBuf, WorkspaceError> {
        let path = self.socket_path();
        match path.as_os_str().len() {
            len if len > SOCKET_PATH_MAX => Err(WorkspaceError::SocketPathTooLong(path, len)),
            _ => Ok(path),
        }
    }

    /// Whether `.tandem/` exists.
    pub fn is_workspace(&self) -> bool {
        self.state_dir().is_dir()
    }

    /// Creates `.tandem/`, private to the user (it holds the key) and hidden from git.
    pub fn create_state_dir(&self) -> Result<(), WorkspaceError> {
        let dir = self.state_dir();
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => WorkspaceError::AlreadyWorkspace(self.root.clone()),
            _ => io_err("create", &dir, e),
        })?;
        let gitignore = dir.join(".gitignore");
        fs::write(&gitignore, "*\n").map_err(|e| io_err("write", &gitignore, e))
    }

    /// The absolute path of `rel` inside this workspace.
    pub fn abs(&self, rel: &RelPath) -> PathBuf {
        self.root.join(rel.as_str())
    }
}

/// A validated workspace-relative path that can never escape the folder or clash across platforms.
///
/// Beyond the obvious (no `..`, nothing absolute) it refuses `.git` and `.tandem` as any
/// component, case-insensitively because macOS and Windows fold case, plus Windows device
/// names, characters Windows forbids, and names ending in '.' or ' ' (Windows strips those).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RelPath(String);

impl RelPath {
    /// Validates `s` against the path policy.
    pub fn new(s: &str) -> Result<RelPath, WorkspaceError> {
        let whole = [
            (s.is_empty(), "empty path"),
            (s.len() > MAX_PATH_BYTES, "longer than 1024 bytes"),
            (s.starts_with('/'), "absolute path"),
            (s.contains('\\'), "contains a backslash"),
            (s.chars().any(char::is_control), "contains a control character"),
            (
                s.contains(WINDOWS_FORBIDDEN),
                "contains one of <>:\"|?*, which Windows forbids",
            ),
        ];
        let mut checks = whole.into_iter().chain(s.split('/').flat_map(component_checks));
        match checks.find(|(bad, _)| *bad) {
            None => Ok(RelPath(s.to_string())),
            Some((_, why)) => Err(WorkspaceError::BadPath(s.chars().take(120).collect(), why.into())),
        }
    }

    /// The path as a '/'-separated string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last component.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// Converts an absolute path inside `layout` (as a watcher reports it).
    pub fn from_abs(layout: &Layout, abs: &Path) -> Result<RelPath, WorkspaceError> {
        let bad = |why: &str| WorkspaceError::BadPath(abs.to_string_lossy().into(), why.into());
        let rest = abs
            .strip_prefix(&layout.root)
            .map_err(|_| bad("outside the workspace"))?;
        let mut parts = Vec::new();
        for c in rest.components() {
            let Component::Normal(name) = c else {
                return Err(bad("not a plain path"));
            };
            parts.push(name.to_str().ok_or_else(|| bad("name is not valid UTF-8"))?);
        }
        RelPath::new(&parts.join("/"))
    }
}

fn component_checks(c: &str) -> [(bool, &'static str); 7] {
    [
        (c.is_empty(), "empty component (doubled or trailing '/')"),
        (c == "." || c == "..", "'.' or '..' component"),
        (c.len() > MAX_COMPONENT_BYTES, "a component is longer than 255 bytes"),
        (c.ends_with(['.', ' ']), "a component ends with '.' or ' '"),
        (is_git(c), "inside a .git folder"),
        // Nested workspaces hold private keys too, so `.tandem` is refused at any depth.
        (c.eq_ignore_ascii_case(STATE_DIR), "inside a .tandem folder"),
        (is_windows_reserved(c), "a device name Windows reserves"),
    ]
}

// `git~1` is the Windows short name that also reaches `.git`.
fn is_git(c: &str) -> bool {
    c.eq_ignore_ascii_case(".git") || c.eq_ignore_ascii_case("git~1")
}

fn is_windows_reserved(c: &str) -> bool {
    let stem = c.split('.').next().unwrap_or(c).trim_end().to_ascii_uppercase();
    let digit = |d: &str| d.chars().count() == 1 && d.chars().all(|c| "123456789¹²³".contains(c));
    ["CON", "PRN", "AUX", "NUL"].contains(&stem.as_str())
        || ["COM", "LPT"].iter().any(|p| stem.strip_prefix(p).is_some_and(digit))
}

impl TryFrom<String> for RelPath {
    type Error = WorkspaceError;
    fn try_from(s: String) -> Result<RelPath, WorkspaceError> {
        RelPath::new(&s)
    }
}

impl From<RelPath> for String {
    fn from(p: RelPath) -> String {
        p.0
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a file name is one of [`write_atomic`]'s temp files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(TMP_MARKER)
}

// What is never synced, whatever the rule files say.
fn builtin_excluded<'a>(mut comps: impl Iterator<Item = &'a str>) -> bool {
    comps.any(|c| is_git(c) || c.eq_ignore_ascii_case(STATE_DIR) || is_temp_name(c))
}

// The components of a walked entry below the walk root.
fn entry_components(e: &DirEntry) -> impl Iterator<Item = &str> {
    let comps: Vec<&str> = e.path().iter().map(|c| c.to_str().unwrap_or("")).collect();
    let skip = comps.len().saturating_sub(e.depth());
    comps.into_iter().skip(skip)
}

fn walker(root: &Path, filter: impl Fn(&DirEntry) -> bool + Send + Sync + 'static) -> ignore::Walk {
    let mut b = WalkBuilder::new(root);
    // Only rule files inside the folder count, so that every peer reaches the same verdict.
    b.hidden(false)
        .follow_links(false)
        .parents(false)
        .ignore(false)
        .git_global(false)
        .git_exclude(false)
        .git_ignore(true)
        .require_git(false)
        .filter_entry(filter);
    b.add_custom_ignore_filename(IGNORE_FILE);
    b.build()
}

/// Compiled ignore rules from every `.gitignore` and `.tandemignore` in the workspace.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    // (folder components, rules), shallowest first; deeper files take precedence.
    rules: Arc<Vec<(Vec<String>, Gitignore)>>,
}

impl Ignore {
    /// Walks the folder for rule files; unreadable files and bad lines are logged and skipped.
    pub fn load(layout: &Layout) -> Ignore {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for e in walker(&layout.root, |e| !builtin_excluded(entry_components(e))).flatten() {
            let dir = e.path().parent().map(Path::to_path_buf);
            if e.file_name() == ".gitignore" || e.file_name() == IGNORE_FILE {
                dirs.extend(dir.filter(|d| !dirs.contains(d)));
            }
        }
        let mut rules = Vec::new();
        for dir in dirs {
            let Ok(rel) = dir.strip_prefix(&layout.root) else {
                continue;
            };
            let comps: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            let mut builder = GitignoreBuilder::new(&dir);
            // `.tandemignore` goes last so its lines win, as they do in the walker.
            for file in [dir.join(".gitignore"), dir.join(IGNORE_FILE)] {
                if let Some(err) = file.is_file().then(|| builder.add(&file)).flatten() {
                    tracing::warn!("ignore rules in {}: {err}; skipping bad lines", file.display());
                }
            }
            match builder.build() {
                Ok(gi) => rules.push((comps, gi)),
                Err(err) => tracing::warn!("ignore rules in {} unusable: {err}", dir.display()),
            }
        }
        rules.sort_by_key(|(comps, _)| comps.len());
        Ignore { rules: Arc::new(rules) }
    }

    /// Whether `rel` is excluded from syncing (always so under `.git/`, `.tandem/`, and temp files).
    pub fn is_ignored(&self, rel: &RelPath, is_dir: bool) -> bool {
        let comps: Vec<&str> = rel.as_str().split('/').collect();
        // As in git, nothing below an excluded folder can be re-included.
        builtin_excluded(comps.iter().copied())
            || (1..=comps.len()).any(|n| self.decide(&comps[..n], n < comps.len() || is_dir))
    }

    fn decide(&self, comps: &[&str], is_dir: bool) -> bool {
        for (dir, gi) in self.rules.iter().rev() {
            if dir.len() < comps.len() && dir.iter().zip(comps).all(|(a, b)| a == b) {
                match gi.matched(comps[dir.len()..].join("/"), is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
        }
        false
    }
}

/// Why a file is not synced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum Skip {
    /// Contains NUL bytes.
    Binary,
    /// Larger than [`MAX_FILE_BYTES`]; carries the size.
    TooLarge(u64),
    /// Not valid UTF-8.
    NotUtf8,
    /// A symbolic link, which Tandem never follows.
    Symlink,
    /// The name breaks the path policy; carries the reason.
    BadName(String),
    /// Could not be read; carries the reason.
    Unreadable(String),
    /// The workspace already holds as many documents as this peer takes; carries the limit.
    LimitReached(usize),
    /// Another file's name differs only by case or Unicode normalisation; carries that name.
    NameClash(String),
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::Binary => write!(f, "binary file"),
            Skip::TooLarge(n) => write!(f, "too large ({n} bytes; limit {MAX_FILE_BYTES})"),
            Skip::NotUtf8 => write!(f, "not UTF-8 text"),
            Skip::Symlink => write!(f, "symbolic link (not followed)"),
            Skip::BadName(why) => write!(f, "unsupported name: {why}"),
            Skip::Unreadable(why) => write!(f, "unreadable: {why}"),
            Skip::NameClash(other) => write!(
                f,
                "not written: its name differs from {other:?} only by case or Unicode normalisation, \
                 which many file systems cannot keep apart; rename one of them"
            ),
            Skip::LimitReached(n) => write!(f, "not synced: the workspace already holds {n} documents, the limit"),
        }
    }
}

/// The syncable content of the workspace; files under a skipped folder are unknown, not deleted.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Syncable text files and their content, sorted by path.
    pub files: Vec<(RelPath, String)>,
    /// Paths (as displayed) that were left out, and why.
    pub skipped: Vec<(String, Skip)>,
}

/// Walks the workspace for syncable text files; errors if the root itself is gone.
pub fn scan(layout: &Layout, ignore: &Ignore) -> Result<Scan, WorkspaceError> {
    scan_with_limit(layout, ignore, MAX_FILE_BYTES)
}

fn root_ok(layout: &Layout) -> Result<(), WorkspaceError> {
    match fs::symlink_metadata(&layout.root) {
        Ok(m) if m.is_dir() && fs::read_dir(&layout.root).is_ok() => Ok(()),
        _ => Err(WorkspaceError::RootVanished(layout.root.clone())),
    }
}

fn scan_with_limit(layout: &Layout, ignore: &Ignore, limit: u64) -> Result<Scan, WorkspaceError> {
    root_ok(layout)?;
    let (lay, ig) = (layout.clone(), ignore.clone());
    let filter = move |e: &DirEntry| {
        let is_dir = e.file_type().is_some_and(|t| t.is_dir());
        // A bad name is let through so that it is reported rather than silently dropped.
        !builtin_excluded(entry_components(e))
            && RelPath::from_abs(&lay, e.path()).map_or(true, |r| !ig.is_ignored(&r, is_dir))
    };
    let shown = |p: &Path| p.strip_prefix(&layout.root).unwrap_or(p).to_string_lossy().into_owned();
    let (mut out, mut bad_dirs) = (Scan::default(), Vec::<PathBuf>::new());
    for entry in walker(&layout.root, filter) {
        let e = match entry {
            Ok(e) if e.depth() > 0 && !bad_dirs.iter().any(|d| e.path().starts_with(d)) => e,
            Ok(_) => continue,
            Err(err) => {
                let path = err_path(&err).map(shown).unwrap_or_default();
                out.skipped.push((path, Skip::Unreadable(err.to_string())));
                continue;
            }
        };
        if let Some(err) = e.error() {
            tracing::warn!("ignore rules under {}: {err}", e.path().display());
        }
        let (path, ft) = (shown(e.path()), e.file_type());
        let skip = match RelPath::from_abs(layout, e.path()) {
            _ if ft.is_some_and(|t| t.is_symlink()) => Skip::Symlink,
            Err(err) => {
                bad_dirs.extend(ft.filter(|t| t.is_dir()).map(|_| e.path().to_path_buf()));
                match err {
                    WorkspaceError::BadPath(_, why) => Skip::BadName(why),
                    other => Skip::BadName(other.to_string()),
                }
            }
            Ok(_) if ft.is_some_and(|t| t.is_dir()) => continue,
            Ok(rel) if ft.is_some_and(|t| t.is_file()) => match read_limited(layout, &rel, limit) {
                ReadOutcome::Text(text) => {
                    out.files.push((rel, text));
                    continue;
                }
                ReadOutcome::Skipped(skip) => skip,
                ReadOutcome::Missing => continue,
            },
            _ => Skip::Unreadable("not a regular file".into()),
        };
        out.skipped.push((path, skip));
    }
    // A root vanishing mid-walk looks like an empty folder: refuse rather than report deletions.
    root_ok(layout)?;
    out.files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn err_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => err_path(err),
        ignore::Error::Partial(errs) => errs.iter().find_map(err_path),
        _ => None,
    }
}

/// What [`read_text`] found at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// A syncable text file.
    Text(String),
    /// Something is there but is not synced.
    Skipped(Skip),
    /// Nothing there (or a file where a parent folder should be).
    Missing,
}

/// Reads one file under the size and text rules, never following a symlink.
pub fn read_text(layout: &Layout, rel: &RelPath) -> ReadOutcome {
    read_limited(layout, rel, MAX_FILE_BYTES)
}

fn read_limited(layout: &Layout, rel: &RelPath, limit: u64) -> ReadOutcome {
    use ReadOutcome::{Missing, Skipped};
    let unreadable = |why: String| Skipped(Skip::Unreadable(why));
    match check_parents(layout, rel, false) {
        Ok(true) => {}
        Ok(false) | Err(WorkspaceError::NotAFolder(_)) => return Missing,
        Err(WorkspaceError::Symlink(_)) => return Skipped(Skip::Symlink),
        Err(err) => return unreadable(err.to_string()),
    }
    let path = layout.abs(rel);
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => return Skipped(Skip::Symlink),
        // Opening a FIFO or a device could block forever.
        Ok(m) if !m.is_file() => return unreadable("not a regular file".into()),
        Ok(m) if m.len() > limit => return Skipped(Skip::TooLarge(m.len())),
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Missing,
        Err(e) => return unreadable(e.to_string()),
    };
    let file = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Missing,
        Err(e) => return unreadable(e.to_string()),
    };
    // A file swapped for a symlink after the check would show up as a different inode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match file.metadata() {
            Ok(m) if m.dev() == meta.dev() && m.ino() == meta.ino() => {}
            Ok(_) => return Skipped(Skip::Symlink),
            Err(e) => return unreadable(e.to_string()),
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let mut bytes = Vec::new();
    // The file may have grown since the size check.
    if let Err(e) = file.take(limit + 1).read_to_end(&mut bytes) {
        return unreadable(e.to_string());
    }
    if bytes.len() as u64 > limit {
        return Skipped(Skip::TooLarge(bytes.len() as u64));
    }
    if bytes[..bytes.len().min(SNIFF_BYTES)].contains(&0) {
        return Skipped(Skip::Binary);
    }
    String::from_utf8(bytes).map_or(Skipped(Skip::NotUtf8), ReadOutcome::Text)
}

/// How a case-insensitive, normalising file system (macOS, Windows) sees a path: two paths with
/// the same fold can be one file there.
pub fn fold_name(path: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    path.nfc().collect::<String>().to_lowercase()
}

// Checks (and with `create`, makes) each parent folder of `rel`; Ok(false) means one is missing.
fn check_parents(layout: &Layout, rel: &RelPath, create: bool) -> Result<bool, WorkspaceError> {
    let mut dir = layout.root.clone();
    let comps: Vec<&str> = rel.as_str().split('/').collect();
    for comp in &comps[..comps.len() - 1] {
        dir.push(comp);
        let mut meta = fs::symlink_metadata(&dir);
        if create && matches!(&meta, Err(e) if e.kind() == ErrorKind::NotFound) {
            match fs::create_dir(&dir) {
                Ok(()) => continue,
                // Someone else made it meanwhile: inspect what they made.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => meta = fs::symlink_metadata(&dir),
                Err(e) => return Err(io_err("create folder", &dir, e)),
            }
        }
        match meta {
            Ok(m) if m.file_type().is_symlink() => return Err(WorkspaceError::Symlink(dir)),
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(WorkspaceError::NotAFolder(dir)),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err("inspect", &dir, e)),
        }
    }
    Ok(true)
}

/// Replaces `rel` with `text` atomically (temp file, fsync, rename), never outside the root.
pub fn write_atomic(layout: &Layout, rel: &RelPath, text: &str) -> Result<(), WorkspaceError> {
    check_parents(layout, rel, true)?;
    let target = layout.abs(rel);
    let perms = match fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => return Err(WorkspaceError::Symlink(target)),
        Ok(m) if !m.is_file() => return Err(WorkspaceError::NotAFile(target)),
        Ok(m) => Some(m.permissions()),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("inspect", &target, e)),
    };
    let dir = target.parent().unwrap_or(&layout.root).to_path_buf();
    // Leave room for the prefix and suffix within the 255-byte name limit.
    let name = rel.file_name();
    let cut = (0..=name.len().min(200))
        .rev()
        .find(|&i| name.is_char_boundary(i))
        .unwrap_or(0);
    let tmp = dir.join(format!(".{}{TMP_MARKER}{:016x}", &name[..cut], rand::random::<u64>()));
    let written = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(text.as_bytes())?;
        // Keep the user's permissions on the file we replace.
        perms.map(|p| f.set_permissions(p)).transpose()?;
        f.sync_all()?;
        fs::rename(&tmp, &target)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("write", &target, e));
    }
    // Without this the rename itself may not survive a crash.
    #[cfg(unix)]
    if let Err(e) = fs::File::open(&dir).and_then(|d| d.sync_all()) {
        tracing::warn!("could not fsync folder {}: {e}", dir.display());
    }
    Ok(())
}

/// Deletes the regular file `rel`, then parent folders left empty; already gone is fine.
pub fn remove_file(layout: &Layout, rel: &RelPath) -> Result<(), WorkspaceError> {
    match check_parents(layout, rel, false) {
        Ok(true) => {}
        Ok(false) | Err(WorkspaceError::NotAFolder(_)) => return Ok(()),
        Err(e) => return Err(e),
    }
    let target = layout.abs(rel);
    let gone = match fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => return Err(WorkspaceError::Symlink(target)),
        Ok(m) if !m.is_file() => return Err(WorkspaceError::NotAFile(target)),
        Ok(_) => fs::remove_file(&target),
        Err(e) => Err(e),
    };
    match gone {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(io_err("delete", &target, e)),
        _ => {}
    }
    let mut dir = target.parent();
    while let Some(d) = dir.filter(|d| *d != layout.root && d.starts_with(&layout.root)) {
        // Fails on a non-empty folder, which is exactly where to stop.
        if fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn ws() -> (tempfile::TempDir, Layout) {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::new(tmp.path()).unwrap();
        layout.create_state_dir().unwrap();
        (tmp, layout)
    }

    fn put(layout: &Layout, rel: &str, bytes: &[u8]) {
        let p = layout.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }

    fn rp(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    fn names(scan: &Scan) -> Vec<&str> {
        scan.files.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn relpath_accepts_normal_paths() {
        for ok in "a.md docs/café.md a/b/c.txt .gitignore .github/ci.yml x/.hidden 日本/語.txt con2 com10 console.md"
            .split(' ')
        {
            assert_eq!(rp(ok).as_str(), ok);
        }
        let json_like: RelPath = String::from("a/b").try_into().unwrap();
        assert_eq!(
            (json_like.to_string(), String::from(json_like)),
            ("a/b".into(), "a/b".into())
        );
    }

    #[test]
    fn serde_validates_and_tags() {
        assert_eq!(serde_json::to_string(&rp("a/b.md")).unwrap(), "\"a/b.md\"");
        assert!(serde_json::from_str::<RelPath>("\"../etc/passwd\"").is_err());
        let skip = serde_json::to_string(&Skip::TooLarge(9)).unwrap();
        assert_eq!(skip, r#"{"reason":"too_large","detail":9}"#);
        assert_eq!(
            serde_json::to_string(&Skip::NotUtf8).unwrap(),
            r#"{"reason":"not_utf8"}"#
        );
    }

    #[test]
    fn relpath_rejects_hostile_forms() {
        let hostile = "../x /etc/passwd a/../../b a/./b . a//b a/ a\\b .tandem/db .TANDEM/db sub/.tandem/identity.key \
            .git/config x/.git/y .Git/hooks/pre-commit GIT~1/config CON aux.txt dir/com1.md LPT9 COM¹ a. a:b what?";
        let (long, long_comp) = ("a/".repeat(600) + "b", "x".repeat(256));
        for bad in hostile
            .split(' ')
            .chain(["", "b ", "nul\0", "tab\there", "CON .txt", &long, &long_comp])
        {
            assert!(RelPath::new(bad).is_err(), "accepted {bad:?}");
        }
        assert!(RelPath::try_from("../x".to_string()).is_err());
    }

    #[test]
    fn layout_find_and_state_dir() {
        let (tmp, layout) = ws();
        assert!(layout.is_workspace());
        assert_eq!(
            fs::read_to_string(layout.state_dir().join(".gitignore")).unwrap(),
            "*\n"
        );
        assert!(matches!(
            layout.create_state_dir(),
            Err(WorkspaceError::AlreadyWorkspace(_))
        ));
        let deep = tmp.path().join("a/b/c");
        fs::create_dir_all(&deep).unwrap();
        assert_eq!(Layout::find(&deep).unwrap(), layout);
        let other = tempfile::tempdir().unwrap();
        assert!(Layout::find(other.path())
            .unwrap_err()
            .to_string()
            .contains("run `tandem init`"));
        let missing = Layout::new(&tmp.path().join("nope")).unwrap_err();
        assert!(missing.to_string().contains("does not exist"));
        let long = Layout {
            root: PathBuf::from("/".to_string() + &"d".repeat(120)),
        };
        assert!(matches!(
            long.socket_path_checked(),
            Err(WorkspaceError::SocketPathTooLong(..))
        ));
        assert!(layout.socket_path_checked().is_ok());
        assert_eq!(
            RelPath::from_abs(&layout, &layout.root.join("a/b.md")).unwrap(),
            rp("a/b.md")
        );
        assert!(RelPath::from_abs(&layout, Path::new("/etc/passwd")).is_err());
    }

    #[test]
    fn scan_lists_text_and_skips_the_rest_with_reasons() {
        let (_tmp, layout) = ws();
        put(&layout, "notes.md", b"hello");
        put(&layout, "docs/café.md", b"accent");
        put(&layout, "img.bin", b"ab\0cd");
        put(&layout, "big.txt", &[b'x'; 101]);
        put(&layout, "latin1.txt", b"caf\xe9");
        put(&layout, "sub/.git/HEAD", b"ref");
        put(&layout, "aux.md", b"device");
        put(&layout, ".notes.md.tandem-tmp-0123", b"partial");
        symlink(layout.root.join("notes.md"), layout.root.join("link.md")).unwrap();
        let mut scan = scan_with_limit(&layout, &Ignore::load(&layout), 100).unwrap();
        assert_eq!(names(&scan), ["docs/café.md", "notes.md"]);
        assert_eq!(scan.files[1].1, "hello");
        scan.skipped.sort_by(|a, b| a.0.cmp(&b.0));
        let expected = [
            ("aux.md", Skip::BadName("a device name Windows reserves".into())),
            ("big.txt", Skip::TooLarge(101)),
            ("img.bin", Skip::Binary),
            ("latin1.txt", Skip::NotUtf8),
            ("link.md", Skip::Symlink),
        ];
        assert_eq!(scan.skipped, expected.map(|(p, s)| (p.to_string(), s)));
        assert_eq!(
            Skip::TooLarge(5).to_string(),
            format!("too large (5 bytes; limit {MAX_FILE_BYTES})")
        );
    }

    #[test]
    fn scan_and_is_ignored_respect_ignore_files() {
        let (_tmp, layout) = ws();
        put(&layout, ".gitignore", b"*.log\n!keep.log\n[broken\n");
        put(&layout, ".tandemignore", b"secret/\n");
        put(&layout, "sub/.gitignore", b"local.txt\n");
        for f in [
            "a.log",
            "keep.log",
            "secret/x.md",
            "sub/local.txt",
            "sub/ok.txt",
            "local.txt",
        ] {
            put(&layout, f, b"t");
        }
        let ig = Ignore::load(&layout);
        let scan = scan(&layout, &ig).unwrap();
        let expected = [
            ".gitignore",
            ".tandemignore",
            "keep.log",
            "local.txt",
            "sub/.gitignore",
            "sub/ok.txt",
        ];
        assert_eq!(names(&scan), expected);
        assert!(scan.skipped.is_empty(), "{:?}", scan.skipped);
        assert!(ig.is_ignored(&rp("a.log"), false) && !ig.is_ignored(&rp("keep.log"), false));
        assert!(ig.is_ignored(&rp("secret"), true) && ig.is_ignored(&rp("secret/deep/y.md"), false));
        assert!(ig.is_ignored(&rp("sub/local.txt"), false) && !ig.is_ignored(&rp("local.txt"), false));
        assert!(ig.is_ignored(&rp("d/.x.md.tandem-tmp-00ff"), false));
    }

    #[test]
    fn scan_of_deleted_root_is_an_error() {
        let (tmp, layout) = ws();
        drop(tmp);
        assert!(matches!(
            scan(&layout, &Ignore::default()),
            Err(WorkspaceError::RootVanished(_))
        ));
    }

    #[test]
    fn write_atomic_creates_replaces_and_refuses_symlinks() {
        let (_tmp, layout) = ws();
        let rel = rp("a/b/c.md");
        write_atomic(&layout, &rel, "one").unwrap();
        write_atomic(&layout, &rel, "two").unwrap();
        assert_eq!(read_text(&layout, &rel), ReadOutcome::Text("two".into()));
        assert_eq!(
            fs::read_dir(layout.root.join("a/b")).unwrap().count(),
            1,
            "temp file left"
        );

        let outside = tempfile::tempdir().unwrap();
        symlink(outside.path(), layout.root.join("evil")).unwrap();
        let evil = rp("evil/x.txt");
        assert!(matches!(
            write_atomic(&layout, &evil, "pwned"),
            Err(WorkspaceError::Symlink(_))
        ));
        let deeper = write_atomic(&layout, &rp("evil/new/x.txt"), "pwned");
        assert!(matches!(deeper, Err(WorkspaceError::Symlink(_))));
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
        assert_eq!(read_text(&layout, &evil), ReadOutcome::Skipped(Skip::Symlink));
        assert!(remove_file(&layout, &evil).is_err());

        put(&layout, "file", b"x");
        let through_file = write_atomic(&layout, &rp("file/x.md"), "x");
        assert!(matches!(through_file, Err(WorkspaceError::NotAFolder(_))));
        assert_eq!(read_text(&layout, &rp("file/x.md")), ReadOutcome::Missing);
        assert_eq!(read_text(&layout, &rp("nope.md")), ReadOutcome::Missing);
    }

    #[test]
    fn remove_file_cleans_empty_parents() {
        let (_tmp, layout) = ws();
        write_atomic(&layout, &rp("x/y/z.md"), "z").unwrap();
        write_atomic(&layout, &rp("x/keep.md"), "k").unwrap();
        remove_file(&layout, &rp("x/y/z.md")).unwrap();
        assert!(!layout.root.join("x/y").exists() && layout.root.join("x/keep.md").exists());
        remove_file(&layout, &rp("x/keep.md")).unwrap();
        assert!(!layout.root.join("x").exists() && layout.root.exists());
        remove_file(&layout, &rp("x/keep.md")).unwrap();
    }
}
