//! Tandem's engine: a folder of text files kept in sync between peers as yrs CRDTs over libp2p,
//! with no server. The CLI, the desktop app and the tests all go through [`Node`].

pub mod activity;
pub mod agents;
pub mod alerts;
pub mod alerts_config;
pub mod checks;
pub mod control;
pub mod core;
mod decode_limits;
pub mod docs;
pub mod error;
pub mod events;
pub mod fs_sync;
pub mod invite;
pub mod keys;
pub mod members;
pub mod memory;
pub mod merge;
pub mod metrics;
pub mod net;
pub mod node;
pub mod presence;
pub mod profile;
pub mod review;
pub mod store;
pub mod wire;
pub mod workspace;

pub use error::Error;
pub use events::Event;
pub use members::Role;
pub use node::{Node, NodeConfig};

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
