//! The sync exchange driver: on every (re)connection, on a nudge and at an interval, ask a peer
//! for what we miss, page by page, until it has nothing more.

use super::Node;
use crate::core::Cmd;
use crate::events::Event;
use crate::wire::{SyncRequest, SyncResponse, WIRE_VERSION};
use crate::Error;
use libp2p::PeerId;
use std::collections::HashSet;
use tokio::sync::{mpsc, oneshot};

/// Most pages in one exchange: a bound, so that a misbehaving peer cannot keep us busy forever.
const MAX_PAGES: usize = 100_000;

/// Runs one exchange with `peer`: ask, apply, repeat while it has more.
pub async fn session(node: &Node, peer: PeerId, mut progress: Option<&mut impl FnMut(u64, u64)>) -> Result<(), Error> {
    key_exchange(node, peer).await;
    let mut received = 0u64;
    let mut applied_total = 0usize;
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let (tx, rx) = oneshot::channel();
        node.core()
            .send(Cmd::Vectors { reply: tx })
            .map_err(|_| Error::Stopped)?;
        let have = rx.await.map_err(|_| Error::Stopped)?;
        let req = SyncRequest::Sync {
            v: WIRE_VERSION,
            have,
            after: after.clone(),
        };
        let resp = node.request(peer, req).await?;
        let (updates, more, total) = match resp {
            SyncResponse::Updates {
                updates,
                more,
                total_docs,
                ..
            } => (updates, more, total_docs),
            SyncResponse::Refused { reason, .. } => {
                return Err(Error::Refused(format!("{peer} refused to sync: {reason}")))
            }
            other => return Err(Error::Refused(format!("unexpected sync answer from {peer}: {other:?}"))),
        };
        received += updates.len() as u64;
        // The cursor moves past every document of this page, so each comes at most once.
        after = updates.last().map(|u| u.doc.clone()).or(after);
        let (tx, rx) = oneshot::channel();
        node.core()
            .send(Cmd::Synced {
                from: peer,
                updates,
                reply: tx,
            })
            .map_err(|_| Error::Stopped)?;
        let applied = rx.await.map_err(|_| Error::Stopped)?;
        applied_total += applied;
        if let Some(p) = progress.as_mut() {
            p(received.min(total), total);
        }
        node.emit(Event::Progress {
            received: received.min(total),
            total,
        });
        if !more {
            break;
        }
    }
    node.emit(Event::Synced {
        peer: peer.to_string(),
        applied: applied_total,
    });
    Ok(())
}

/// Tells `peer` our key epoch and adopts the newer grant it may hand back. Not fatal: a peer
/// that does not know the request still syncs.
async fn key_exchange(node: &Node, peer: PeerId) {
    let Ok(epoch) = node.key_epoch().await else { return };
    let req = SyncRequest::Key { v: WIRE_VERSION, epoch };
    match node.request(peer, req).await {
        Ok(SyncResponse::Key { grant: Some(grant), .. }) => {
            let (tx, rx) = oneshot::channel();
            let cmd = crate::core::MembersCmd::OfferGrant {
                from: peer,
                grant,
                reply: tx,
            };
            if node.core().send(Cmd::Members(cmd)).is_ok() {
                if let Ok(Err(why)) = rx.await {
                    tracing::debug!(%peer, reason = %why, "key grant not taken");
                }
            }
        }
        Ok(_) => {}
        Err(e) => tracing::debug!(%peer, error = %e, "key exchange failed"),
    }
}

/// Serves sync triggers: one exchange per peer at a time, re-run once if triggered meanwhile.
pub async fn driver(node: Node, mut triggers: mpsc::UnboundedReceiver<PeerId>) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<PeerId>();
    let mut running: HashSet<PeerId> = HashSet::new();
    let mut again: HashSet<PeerId> = HashSet::new();
    loop {
        let start = tokio::select! {
            t = triggers.recv() => match t {
                Some(peer) if running.contains(&peer) => { again.insert(peer); None }
                Some(peer) => Some(peer),
                None => return,
            },
            Some(peer) = done_rx.recv() => {
                running.remove(&peer);
                again.remove(&peer).then_some(peer)
            }
        };
        if let Some(peer) = start {
            running.insert(peer);
            let node = node.clone();
            let done = done_tx.clone();
            tokio::spawn(async move {
                if let Err(e) = session(&node, peer, None::<&mut fn(u64, u64)>).await {
                    tracing::debug!(%peer, error = %e, "sync exchange failed; will retry");
                }
                let _ = done.send(peer);
            });
        }
    }
}

/// Saves the addresses of connected peers so a restart can dial them again.
pub async fn remember_peers(node: Node) {
    let mut events = node.subscribe();
    let mut saved: Option<Vec<String>> = None;
    loop {
        match events.recv().await {
            // After a sync, the members are known, and with them whose addresses are worth keeping.
            Ok(Event::PeerConnected { .. } | Event::Synced { .. }) => {}
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => return,
        }
        let Ok(mut addrs) = node.known_peer_addrs().await else {
            return;
        };
        // Syncs come every few seconds; the addresses rarely change: write only when they do.
        addrs.sort();
        if saved.as_ref() == Some(&addrs) {
            continue;
        }
        saved = Some(addrs.clone());
        let json = serde_json::to_vec(&addrs).unwrap_or_default();
        let _ = node.core().send(Cmd::SetMeta {
            key: super::META_PEERS.into(),
            value: json,
        });
    }
}
