//! Workspace key rotation: an owner's signed grant of a new pre-shared key.
//!
//! A revocation makes the revoked peer's copy of the key worthless: the revoking owner draws a new
//! key, signs a [`Grant`] of it with its peer identity, and members hand the newest grant to each
//! other during the sync exchange (only to members, only over Noise). Each peer checks that the
//! signer is an owner in its own members document and that the epoch goes up, so neither a member
//! nor a stranger can steer anybody onto a key of its choosing.

use libp2p::identity::{Keypair, PublicKey};
use libp2p::PeerId;
use serde::{Deserialize, Serialize};

/// What the signature covers, before the fields.
const DOMAIN: &[u8] = b"tandem/key-grant/1";

/// A new workspace key, signed by the owner who drew it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Key generation: 0 is the key made with the workspace, each rotation adds one.
    pub epoch: u32,
    /// The new pre-shared key.
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    /// The signing owner's peer id, as bytes.
    #[serde(with = "serde_bytes")]
    pub issuer: Vec<u8>,
    /// Unix seconds at signing.
    pub issued_at: u64,
    /// How long after `issued_at` peers still accept the previous key from members who were away.
    pub grace_secs: u64,
    /// Ed25519 signature over the domain, the workspace id and the fields above.
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

// The key never appears in logs, even at debug level.
impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("epoch", &self.epoch)
            .field("issuer", &PeerId::from_bytes(&self.issuer).ok())
            .field("issued_at", &self.issued_at)
            .field("grace_secs", &self.grace_secs)
            .finish_non_exhaustive()
    }
}

/// Why a grant was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GrantError {
    /// Malformed fields.
    #[error("malformed key grant")]
    Malformed,
    /// The signature does not verify with the issuer's key.
    #[error("key grant signature does not verify")]
    BadSignature,
    /// Signing failed locally.
    #[error("could not sign the key grant: {0}")]
    Sign(String),
}

impl Grant {
    /// Draws a fresh key for `epoch` and signs it.
    pub fn issue(keypair: &Keypair, workspace_id: &[u8; 16], epoch: u32, grace_secs: u64) -> Result<Grant, GrantError> {
        let mut key = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        let mut grant = Grant {
            epoch,
            key,
            issuer: keypair.public().to_peer_id().to_bytes(),
            issued_at: crate::unix_now(),
            grace_secs,
            sig: Vec::new(),
        };
        grant.sig = keypair
            .sign(&grant.signed_bytes(workspace_id))
            .map_err(|e| GrantError::Sign(e.to_string()))?;
        Ok(grant)
    }

    /// The issuer, if the grant is well formed and its signature verifies.
    pub fn verify(&self, workspace_id: &[u8; 16]) -> Result<PeerId, GrantError> {
        let issuer = PeerId::from_bytes(&self.issuer).map_err(|_| GrantError::Malformed)?;
        if self.key.len() != 32 {
            return Err(GrantError::Malformed);
        }
        let public = public_key_of(&issuer).ok_or(GrantError::Malformed)?;
        if !public.verify(&self.signed_bytes(workspace_id), &self.sig) {
            return Err(GrantError::BadSignature);
        }
        Ok(issuer)
    }

    /// The key as an array (a verified grant always has 32 bytes).
    pub fn key_array(&self) -> Option<[u8; 32]> {
        self.key.as_slice().try_into().ok()
    }

    /// Until when the previous key stays accepted.
    pub fn grace_until(&self) -> u64 {
        self.issued_at.saturating_add(self.grace_secs)
    }

    fn signed_bytes(&self, workspace_id: &[u8; 16]) -> Vec<u8> {
        let mut out = Vec::with_capacity(DOMAIN.len() + 16 + 4 + 32 + self.issuer.len() + 16);
        out.extend_from_slice(DOMAIN);
        out.extend_from_slice(workspace_id);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&self.issuer);
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.grace_secs.to_be_bytes());
        out
    }
}

/// The public key inlined in an Ed25519 peer id (identity multihash), if it is one.
fn public_key_of(peer: &PeerId) -> Option<PublicKey> {
    let mh = peer.as_ref();
    (mh.code() == 0)
        .then(|| PublicKey::try_decode_protobuf(mh.digest()).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: [u8; 16] = [7; 16];

    #[test]
    fn a_grant_verifies_as_its_issuer_and_nothing_else() {
        let owner = Keypair::generate_ed25519();
        let grant = Grant::issue(&owner, &WS, 1, 60).expect("sign");
        assert_eq!(grant.verify(&WS), Ok(owner.public().to_peer_id()));
        assert_eq!(grant.verify(&[8; 16]), Err(GrantError::BadSignature));
        let mut other_key = grant.clone();
        other_key.key[0] ^= 1;
        assert_eq!(other_key.verify(&WS), Err(GrantError::BadSignature));
        let mut stolen = grant.clone();
        stolen.issuer = Keypair::generate_ed25519().public().to_peer_id().to_bytes();
        assert_eq!(stolen.verify(&WS), Err(GrantError::BadSignature));
        let mut longer = grant;
        longer.grace_secs += 1;
        assert_eq!(longer.verify(&WS), Err(GrantError::BadSignature));
    }

    #[test]
    fn a_grant_never_shows_its_key_in_debug_output() {
        let grant = Grant::issue(&Keypair::generate_ed25519(), &WS, 3, 0).expect("sign");
        let shown = format!("{grant:?}");
        assert!(!shown.contains(&format!("{:?}", grant.key)));
        assert!(shown.contains("epoch: 3"));
    }
}
