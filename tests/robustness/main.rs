//! The robustness matrix: crashes, full and read-only disks, a vanished folder, partitions,
//! watcher faults and load, each against real peers (in-process `Node`s or `tandem` processes).
//!
//! Every scenario runs with short settings by default (CI) and with long ones when
//! `TANDEM_MATRIX=long` (the `.ci/matrix` script), and prints one line
//! `MATRIX scenario=... faults=... inputs=... lost=... panics=...` that the script tabulates.

#[path = "../common/mod.rs"]
mod common;

mod matrix;
mod procs;

mod crash_loop;
mod disk_faults;
mod load;
mod partitions;
mod vanished_folder;
mod watcher_faults;
