//! Connection gating: who may hold a connection at all, decided as soon as Noise names the
//! remote and before any protocol runs on it.

use super::KeyRing;
use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent, THandlerOutEvent,
    ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use std::collections::HashSet;
use std::task::{Context, Poll};

/// Why a connection was denied (shown in the swarm's connection errors).
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    /// The remote was revoked from the workspace.
    #[error("peer was revoked from the workspace")]
    Revoked,
    /// The remote used the previous workspace key and is not a member.
    #[error("the previous workspace key is only accepted from members")]
    OldKey,
}

/// Denies revoked peers, and non-members who connect with the previous workspace key.
pub struct Gate {
    keys: KeyRing,
    members: HashSet<PeerId>,
    revoked: HashSet<PeerId>,
}

impl Gate {
    /// A gate that knows no member yet.
    pub fn new(keys: KeyRing) -> Gate {
        Gate {
            keys,
            members: HashSet::new(),
            revoked: HashSet::new(),
        }
    }

    /// The membership changed.
    pub fn set(&mut self, members: HashSet<PeerId>, revoked: HashSet<PeerId>) {
        self.members = members;
        self.revoked = revoked;
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = std::convert::Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _id: ConnectionId,
        peer: PeerId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        // Always asked, so the mark left by the handshake never lingers.
        let old_key = self.keys.came_with_old_key(&remote.to_string());
        if self.revoked.contains(&peer) {
            return Err(ConnectionDenied::new(Denied::Revoked));
        }
        if old_key && !self.members.contains(&peer) {
            return Err(ConnectionDenied::new(Denied::OldKey));
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _id: ConnectionId,
        peer: PeerId,
        _addr: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if self.revoked.contains(&peer) {
            return Err(ConnectionDenied::new(Denied::Revoked));
        }
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _event: FromSwarm) {}

    fn on_connection_handler_event(&mut self, _peer: PeerId, _id: ConnectionId, event: THandlerOutEvent<Self>) {
        match event {}
    }

    fn poll(&mut self, _cx: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
