//! The core's side of review and chat: check an action against the current state (clear errors
//! for the user), append it to the log, and announce what changed.

use super::Core;
use crate::docs::DocId;
use crate::events::{Event, Origin};
use crate::profile::{self, Profile};
use crate::review::{self, ChatMessage, CommentKind, Review, Thread, ThreadState, Who, MAX_TEXT, MESSAGES, OPS};
use crate::workspace::RelPath;
use std::collections::HashMap;
use yrs::updates::encoder::Encode;
use yrs::{Any, ReadTxn, Transact};

/// A review or chat action of this peer's user.
#[derive(Debug, Clone)]
pub enum ReviewCmd {
    /// A new thread on lines `first..=last` of a file.
    Comment {
        id: String,
        file: RelPath,
        first: usize,
        last: usize,
        kind: CommentKind,
        body: String,
        suggest: Option<String>,
        /// Set when an agent of this peer writes it, so it shows under the agent's name.
        agent: Option<String>,
    },
    /// A reply in a thread.
    Reply { id: String, thread: String, body: String },
    /// Resolve a thread.
    Resolve { thread: String },
    /// Reopen a thread.
    Reopen { thread: String },
    /// Apply a suggestion to its file.
    Apply { thread: String },
    /// Change the text of one's own comment or reply.
    Edit { target: String, body: String },
    /// Delete one's own comment or reply.
    Delete { target: String },
    /// Ask for a review of files.
    Request {
        id: String,
        files: Vec<RelPath>,
        approvals: u64,
        title: String,
    },
    /// Approve, or request changes with a reason.
    Vote {
        review: String,
        approve: bool,
        reason: String,
    },
    /// Say something in the team chat.
    Chat { text: String },
    /// Change this member's display name and/or colour (None leaves it).
    Profile {
        name: Option<String>,
        colour: Option<String>,
    },
}

impl Core {
    /// Every member's role and display name (a chosen name in force over the joined one). Kept
    /// until the members or review document changes: presence asks for it several times a second.
    pub(super) fn who(&self) -> HashMap<String, Who> {
        self.named().0
    }

    /// Every member's profile in force (chosen name and colour).
    pub(super) fn profiles(&self) -> HashMap<String, Profile> {
        self.named().1
    }

    /// Every member's role and the name it joined with (the members document alone).
    fn joined(&self) -> HashMap<String, Who> {
        self.docs
            .members()
            .into_iter()
            .map(|(p, r)| {
                (
                    p,
                    Who {
                        role: r.role,
                        name: r.name,
                    },
                )
            })
            .collect()
    }

    /// Both of the above, from one fold.
    pub(super) fn named(&self) -> (HashMap<String, Who>, HashMap<String, Profile>) {
        let version: Vec<u8> = [DocId::Members, DocId::Review]
            .iter()
            .flat_map(|id| {
                let sv = self.docs.get(id).map(|d| d.transact().state_vector().encode_v1());
                let sv = sv.unwrap_or_default();
                (sv.len() as u32).to_le_bytes().into_iter().chain(sv)
            })
            .collect();
        if let Some((v, who, profiles)) = &*self.who_cache.borrow() {
            if *v == version {
                return (who.clone(), profiles.clone());
            }
        }
        let mut who = self.joined();
        let profiles = profile::fold(&self.log(&DocId::Review, OPS), &who);
        profile::apply(&mut who, &profiles);
        *self.who_cache.borrow_mut() = Some((version, who.clone(), profiles.clone()));
        (who, profiles)
    }

    /// Gives the live task the members' names in force when they changed (a rename, a member
    /// joined), so the presence it shows follows at once rather than at each peer's next heartbeat.
    pub(super) fn send_names(&mut self) {
        let names: HashMap<String, String> = self.who().into_iter().map(|(p, w)| (p, w.name)).collect();
        if names != self.names_sent {
            let _ = self.out.live.send(crate::node::live::LiveCmd::Names(names.clone()));
            self.names_sent = names;
        }
    }

    /// Checks and appends this peer's new name and/or colour.
    fn set_profile(&mut self, name: Option<&str>, colour: Option<&str>) -> Result<(), String> {
        let name = name.map(profile::check_name).transpose()?;
        let colour = colour.map(profile::check_colour).transpose()?;
        if name.is_none() && colour.is_none() {
            return Err("nothing to change: give a name or a colour".into());
        }
        if let Some(name) = &name {
            let (joined, profiles) = (self.joined(), self.profiles());
            if let Some(held) = profile::holder(name, &self.me.to_string(), &joined, &profiles) {
                return Err(format!("the name {held} is another member's; pick another"));
            }
        }
        let mut fields = vec![
            ("op", Any::from(profile::OP)),
            ("at", Any::from(crate::unix_now() as f64)),
        ];
        if let Some(n) = &name {
            fields.push(("name", n.as_str().into()));
        }
        if let Some(c) = &colour {
            fields.push(("colour", c.as_str().into()));
        }
        let update = self.docs.append(&DocId::Review, OPS, review::op(&fields));
        self.local_change(DocId::Review, update);
        Ok(())
    }

    fn log(&self, id: &DocId, root: &str) -> Vec<review::Entry> {
        let author_of = |c: u64| self.trust.peer_of_client(c).map(|p| p.to_string());
        self.docs
            .get(id)
            .map(|d| review::entries(d, root, &author_of))
            .unwrap_or_default()
    }

    /// Threads and review requests as they stand.
    pub(super) fn review_state(&self) -> (Vec<Thread>, Vec<Review>) {
        review::fold(&self.log(&DocId::Review, OPS), &self.who(), &|f, s, e| {
            self.docs.place(f, s, e)
        })
    }

    /// The chat so far.
    pub(super) fn chat_log(&self) -> Vec<ChatMessage> {
        review::chat(&self.log(&DocId::Chat, MESSAGES), &self.who())
    }

    /// Remembers the chat as it is, so only later messages are announced.
    pub(super) fn mark_chat_seen(&mut self) {
        self.chat_seen = self.chat_log().into_iter().map(|m| m.id).collect();
    }

    /// Announces new chat messages and mentions of this peer's name.
    pub(super) fn announce_chat(&mut self) {
        let me = self.me.to_string();
        // Mentioned by the name in force or the one this peer was started with.
        let shown = self.who().remove(&me).map(|w| w.name).unwrap_or_default();
        for m in self.chat_log() {
            if !self.chat_seen.insert(m.id.clone()) {
                continue;
            }
            let mentioned = m.mentions.iter().any(|n| {
                [&shown, &self.name]
                    .iter()
                    .any(|mine| !mine.is_empty() && n.eq_ignore_ascii_case(mine))
            });
            if mentioned && m.author != me {
                let _ = self.out.events.send(Event::Mentioned {
                    by: m.author_name.clone(),
                    text: m.text.clone(),
                });
            }
            let _ = self.out.events.send(Event::Chat { message: m });
        }
    }

    /// Checks and appends a user's action; `Err` is a message for the user and nothing is stored.
    pub(super) fn on_review(&mut self, cmd: ReviewCmd) -> Result<(), String> {
        let role = self.my_role().ok_or("this peer is not a member of the workspace")?;
        let at = Any::from(crate::unix_now() as f64);
        let text_ok = |t: &str| {
            if t.len() > MAX_TEXT {
                Err(format!("text too long (over {MAX_TEXT} bytes)"))
            } else {
                Ok(())
            }
        };
        if let ReviewCmd::Profile { name, colour } = &cmd {
            return self.set_profile(name.as_deref(), colour.as_deref());
        }
        if let ReviewCmd::Chat { text } = &cmd {
            text_ok(text)?;
            if text.trim().is_empty() {
                return Err("nothing to say: the message is empty".into());
            }
            let update = self.docs.append(
                &DocId::Chat,
                MESSAGES,
                review::op(&[("text", text.as_str().into()), ("at", at)]),
            );
            self.local_change(DocId::Chat, update);
            return Ok(());
        }
        let (threads, reviews) = self.review_state();
        let thread = |id: &str| {
            threads
                .iter()
                .find(|t| t.id == id)
                .ok_or_else(|| format!("no comment {id}"))
        };
        let editor = |what: &str| {
            if role.can_edit() {
                Ok(())
            } else {
                Err(format!("viewers cannot {what}"))
            }
        };
        let me = self.me.to_string();
        let op = match cmd {
            ReviewCmd::Comment {
                id,
                file,
                first,
                last,
                kind,
                body,
                suggest,
                agent,
            } => {
                text_ok(&body)?;
                let (start, end) = self.docs.anchor(&file, first, last)?;
                let mut f = vec![
                    ("op", Any::from("comment")),
                    ("id", id.as_str().into()),
                    ("file", file.as_str().into()),
                    ("kind", kind.as_str().into()),
                    ("body", body.as_str().into()),
                    ("start", Any::Buffer(start.into())),
                    ("end", Any::Buffer(end.into())),
                    ("at", at),
                ];
                if let Some(s) = &suggest {
                    text_ok(s)?;
                    f.push(("suggest", s.as_str().into()));
                }
                if let Some(a) = &agent {
                    f.push(("agent", a.as_str().into()));
                }
                review::op(&f)
            }
            ReviewCmd::Reply { id, thread: t, body } => {
                text_ok(&body)?;
                thread(&t)?;
                review::op(&[
                    ("op", "reply".into()),
                    ("id", id.as_str().into()),
                    ("thread", t.as_str().into()),
                    ("body", body.as_str().into()),
                    ("at", at),
                ])
            }
            ReviewCmd::Resolve { thread: t } | ReviewCmd::Reopen { thread: t } if !role.can_edit() => {
                thread(&t)?;
                return Err("viewers cannot resolve or reopen comments".into());
            }
            ReviewCmd::Resolve { thread: t } => {
                thread(&t)?;
                review::op(&[("op", "resolve".into()), ("thread", t.as_str().into()), ("at", at)])
            }
            ReviewCmd::Reopen { thread: t } => {
                thread(&t)?;
                review::op(&[("op", "reopen".into()), ("thread", t.as_str().into()), ("at", at)])
            }
            ReviewCmd::Apply { thread: t } => {
                editor("apply suggestions")?;
                let th = thread(&t)?;
                let Some(text) = th.suggestion.clone() else {
                    return Err(format!("comment {t} is not a suggestion"));
                };
                match th.state {
                    ThreadState::Applied => return Err(format!("suggestion {t} is already applied")),
                    ThreadState::Outdated => return Err(format!("the code suggestion {t} was on is gone")),
                    _ => {}
                }
                let file = RelPath::new(&th.file).map_err(|e| e.to_string())?;
                let update = self.docs.replace_lines(&file, th.start_line, th.end_line, &text)?;
                self.local_change(DocId::File(file.clone()), update);
                self.batch.dirty.insert(file.clone());
                self.batch.events.push(Event::FileChanged {
                    path: file.to_string(),
                    origin: Origin::Local,
                });
                review::op(&[("op", "apply".into()), ("thread", t.as_str().into()), ("at", at)])
            }
            ReviewCmd::Edit { target, body } => {
                text_ok(&body)?;
                self.check_own(&threads, &target, &me)?;
                review::op(&[
                    ("op", "edit".into()),
                    ("target", target.as_str().into()),
                    ("body", body.as_str().into()),
                    ("at", at),
                ])
            }
            ReviewCmd::Delete { target } => {
                self.check_own(&threads, &target, &me)?;
                review::op(&[("op", "delete".into()), ("target", target.as_str().into()), ("at", at)])
            }
            ReviewCmd::Request {
                id,
                files,
                approvals,
                title,
            } => {
                editor("request reviews")?;
                for f in &files {
                    if !self.docs.is_live(f) {
                        return Err(format!("no such file in the workspace: {f}"));
                    }
                }
                let files: Vec<&str> = files.iter().map(RelPath::as_str).collect();
                review::op(&[
                    ("op", "request".into()),
                    ("id", id.as_str().into()),
                    ("title", title.as_str().into()),
                    ("files", files.join("\n").into()),
                    ("approvals", Any::from(approvals.max(1) as f64)),
                    ("at", at),
                ])
            }
            ReviewCmd::Vote {
                review,
                approve,
                reason,
            } => {
                editor("vote on reviews")?;
                if !reviews.iter().any(|r| r.id == review) {
                    return Err(format!("no review {review}"));
                }
                let vote = if approve { "approve" } else { "reject" };
                review::op(&[
                    ("op", "vote".into()),
                    ("review", review.as_str().into()),
                    ("vote", vote.into()),
                    ("reason", reason.as_str().into()),
                    ("at", at),
                ])
            }
            ReviewCmd::Chat { .. } | ReviewCmd::Profile { .. } => unreachable!("handled above"),
        };
        let update = self.docs.append(&DocId::Review, OPS, op);
        self.local_change(DocId::Review, update);
        Ok(())
    }

    fn check_own(&self, threads: &[Thread], target: &str, me: &str) -> Result<(), String> {
        let author = threads
            .iter()
            .find(|t| t.id == target)
            .map(|t| t.author.as_str())
            .or_else(|| {
                threads
                    .iter()
                    .flat_map(|t| &t.replies)
                    .find(|r| r.id == target)
                    .map(|r| r.author.as_str())
            })
            .ok_or_else(|| format!("no comment or reply {target}"))?;
        if author != me {
            return Err("only its author may change or delete a comment".into());
        }
        Ok(())
    }
}
