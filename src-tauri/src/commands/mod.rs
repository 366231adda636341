//! Tauri commands, grouped by concern. Each takes the node from state, calls it, maps the error.

pub mod docs;
pub mod metrics;
pub mod presence;
pub mod review;
pub mod settings;
pub mod workspace;
