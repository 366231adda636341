//! Members, roles, revocation and open invites: what `tandem members`, `role`, `revoke` and
//! `invites` do.

use super::Node;
use crate::core::{Cmd, MemberInfo, MembersCmd};
use crate::keys::Grant;
use crate::members::Role;
use crate::store::OpenInvite;
use crate::Error;
use libp2p::PeerId;
use std::time::Duration;

/// How long, by default, members who were away during a rotation can still come back with the
/// old key (and only members: anyone else using it is disconnected at once).
pub const DEFAULT_KEY_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

impl Node {
    async fn members_cmd<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> MembersCmd,
    ) -> Result<T, Error> {
        self.ask(|reply| Cmd::Members(make(reply))).await
    }

    /// Every member (revoked ones too, marked), oldest first.
    pub async fn members(&self) -> Result<Vec<MemberInfo>, Error> {
        self.members_cmd(|reply| MembersCmd::List { reply }).await
    }

    /// The member a user means: a peer id, or a unique display name.
    pub async fn find_member(&self, who: &str) -> Result<PeerId, Error> {
        if let Ok(peer) = who.parse::<PeerId>() {
            return Ok(peer);
        }
        let members = self.members().await?;
        let named: Vec<&MemberInfo> = members.iter().filter(|m| m.name == who).collect();
        match named.as_slice() {
            [one] => one
                .peer
                .parse()
                .map_err(|_| Error::Refused(format!("member {who:?} has a malformed peer id"))),
            [] => Err(Error::Refused(format!(
                "no member is called {who:?}: give a peer id or a name from `tandem members`"
            ))),
            _ => Err(Error::Refused(format!(
                "several members are called {who:?}: give the peer id from `tandem members`"
            ))),
        }
    }

    /// Changes a member's role (owners only; takes effect on every peer as the change arrives).
    pub async fn set_role(&self, peer: PeerId, role: Role) -> Result<(), Error> {
        self.members_cmd(|reply| MembersCmd::SetRole { peer, role, reply })
            .await?
            .map_err(Error::Refused)
    }

    /// Revokes a member (owners only): refused by every peer from then on, disconnected, and the
    /// workspace key rotated, so its copy of the key stops working after `grace` (during which
    /// it is still only good for being disconnected).
    pub async fn revoke(&self, peer: PeerId, grace: Duration) -> Result<u32, Error> {
        let epoch = self.members_cmd(|reply| MembersCmd::KeyEpoch { reply }).await? + 1;
        let grant = Grant::issue(&self.inner.keypair, &self.inner.workspace_id, epoch, grace.as_secs())
            .map_err(|e| Error::Refused(e.to_string()))?;
        self.members_cmd(|reply| MembersCmd::Revoke { peer, grant, reply })
            .await?
            .map_err(Error::Refused)?;
        Ok(epoch)
    }

    /// Open invites (owners only).
    pub async fn invites(&self) -> Result<Vec<OpenInvite>, Error> {
        self.members_cmd(|reply| MembersCmd::Invites { reply })
            .await?
            .map_err(Error::Refused)
    }

    /// Cancels an open invite by its id or a unique prefix of it (owners only).
    pub async fn cancel_invite(&self, id: &str) -> Result<(), Error> {
        let id = id.to_string();
        self.members_cmd(|reply| MembersCmd::CancelInvite { id, reply })
            .await?
            .map_err(Error::Refused)
    }

    /// The workspace key's epoch (0 until the first rotation).
    pub async fn key_epoch(&self) -> Result<u32, Error> {
        self.members_cmd(|reply| MembersCmd::KeyEpoch { reply }).await
    }
}
