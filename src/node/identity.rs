//! This peer's identity key, kept in `.tandem/identity.key` (owner-only permissions).

use crate::Error;
use libp2p::identity::Keypair;
use std::path::Path;

fn fail(path: &Path, why: impl ToString) -> Error {
    Error::Identity {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Creates a new Ed25519 identity and saves it; refuses to overwrite one.
pub fn create(path: &Path) -> Result<Keypair, Error> {
    use std::io::Write;
    let keypair = Keypair::generate_ed25519();
    let bytes = keypair.to_protobuf_encoding().map_err(|e| fail(path, e))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| fail(path, e))?;
    f.write_all(&bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| fail(path, e))?;
    Ok(keypair)
}

/// Loads the saved identity.
pub fn load(path: &Path) -> Result<Keypair, Error> {
    let bytes = std::fs::read(path).map_err(|e| fail(path, e))?;
    Keypair::from_protobuf_encoding(&bytes)
        .map_err(|_| fail(path, "not a valid identity key; restore it from a backup or re-join"))
}
