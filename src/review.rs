//! Code review and team chat as append-only logs: every action is one op appended to a yrs array,
//! and threads, reviews and messages are folded from the log in array order.
//!
//! The array order is the same on every peer once they have the same ops, and each op's author is
//! the peer owning the yrs client id that inserted it (never a field an author could forge), so the
//! fold — including who may do what — comes out the same everywhere, whatever order ops arrived in.

use crate::members::Role;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use yrs::{Any, Array, ArrayRef, Assoc, Doc, IndexedSequence, Out, ReadTxn, Transact};

/// Root array of the review document.
pub const OPS: &str = "ops";
/// Root array of the chat document.
pub const MESSAGES: &str = "messages";
/// Longest comment, reply or chat text accepted, in bytes.
pub const MAX_TEXT: usize = 64 * 1024;

/// What a comment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommentKind {
    /// Proposes replacement text that can be applied.
    Suggestion,
    /// Asks something.
    Question,
    /// Points out a problem.
    Issue,
    /// Says something is good.
    Praise,
}

impl CommentKind {
    /// The kind's lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommentKind::Suggestion => "suggestion",
            CommentKind::Question => "question",
            CommentKind::Issue => "issue",
            CommentKind::Praise => "praise",
        }
    }

    /// Parses a kind name.
    pub fn parse(s: &str) -> Option<CommentKind> {
        match s {
            "suggestion" => Some(CommentKind::Suggestion),
            "question" => Some(CommentKind::Question),
            "issue" => Some(CommentKind::Issue),
            "praise" => Some(CommentKind::Praise),
            _ => None,
        }
    }
}

/// A thread's state, derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThreadState {
    /// Open, on live code.
    Open,
    /// Resolved by an editor.
    Resolved,
    /// Open, but the code it pointed at is gone.
    Outdated,
    /// Its suggestion was applied.
    Applied,
}

/// A comment thread as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Thread {
    /// Thread id.
    pub id: String,
    /// File it is on.
    pub file: String,
    /// First line now (1-based), derived from its anchor.
    pub start_line: usize,
    /// Last line now (1-based).
    pub end_line: usize,
    /// Kind.
    pub kind: CommentKind,
    /// Author's peer id.
    pub author: String,
    /// Author's display name.
    pub author_name: String,
    /// Derived state.
    pub state: ThreadState,
    /// Text.
    pub body: String,
    /// Replacement text of a suggestion.
    pub suggestion: Option<String>,
    /// The agent that wrote it, if an agent did (its host is `author`).
    pub agent: Option<String>,
    /// Replies in log order.
    pub replies: Vec<Reply>,
    /// Unix seconds.
    pub created_at: u64,
}

/// A reply in a thread.
#[derive(Debug, Clone, Serialize)]
pub struct Reply {
    /// Reply id.
    pub id: String,
    /// Author's peer id.
    pub author: String,
    /// Author's display name.
    pub author_name: String,
    /// Text.
    pub body: String,
    /// Unix seconds.
    pub created_at: u64,
}

/// A review request with its votes and derived outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// Review id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Files to review.
    pub files: Vec<String>,
    /// Approvals needed.
    pub approvals_needed: u64,
    /// Who asked.
    pub author: String,
    /// Their display name.
    pub author_name: String,
    /// Each member's latest vote.
    pub votes: Vec<Vote>,
    /// approved / changes_requested / open.
    pub outcome: String,
    /// Unix seconds.
    pub created_at: u64,
}

/// One member's vote on a review.
#[derive(Debug, Clone, Serialize)]
pub struct Vote {
    /// Voter's peer id.
    pub peer: String,
    /// Voter's display name.
    pub name: String,
    /// approve / reject.
    pub vote: String,
    /// Why (for a rejection).
    pub reason: String,
    /// Unix seconds.
    pub at: u64,
}

/// A chat message.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChatMessage {
    /// Stable id (`client:clock` of its item).
    pub id: String,
    /// Author's peer id.
    pub author: String,
    /// Author's display name.
    pub author_name: String,
    /// Text.
    pub text: String,
    /// Unix seconds.
    pub at: u64,
    /// Names mentioned with `@name`.
    pub mentions: Vec<String>,
}

/// Who a member is, for the fold.
#[derive(Debug, Clone)]
pub struct Who {
    /// Role.
    pub role: Role,
    /// Display name.
    pub name: String,
}

/// One op of a log with the peer that wrote it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Peer id of the author.
    pub author: String,
    /// `client:clock` of the item.
    pub id: String,
    /// The op.
    pub op: HashMap<String, Any>,
}

/// Where a comment's anchors point now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchored {
    /// Lines (1-based, inclusive).
    Lines(usize, usize),
    /// The code is gone; the lines are where it was.
    Outdated(usize, usize),
}

/// Reads a log with each op's author, from the yrs client id that inserted it.
pub fn entries(doc: &Doc, root: &str, author_of: &dyn Fn(u64) -> Option<String>) -> Vec<Entry> {
    let txn = doc.transact();
    let Some(arr) = txn.get_array(root) else {
        return Vec::new();
    };
    log_entries(&txn, &arr, author_of)
}

fn log_entries<T: ReadTxn>(txn: &T, arr: &ArrayRef, author_of: &dyn Fn(u64) -> Option<String>) -> Vec<Entry> {
    let mut out = Vec::new();
    for i in 0..arr.len(txn) {
        let Some(Out::Any(Any::Map(op))) = arr.get(txn, i) else {
            continue;
        };
        let Some(id) = arr.sticky_index(txn, i, Assoc::After).and_then(|s| s.id().cloned()) else {
            continue;
        };
        let Some(author) = author_of(id.client.get()) else {
            continue;
        };
        out.push(Entry {
            author,
            id: format!("{}:{}", id.client.get(), id.clock),
            op: (*op).clone(),
        });
    }
    out
}

fn s<'a>(op: &'a HashMap<String, Any>, k: &str) -> Option<&'a str> {
    match op.get(k) {
        Some(Any::String(s)) => Some(s),
        _ => None,
    }
}

fn n(op: &HashMap<String, Any>, k: &str) -> u64 {
    match op.get(k) {
        Some(Any::Number(yrs::Number::Float(f))) => *f as u64,
        Some(Any::Number(yrs::Number::Int(i))) => *i as u64,
        _ => 0,
    }
}

fn b<'a>(op: &'a HashMap<String, Any>, k: &str) -> Option<&'a [u8]> {
    match op.get(k) {
        Some(Any::Buffer(b)) => Some(b),
        _ => None,
    }
}

/// Finds where a comment's anchors (file, start, end) point now.
pub type Placer<'a> = dyn Fn(&str, &[u8], &[u8]) -> Option<Anchored> + 'a;

/// Folds the review log into threads (newest last) and review requests. Ops a rule forbids —
/// a viewer resolving, someone deleting another's comment — are skipped, identically everywhere.
pub fn fold(log: &[Entry], who: &HashMap<String, Who>, anchor: &Placer) -> (Vec<Thread>, Vec<Review>) {
    struct T {
        thread: Thread,
        anchors: (Vec<u8>, Vec<u8>),
        resolved: bool,
        applied: bool,
    }
    let name = |p: &str| who.get(p).map(|w| w.name.clone()).unwrap_or_default();
    let role = |p: &str| who.get(p).map(|w| w.role);
    let mut threads: BTreeMap<String, T> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut reply_of: HashMap<String, String> = HashMap::new();
    let mut reviews: BTreeMap<String, Review> = BTreeMap::new();
    let mut review_order: Vec<String> = Vec::new();
    let mut votes: HashMap<String, BTreeMap<String, Vote>> = HashMap::new();
    for e in log {
        let Some(r) = role(&e.author) else { continue };
        let op = &e.op;
        let at = n(op, "at");
        match s(op, "op").unwrap_or("") {
            "comment" => {
                let (Some(id), Some(file), Some(kind), Some(start), Some(end)) = (
                    s(op, "id"),
                    s(op, "file"),
                    s(op, "kind").and_then(CommentKind::parse),
                    b(op, "start"),
                    b(op, "end"),
                ) else {
                    continue;
                };
                if threads.contains_key(id) {
                    continue;
                }
                let thread = Thread {
                    id: id.to_string(),
                    file: file.to_string(),
                    start_line: 0,
                    end_line: 0,
                    kind,
                    author: e.author.clone(),
                    author_name: name(&e.author),
                    state: ThreadState::Open,
                    body: s(op, "body").unwrap_or("").to_string(),
                    suggestion: s(op, "suggest").map(str::to_string),
                    agent: s(op, "agent").map(str::to_string),
                    replies: Vec::new(),
                    created_at: at,
                };
                order.push(id.to_string());
                let anchors = (start.to_vec(), end.to_vec());
                threads.insert(
                    id.to_string(),
                    T {
                        thread,
                        anchors,
                        resolved: false,
                        applied: false,
                    },
                );
            }
            "reply" => {
                let (Some(id), Some(thread)) = (s(op, "id"), s(op, "thread")) else {
                    continue;
                };
                let Some(t) = threads.get_mut(thread) else { continue };
                let reply = Reply {
                    id: id.to_string(),
                    author: e.author.clone(),
                    author_name: name(&e.author),
                    body: s(op, "body").unwrap_or("").to_string(),
                    created_at: at,
                };
                t.thread.replies.push(reply);
                reply_of.insert(id.to_string(), thread.to_string());
            }
            verb @ ("resolve" | "reopen" | "apply") if r.can_edit() => {
                let Some(t) = s(op, "thread").and_then(|id| threads.get_mut(id)) else {
                    continue;
                };
                match verb {
                    "resolve" => t.resolved = true,
                    "reopen" => t.resolved = false,
                    _ => t.applied = t.thread.suggestion.is_some(),
                }
            }
            verb @ ("edit" | "delete") => {
                let Some(target) = s(op, "target") else { continue };
                let body = s(op, "body").unwrap_or("").to_string();
                if let Some(t) = threads.get_mut(target) {
                    if t.thread.author != e.author {
                        continue; // only the author edits or deletes a comment
                    }
                    if verb == "edit" {
                        t.thread.body = body;
                    } else {
                        threads.remove(target);
                    }
                } else if let Some(t) = reply_of.get(target).and_then(|th| threads.get_mut(th)) {
                    let Some(pos) = t
                        .thread
                        .replies
                        .iter()
                        .position(|rp| rp.id == target && rp.author == e.author)
                    else {
                        continue;
                    };
                    if verb == "edit" {
                        t.thread.replies[pos].body = body;
                    } else {
                        t.thread.replies.remove(pos);
                    }
                }
            }
            "request" if r.can_edit() => {
                let (Some(id), Some(title)) = (s(op, "id"), s(op, "title")) else {
                    continue;
                };
                if reviews.contains_key(id) {
                    continue;
                }
                let files = s(op, "files")
                    .unwrap_or("")
                    .split('\n')
                    .filter(|f| !f.is_empty())
                    .map(str::to_string)
                    .collect();
                let review = Review {
                    id: id.to_string(),
                    title: title.to_string(),
                    files,
                    approvals_needed: n(op, "approvals").max(1),
                    author: e.author.clone(),
                    author_name: name(&e.author),
                    votes: Vec::new(),
                    outcome: String::new(),
                    created_at: at,
                };
                review_order.push(id.to_string());
                reviews.insert(id.to_string(), review);
            }
            "vote" if r.can_edit() => {
                let (Some(review), Some(vote)) = (s(op, "review"), s(op, "vote")) else {
                    continue;
                };
                if !reviews.contains_key(review) || !matches!(vote, "approve" | "reject") {
                    continue;
                }
                let v = Vote {
                    peer: e.author.clone(),
                    name: name(&e.author),
                    vote: vote.to_string(),
                    reason: s(op, "reason").unwrap_or("").to_string(),
                    at,
                };
                // A member's later vote replaces the earlier one.
                votes.entry(review.to_string()).or_default().insert(e.author.clone(), v);
            }
            _ => {}
        }
    }
    let threads = order
        .into_iter()
        .filter_map(|id| threads.remove(&id))
        .map(|mut t| {
            let placed = anchor(&t.thread.file, &t.anchors.0, &t.anchors.1);
            if let Some(Anchored::Lines(a, b) | Anchored::Outdated(a, b)) = placed {
                t.thread.start_line = a;
                t.thread.end_line = b;
            }
            t.thread.state = if t.applied {
                ThreadState::Applied
            } else if t.resolved {
                ThreadState::Resolved
            } else if matches!(placed, Some(Anchored::Outdated(..)) | None) {
                ThreadState::Outdated
            } else {
                ThreadState::Open
            };
            t.thread
        })
        .collect();
    let reviews = review_order
        .into_iter()
        .filter_map(|id| reviews.remove(&id))
        .map(|mut r| {
            r.votes = votes
                .remove(&r.id)
                .map(|v| v.into_values().collect())
                .unwrap_or_default();
            let approvals = r.votes.iter().filter(|v| v.vote == "approve").count() as u64;
            r.outcome = if r.votes.iter().any(|v| v.vote == "reject") {
                "changes_requested"
            } else if approvals >= r.approvals_needed {
                "approved"
            } else {
                "open"
            }
            .to_string();
            r
        })
        .collect();
    (threads, reviews)
}

/// Folds the chat log into messages.
pub fn chat(log: &[Entry], who: &HashMap<String, Who>) -> Vec<ChatMessage> {
    log.iter()
        .filter(|e| who.contains_key(&e.author))
        .filter_map(|e| {
            let text = s(&e.op, "text")?.to_string();
            Some(ChatMessage {
                id: e.id.clone(),
                author: e.author.clone(),
                author_name: who.get(&e.author).map(|w| w.name.clone()).unwrap_or_default(),
                mentions: mentions(&text),
                text,
                at: n(&e.op, "at"),
            })
        })
        .collect()
}

/// The names mentioned in a text with `@name`.
pub fn mentions(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace())
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// An op map ready to append.
pub fn op(fields: &[(&str, Any)]) -> Any {
    let map: HashMap<String, Any> = fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    Any::from(map)
}

/// A fresh random id for a thread, reply or review (short, URL-safe).
pub fn new_id() -> String {
    let bytes: [u8; 6] = rand::random();
    data_encoding::BASE32_NOPAD.encode(&bytes).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(entries: &[(&str, Role)]) -> HashMap<String, Who> {
        entries
            .iter()
            .map(|(p, r)| {
                (
                    p.to_string(),
                    Who {
                        role: *r,
                        name: p.to_string(),
                    },
                )
            })
            .collect()
    }

    fn entry(author: &str, fields: &[(&str, Any)]) -> Entry {
        let Any::Map(m) = op(fields) else { unreachable!() };
        Entry {
            author: author.into(),
            id: String::new(),
            op: (*m).clone(),
        }
    }

    fn comment(author: &str, id: &str) -> Entry {
        entry(
            author,
            &[
                ("op", "comment".into()),
                ("id", id.into()),
                ("file", "a.rs".into()),
                ("kind", "issue".into()),
                ("body", "hm".into()),
                ("start", Any::Buffer(vec![1].into())),
                ("end", Any::Buffer(vec![2].into())),
            ],
        )
    }

    fn lines(_: &str, _: &[u8], _: &[u8]) -> Option<Anchored> {
        Some(Anchored::Lines(3, 4))
    }

    #[test]
    fn only_the_author_deletes_a_comment_and_viewers_do_not_resolve() {
        let members = who(&[("ann", Role::Editor), ("vic", Role::Viewer), ("bo", Role::Editor)]);
        let log = vec![
            comment("vic", "t1"),
            comment("ann", "t2"),
            entry("bo", &[("op", "delete".into()), ("target", "t2".into())]),
            entry("vic", &[("op", "resolve".into()), ("thread", "t1".into())]),
            entry("ann", &[("op", "delete".into()), ("target", "t2".into())]),
        ];
        let (threads, _) = fold(&log, &members, &lines);
        assert_eq!(threads.len(), 1);
        assert_eq!(threads[0].id, "t1");
        assert_eq!(threads[0].state, ThreadState::Open);
        assert_eq!((threads[0].start_line, threads[0].end_line), (3, 4));
    }

    #[test]
    fn a_members_latest_vote_counts_and_any_rejection_wins() {
        let members = who(&[("ann", Role::Owner), ("bo", Role::Editor), ("cy", Role::Editor)]);
        let req = entry(
            "ann",
            &[
                ("op", "request".into()),
                ("id", "r".into()),
                ("title", "t".into()),
                ("approvals", 2.0.into()),
            ],
        );
        let vote = |p: &str, v: &str| entry(p, &[("op", "vote".into()), ("review", "r".into()), ("vote", v.into())]);
        let (_, reviews) = fold(
            &[req.clone(), vote("bo", "approve"), vote("cy", "approve")],
            &members,
            &lines,
        );
        assert_eq!(reviews[0].outcome, "approved");
        let (_, reviews) = fold(
            &[req.clone(), vote("bo", "reject"), vote("cy", "approve")],
            &members,
            &lines,
        );
        assert_eq!(reviews[0].outcome, "changes_requested");
        let (_, reviews) = fold(&[req, vote("bo", "reject"), vote("bo", "approve")], &members, &lines);
        assert_eq!(reviews[0].outcome, "open");
    }

    #[test]
    fn mentions_are_found_without_trailing_punctuation() {
        assert_eq!(mentions("hi @bob, and @carol-x! not@this"), vec!["bob", "carol-x"]);
    }
}
