//! The core's side of membership: listing members, changing roles, revoking, open invites, and
//! the workspace key's rotation (checking and adopting owners' signed grants).

use super::Core;
use crate::docs::DocId;
use crate::events::Event;
use crate::keys::Grant;
use crate::members::Role;
use crate::net::{KeyRing, Keys};
use crate::store::{KeyRotation, OpenInvite};
use crate::wire::{Envelope, SyncResponse, WIRE_VERSION};
use libp2p::PeerId;
use tokio::sync::oneshot;

/// Metadata key of the current key's epoch.
pub const META_EPOCH: &str = "psk_epoch";
/// Metadata key of the current key's grant.
pub const META_GRANT: &str = "psk_grant";
/// Metadata key of the previous key and its deadline.
pub const META_PREVIOUS: &str = "psk_previous";

/// Membership requests to the core.
pub enum MembersCmd {
    /// Every member, and the revoked peers.
    List { reply: oneshot::Sender<Vec<MemberInfo>> },
    /// Change a member's role (owners only).
    SetRole {
        peer: PeerId,
        role: Role,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Revoke a member and move to the key of `grant` (owners only).
    Revoke {
        peer: PeerId,
        grant: Grant,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// Invites not used yet.
    Invites {
        reply: oneshot::Sender<Result<Vec<OpenInvite>, String>>,
    },
    /// Cancel an open invite by its id (or a unique prefix).
    CancelInvite {
        id: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// The epoch of the key in use.
    KeyEpoch { reply: oneshot::Sender<u32> },
    /// A peer tells its key epoch; it gets our grant if it is newer (members only).
    KeyRequest {
        from: PeerId,
        epoch: u32,
        reply: oneshot::Sender<SyncResponse>,
    },
    /// A member handed us a grant: adopt it if it is an owner's and newer.
    OfferGrant {
        from: PeerId,
        grant: Grant,
        reply: oneshot::Sender<Result<bool, String>>,
    },
}

/// A member as `tandem members` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberInfo {
    /// Peer id.
    pub peer: String,
    /// Display name given at join.
    pub name: String,
    /// owner / editor / viewer.
    pub role: Role,
    /// Peer id of who added them.
    pub added_by: String,
    /// Unix seconds.
    pub added_at: u64,
    /// Peer id of the owner who revoked them, if revoked.
    pub revoked_by: Option<String>,
}

/// The workspace key as the core tracks it.
pub(super) struct KeyState {
    pub(super) workspace_id: [u8; 16],
    pub(super) epoch: u32,
    pub(super) grant: Option<Grant>,
    pub(super) ring: KeyRing,
}

impl KeyState {
    /// Reads the epoch and grant saved by earlier rotations.
    pub(super) fn load(store: &crate::store::Store, ring: KeyRing) -> Result<KeyState, crate::Error> {
        let workspace_id = store
            .meta_get("workspace_id")?
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
            .unwrap_or_default();
        let epoch = store
            .meta_get(META_EPOCH)?
            .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0);
        let grant = store
            .meta_get(META_GRANT)?
            .and_then(|b| ciborium::from_reader::<Grant, _>(b.as_slice()).ok());
        Ok(KeyState {
            workspace_id,
            epoch,
            grant,
            ring,
        })
    }
}

impl Core {
    pub(super) fn on_members(&mut self, cmd: MembersCmd) {
        match cmd {
            MembersCmd::List { reply } => {
                let _ = reply.send(self.member_list());
            }
            MembersCmd::SetRole { peer, role, reply } => {
                let _ = reply.send(self.set_role(peer, role));
            }
            MembersCmd::Revoke { peer, grant, reply } => {
                let _ = reply.send(self.revoke(peer, grant));
            }
            MembersCmd::Invites { reply } => {
                let res = self.require_owner("list invites").and_then(|_| {
                    let now = crate::unix_now();
                    let open = self.store.open_invites().map_err(|e| e.to_string())?;
                    Ok(open.into_iter().filter(|i| i.expires_at > now).collect())
                });
                let _ = reply.send(res);
            }
            MembersCmd::CancelInvite { id, reply } => {
                let res = self.require_owner("cancel invites").and_then(|_| {
                    match self.store.cancel_invite(&id).map_err(|e| e.to_string())? {
                        true => Ok(()),
                        false => Err(format!(
                            "no single open invite with id {id:?}: see `tandem invites` for the ids"
                        )),
                    }
                });
                let _ = reply.send(res);
            }
            MembersCmd::KeyEpoch { reply } => {
                let _ = reply.send(self.keys.epoch);
            }
            MembersCmd::KeyRequest { from, epoch, reply } => {
                let resp = if self.role_of_peer(&from).is_none() {
                    SyncResponse::Refused {
                        v: WIRE_VERSION,
                        reason: "not a member of this workspace".into(),
                    }
                } else {
                    let grant = self.keys.grant.clone().filter(|g| g.epoch > epoch);
                    SyncResponse::Key { v: WIRE_VERSION, grant }
                };
                let _ = reply.send(resp);
            }
            MembersCmd::OfferGrant { from, grant, reply } => {
                let res = if self.role_of_peer(&from).is_none() {
                    Err("key grant from a non-member ignored".to_string())
                } else {
                    self.adopt(grant)
                };
                if let Err(why) = &res {
                    tracing::warn!(peer = %from, reason = %why, "key grant refused");
                }
                let _ = reply.send(res);
            }
        }
    }

    fn role_of_peer(&self, peer: &PeerId) -> Option<Role> {
        self.trust.role_of(peer)
    }

    fn require_owner(&self, what: &str) -> Result<(), String> {
        match self.my_role() {
            Some(Role::Owner) => Ok(()),
            _ => Err(format!("only an owner may {what}")),
        }
    }

    fn member_list(&self) -> Vec<MemberInfo> {
        let revoked = self.docs.revoked();
        let mut list: Vec<MemberInfo> = self
            .docs
            .members()
            .into_iter()
            .map(|(peer, rec)| MemberInfo {
                revoked_by: revoked.get(&peer).cloned(),
                peer,
                name: rec.name,
                role: rec.role,
                added_by: rec.added_by,
                added_at: rec.added_at,
            })
            .collect();
        list.sort_by(|a, b| (a.added_at, &a.peer).cmp(&(b.added_at, &b.peer)));
        list
    }

    /// Checks that `peer` is a current member other than us that an owner may act on.
    fn managed_member(&self, peer: &PeerId, what: &str) -> Result<crate::docs::MemberRecord, String> {
        self.require_owner(what)?;
        if *peer == self.me {
            return Err(format!("you cannot {what} yourself; ask another owner"));
        }
        if self.docs.revoked().contains_key(&peer.to_string()) {
            return Err(format!("{peer} was already revoked"));
        }
        self.docs
            .members()
            .remove(&peer.to_string())
            .ok_or_else(|| format!("{peer} is not a member of this workspace (see `tandem members`)"))
    }

    fn set_role(&mut self, peer: PeerId, role: Role) -> Result<(), String> {
        let mut rec = self.managed_member(&peer, "change the role of")?;
        if rec.role == role {
            return Ok(());
        }
        rec.role = role;
        let update = self.docs.set_member(&peer, &rec);
        self.local_change(DocId::Members, update);
        self.flush();
        tracing::info!(%peer, %role, "role changed");
        Ok(())
    }

    fn revoke(&mut self, peer: PeerId, grant: Grant) -> Result<(), String> {
        self.managed_member(&peer, "revoke")?;
        let me = self.me;
        let update = self.docs.revoke(&peer, &me);
        self.local_change(DocId::Members, update);
        // Stored (and so acknowledged) before the new key is: a crash in between leaves the peer
        // revoked under the old key, and the owner can revoke again to rotate.
        self.flush();
        self.adopt(grant)?;
        tracing::info!(%peer, epoch = self.keys.epoch, "member revoked; workspace key rotated");
        // Members still on the old key ask for the new one at their next sync with us: now.
        let nudge = Envelope::nudge("members").encode();
        let _ = self.out.net.send(crate::net::NetCmd::Publish(nudge));
        Ok(())
    }

    /// Moves to the key of an owner's grant if it is newer than ours. Saved before it is used.
    fn adopt(&mut self, grant: Grant) -> Result<bool, String> {
        let issuer = grant.verify(&self.keys.workspace_id).map_err(|e| e.to_string())?;
        if self.trust.role_of(&issuer) != Some(Role::Owner) {
            return Err(format!("key grant signed by {issuer}, who is not an owner"));
        }
        if grant.epoch <= self.keys.epoch {
            return Ok(false);
        }
        let key = grant.key_array().ok_or("malformed key grant")?;
        let current = self.keys.ring.keys().current;
        let mut encoded = Vec::new();
        ciborium::into_writer(&grant, &mut encoded).map_err(|e| e.to_string())?;
        let rotation = KeyRotation {
            key: &key,
            epoch: grant.epoch,
            grant: &encoded,
            previous: &current,
            previous_until: grant.grace_until(),
        };
        self.store.rotate_key(&rotation).map_err(|e| e.to_string())?;
        self.keys.ring.set(Keys {
            current: key,
            previous: Some((current, grant.grace_until())),
        });
        self.keys.epoch = grant.epoch;
        self.keys.grant = Some(grant);
        let _ = self.out.events.send(Event::KeyRotated { epoch: self.keys.epoch });
        tracing::info!(epoch = self.keys.epoch, "moved to a new workspace key");
        Ok(true)
    }
}
