//! The core's side of the network: who may author what, gossip validation, the sync exchange
//! and redeeming invites.

use super::{Core, Membership};
use crate::docs::{peer_tag, tag_of_client, ApplyError, DocId, MemberRecord};
use crate::events::{Event, Origin};
use crate::members::Role;
use crate::net::NetCmd;
use crate::node::live::LiveCmd;
use crate::store::TakeInvite;
use crate::wire::{
    DocUpdate, DocVector, Envelope, Kind, SyncResponse, MAX_UPDATE_BYTES, SYNC_CHUNK_BYTES, WIRE_VERSION,
};
use libp2p::gossipsub::MessageId;
use libp2p::PeerId;
use std::collections::HashMap;

/// How an update reached us, which decides who vouches for it.
#[derive(Clone, Copy)]
enum Via {
    /// Gossip signed by this peer: every inserted item must be its own.
    Gossip(PeerId),
    /// A sync response relayed by this member: items may be any member's.
    Sync(PeerId),
}

/// Who may do what: the membership, indexed for the checks made on every update.
#[derive(Default)]
pub(super) struct Trust {
    pub(super) membership: Membership,
    /// Tag → peer, for every member ever recorded (revoked ones too: their past work stays).
    tags: HashMap<u32, PeerId>,
    /// Roles revoked peers had, which bound what their past items may be.
    former: HashMap<PeerId, Role>,
    /// While joining, the inviter vouches for the members document.
    pub(super) inviter: Option<PeerId>,
}

impl Trust {
    pub(super) fn role_of(&self, peer: &PeerId) -> Option<Role> {
        self.membership.roles.get(peer).copied()
    }

    /// Whether items of `client` may appear in document `id` when delivered `via`.
    fn may_author(&self, id: &DocId, via: Via, client: u64) -> bool {
        let Some(author) = tag_of_client(client).and_then(|t| self.tags.get(&t)) else {
            return self.bootstrapping(id, via);
        };
        let role = match via {
            Via::Gossip(source) if *author != source => return false,
            Via::Gossip(_) => self.role_of(author),
            Via::Sync(relay) => {
                if !self.may_relay(&relay, author, id) {
                    return false;
                }
                // A revoked peer's past items still travel with the documents they are in.
                self.role_of(author).or_else(|| self.former.get(author).copied())
            }
        };
        role.is_some_and(|role| role_may_change(role, id))
    }

    /// Whether `relay` may hand on `author`'s items in `id` over sync. A relay could invent items
    /// under another member's client id, so what it relays is bounded by its own standing: only
    /// owners relay the members document, and viewers relay only viewers' review and chat ops.
    fn may_relay(&self, relay: &PeerId, author: &PeerId, id: &DocId) -> bool {
        if relay == author {
            return true;
        }
        let Some(relay_role) = self.role_of(relay) else {
            return self.bootstrapping(id, Via::Sync(*relay));
        };
        match id {
            DocId::Members => relay_role == Role::Owner,
            DocId::Review | DocId::Chat => {
                let author_role = self.role_of(author).or_else(|| self.former.get(author).copied());
                relay_role != Role::Viewer || author_role == Some(Role::Viewer)
            }
            DocId::File(_) => true,
        }
    }

    /// The peer whose client id this is, if a member's.
    pub(super) fn peer_of_client(&self, client: u64) -> Option<PeerId> {
        tag_of_client(client).and_then(|t| self.tags.get(&t)).copied()
    }

    /// While joining, before any member is known, the inviter vouches for the members document.
    fn bootstrapping(&self, id: &DocId, via: Via) -> bool {
        let Via::Sync(from) = via else { return false };
        *id == DocId::Members && self.membership.roles.is_empty() && self.inviter == Some(from)
    }

    /// Whether `peer` may change document `id` at all (including deleting in it).
    fn may_write(&self, peer: &PeerId, id: &DocId) -> bool {
        match self.role_of(peer) {
            Some(role) => role_may_change(role, id),
            None => self.bootstrapping(id, Via::Sync(*peer)),
        }
    }

    /// Whether deletions `peer` delivers may be applied to `id` (review and chat are append-only).
    fn may_delete(&self, peer: &PeerId, id: &DocId) -> bool {
        !matches!(id, DocId::Review | DocId::Chat) && self.may_write(peer, id)
    }

    fn may_deliver(&self, via: Via) -> bool {
        let peer = match via {
            Via::Gossip(p) | Via::Sync(p) => p,
        };
        self.role_of(&peer).is_some() || (self.membership.roles.is_empty() && self.inviter == Some(peer))
    }
}

/// Why a gossip message was refused, and whether that counts against its sender.
struct Refusal {
    why: String,
    penalise: bool,
}

impl From<String> for Refusal {
    fn from(why: String) -> Refusal {
        Refusal { why, penalise: true }
    }
}

impl From<&str> for Refusal {
    fn from(why: &str) -> Refusal {
        why.to_string().into()
    }
}

/// Which documents a role may change: members (owners), files (editors), review and chat (all).
fn role_may_change(role: Role, id: &DocId) -> bool {
    match id {
        DocId::Members => role.can_manage(),
        DocId::File(_) => role.can_edit(),
        DocId::Review | DocId::Chat => true,
    }
}

impl Core {
    pub(super) fn refresh_members(&mut self) {
        let revoked: std::collections::HashSet<PeerId> =
            self.docs.revoked().keys().filter_map(|p| p.parse().ok()).collect();
        let recorded: HashMap<PeerId, Role> = self
            .docs
            .members()
            .into_iter()
            .filter_map(|(peer, rec)| Some((peer.parse().ok()?, rec.role)))
            .collect();
        self.trust.tags = recorded.keys().map(|p| (peer_tag(p), *p)).collect();
        let (former, roles): (HashMap<PeerId, Role>, HashMap<PeerId, Role>) =
            recorded.into_iter().partition(|(peer, _)| revoked.contains(peer));
        self.trust.former = former;
        let changed = roles != self.trust.membership.roles || revoked != self.trust.membership.revoked;
        self.trust.membership.roles = roles;
        self.trust.membership.revoked = revoked;
        let _ = self.out.net.send(NetCmd::Members(self.trust.membership.clone()));
        if changed {
            let _ = self.out.events.send(Event::MembersChanged);
        }
    }

    fn role_of(&self, peer: &PeerId) -> Option<Role> {
        self.trust.role_of(peer)
    }

    /// Applies one update from a peer; on success it joins the batch (stored before anything else).
    fn accept_remote(&mut self, id: DocId, data: Vec<u8>, via: Via) -> Result<bool, ApplyError> {
        let existed = match &id {
            DocId::File(p) => self.docs.is_live(p),
            _ => true,
        };
        let trust = &self.trust;
        // Deletions carry no author: the peer delivering them must be allowed to write here.
        let (Via::Gossip(by) | Via::Sync(by)) = via;
        let may_delete = trust.may_delete(&by, &id);
        let res = self
            .docs
            .apply_remote(&id, &data, may_delete, &|client| trust.may_author(&id, via, client));
        match res {
            Ok(true) => {
                if let DocId::File(path) = &id {
                    if !existed && self.docs.is_live(path) {
                        let (path, origin) = (path.to_string(), Origin::Remote);
                        self.batch.events.push(Event::FileCreated { path, origin });
                    }
                    self.batch.dirty.insert(path.clone());
                    self.batch.events.push(Event::FileChanged {
                        path: path.to_string(),
                        origin: Origin::Remote,
                    });
                }
                self.batch.touched.insert(id.clone());
                self.batch.rows.push((id, data));
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(ApplyError::Poisoned(why)) => {
                tracing::error!(doc = %id, error = %why, "update poisoned a document: restored from the store");
                self.reload(&id);
                Err(ApplyError::Poisoned(why))
            }
            Err(e) => Err(e),
        }
    }

    pub(super) fn on_gossip(&mut self, source: PeerId, via: PeerId, msg: MessageId, data: &[u8]) {
        let verdict = self.gossip_verdict(source, data);
        if let Err(refusal) = &verdict {
            tracing::warn!(peer = %source, reason = %refusal.why, "gossip message refused");
            let _ = self.out.events.send(Event::Refused {
                peer: source.to_string(),
                reason: refusal.why.clone(),
            });
        }
        // A stranger is already scored below the publish threshold; a member who sends what it
        // may not is penalised for each message.
        let accept = match verdict {
            Ok(()) => Some(true),
            Err(_) if !self.trust.may_deliver(Via::Gossip(source)) => None,
            Err(Refusal { penalise: false, .. }) => None,
            Err(_) => Some(false),
        };
        self.batch.reports.push((msg, via, accept));
        if self.batch.touched.contains(&DocId::Members) {
            // Commit now, so that nothing is judged, nor any member listed, by the old membership.
            self.flush();
        }
    }

    fn gossip_verdict(&mut self, source: PeerId, data: &[u8]) -> Result<(), Refusal> {
        let env = Envelope::decode(data).map_err(|e| e.to_string())?;
        if !self.trust.may_deliver(Via::Gossip(source)) {
            return Err("sender is not a member".into());
        }
        if env.kind == Kind::Presence {
            // Keyed by the signed source: a peer can only ever speak for itself.
            let name = self
                .who()
                .remove(&source.to_string())
                .map(|m| m.name)
                .unwrap_or_default();
            let _ = self.out.live.send(LiveCmd::Remote {
                peer: source,
                name,
                data: env.data,
            });
            return Ok(());
        }
        let id = DocId::parse(&env.doc).ok_or_else(|| format!("bad document id {:?}", env.doc))?;
        if env.kind == Kind::Update && !self.trust.may_write(&source, &id) {
            return Err(format!("sender may not change {id}").into());
        }
        if let Some(t) = env.t {
            let ms = crate::wire::unix_millis().saturating_sub(t) as f64;
            let _ = self.out.live.send(LiveCmd::Latency { peer: source, ms });
        }
        match env.kind {
            Kind::Presence => Ok(()),
            Kind::Nudge => {
                let _ = self.out.net.send(NetCmd::SyncWith(source));
                Ok(())
            }
            Kind::Update => self
                .accept_remote(id, env.data, Via::Gossip(source))
                .map(|_| ())
                .map_err(|e| Refusal {
                    // Our own limit is not the sender's fault.
                    penalise: !matches!(e, ApplyError::LimitReached(_)),
                    why: e.to_string(),
                }),
        }
    }

    pub(super) fn on_synced(&mut self, from: PeerId, mut updates: Vec<DocUpdate>) -> usize {
        // Members first: later documents are judged by the membership they bring.
        updates.sort_by_key(|u| u.doc != "members");
        let mut applied = 0;
        for u in updates {
            if !self.trust.may_deliver(Via::Sync(from)) {
                tracing::warn!(peer = %from, "sync data from a non-member dropped");
                break;
            }
            let Some(id) = DocId::parse(&u.doc) else {
                tracing::warn!(peer = %from, doc = %u.doc, "sync update for a bad document id dropped");
                continue;
            };
            let is_members = id == DocId::Members;
            match self.accept_remote(id, u.data, Via::Sync(from)) {
                Ok(changed) => applied += changed as usize,
                // A member without write access relays the whole delete set of a document: not an
                // attack, just not ours to take from it.
                Err(ApplyError::DeletesNotAllowed) => {
                    tracing::debug!(peer = %from, doc = %u.doc, "deletions from a read-only peer skipped")
                }
                Err(e) => {
                    tracing::warn!(peer = %from, doc = %u.doc, error = %e, "sync update refused");
                    let _ = self.out.events.send(Event::Refused {
                        peer: from.to_string(),
                        reason: e.to_string(),
                    });
                }
            }
            if is_members {
                // Commit now so the membership it brings judges the rest of this response.
                self.flush();
            }
        }
        applied
    }

    pub(super) fn on_sync_request(
        &mut self,
        from: PeerId,
        have: Vec<DocVector>,
        after: Option<String>,
    ) -> SyncResponse {
        if !self.trust.may_deliver(Via::Sync(from)) {
            tracing::warn!(peer = %from, "sync request from a non-member refused");
            let reason = "not a member of this workspace".into();
            return SyncResponse::Refused {
                v: WIRE_VERSION,
                reason,
            };
        }
        let have: HashMap<String, DocVector> = have.into_iter().map(|d| (d.doc.clone(), d)).collect();
        let after = after.as_deref().and_then(DocId::parse);
        let mut updates = Vec::new();
        let mut bytes = 0;
        let mut more = false;
        // Documents in id order (`members` first), each at most once per exchange thanks to the cursor.
        let my_role = self.my_role();
        let trust = &self.trust;
        // What the requester would refuse from us (Trust::may_relay) is not sent.
        let viewers_only = |client: u64| {
            let author = trust.peer_of_client(client);
            author.and_then(|a| trust.role_of(&a).or_else(|| trust.former.get(&a).copied())) == Some(Role::Viewer)
        };
        for id in self.docs.ids().filter(|id| after.as_ref().is_none_or(|a| *id > a)) {
            let theirs = have.get(&id.to_string());
            let data = match (id, my_role) {
                (DocId::Members, role) if role != Some(Role::Owner) => continue,
                (DocId::Review | DocId::Chat, Some(Role::Viewer)) => {
                    self.docs.missing_relayable(id, theirs, &viewers_only)
                }
                _ => self.docs.missing(id, theirs),
            };
            let Some(data) = data else {
                continue;
            };
            if data.len() > MAX_UPDATE_BYTES {
                tracing::warn!(doc = %id, bytes = data.len(), "document too large to send; skipped");
                continue;
            }
            if bytes > 0 && bytes + data.len() > SYNC_CHUNK_BYTES {
                more = true;
                break;
            }
            bytes += data.len();
            updates.push(DocUpdate {
                doc: id.to_string(),
                data,
            });
        }
        SyncResponse::Updates {
            v: WIRE_VERSION,
            updates,
            more,
            total_docs: self.docs.len() as u64,
        }
    }

    pub(super) fn on_join(&mut self, from: PeerId, token: &[u8], name: String) -> SyncResponse {
        let refuse = |reason: &str| SyncResponse::Refused {
            v: WIRE_VERSION,
            reason: reason.into(),
        };
        let Ok(token) = <[u8; 16]>::try_from(token) else {
            return refuse("invalid invite code");
        };
        if !self.my_role().is_some_and(Role::can_manage) {
            return refuse("the inviting peer may not add members");
        }
        if self.trust.membership.revoked.contains(&from) {
            return refuse("this peer was revoked from the workspace");
        }
        if let Some(existing) = self.role_of(&from) {
            return SyncResponse::Joined {
                v: WIRE_VERSION,
                role: existing.to_string(),
            };
        }
        let now = crate::unix_now();
        let role = match self.store.take_invite(&token, now) {
            Ok(TakeInvite::Ok(role)) => role,
            Ok(TakeInvite::Used) => return refuse("invite code already used"),
            Ok(TakeInvite::Expired) => return refuse("invite code expired"),
            Ok(TakeInvite::Unknown) => return refuse("invite code not known to this workspace (was it cancelled?)"),
            Err(e) => {
                tracing::error!(error = %e, "could not check an invite");
                return refuse("the inviting peer could not check the code; try again");
            }
        };
        let name: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
        let rec = MemberRecord {
            role,
            name: name.clone(),
            added_by: self.me.to_string(),
            added_at: now,
        };
        let update = self.docs.set_member(&from, &rec);
        self.local_change(DocId::Members, update);
        self.flush();
        tracing::info!(peer = %from, name = %name, role = %role, "member joined");
        let _ = self.out.events.send(Event::MemberJoined {
            peer: from.to_string(),
            name,
            role,
        });
        SyncResponse::Joined {
            v: WIRE_VERSION,
            role: role.to_string(),
        }
    }

    /// Makes sure our own member record carries our display name (owners only may write it).
    pub(super) fn ensure_own_name(&mut self) {
        let Some(mut rec) = self.docs.members().remove(&self.me.to_string()) else {
            return;
        };
        if self.name.is_empty() || rec.name == self.name || !rec.role.can_manage() {
            return;
        }
        rec.name = self.name.clone();
        let update = self.docs.set_member(&self.me.clone(), &rec);
        self.local_change(DocId::Members, update);
        self.flush();
    }
}
