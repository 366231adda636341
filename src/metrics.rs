//! Host metrics sampled with sysinfo, and a bounded time series per peer.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sysinfo::{CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Networks, RefreshKind, System};

/// How much history a [`Series`] keeps by default.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Hard cap on the samples of one [`Series`], whatever their timestamps say: a peer that sends
/// samples far faster than once a second must not grow our memory without bound.
pub const MAX_POINTS: usize = 10_000;

/// One snapshot of a machine's load and of the engine's sync activity.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metrics {
    /// CPU use of the whole machine, 0..=100.
    pub cpu_percent: f64,
    /// RAM in use, in bytes.
    pub mem_used: u64,
    /// Total RAM, in bytes.
    pub mem_total: u64,
    /// Bytes/s received on all interfaces except loopback.
    pub net_rx_bps: f64,
    /// Bytes/s sent on all interfaces except loopback.
    pub net_tx_bps: f64,
    /// Bytes free (for an unprivileged user) on the disk holding the workspace.
    pub disk_free: u64,
    /// Latest sync round-trip to this peer; filled by the engine, not the sampler.
    pub sync_latency_ms: Option<f64>,
    /// Sync messages per second; filled by the engine.
    pub msgs_per_sec: f64,
    /// Sync bytes per second; filled by the engine.
    pub bytes_per_sec: f64,
    /// When the sample was taken, in unix milliseconds.
    pub at: u64,
}

/// Samples this host; owns the sysinfo handles so that rates can be computed between calls.
pub struct Sampler {
    system: System,
    networks: Networks,
    disks: Disks,
    workspace_root: PathBuf,
    /// When the previous sample was taken; `None` before the first one, whose rates are 0.
    last: Option<Instant>,
}

impl Sampler {
    /// Creates a sampler for the disk holding `workspace_root`, priming the CPU and network counters.
    pub fn new(workspace_root: &Path) -> Sampler {
        // Symlinks (e.g. macOS /tmp -> /private/tmp) would defeat the mount-point prefix match.
        let workspace_root = workspace_root
            .canonicalize()
            .unwrap_or_else(|_| workspace_root.to_path_buf());
        // Only what we report is refreshed: a full refresh walks every process and costs far more.
        let system = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        let disks = Disks::new_with_refreshed_list_specifics(DiskRefreshKind::nothing().with_storage());
        Sampler {
            system,
            networks: Networks::new_with_refreshed_list(),
            disks,
            workspace_root,
            last: None,
        }
    }

    /// Takes one sample; rates are computed against the previous call (first call: rates 0).
    pub fn sample(&mut self) -> Metrics {
        let now = Instant::now();
        // sysinfo reports CPU use as the delta between two refreshes, so this is the load since
        // the previous call (the engine calls us every second, above MINIMUM_CPU_UPDATE_INTERVAL).
        self.system.refresh_cpu_usage();
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        // `true` drops interfaces that vanished, so a removed VPN link stops contributing.
        self.networks.refresh(true);
        // Re-reading the mount table is cheap and picks up a workspace disk mounted after start.
        self.disks
            .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());

        let (rx, tx) = self
            .networks
            .iter()
            .filter(|(name, data)| !is_loopback(name, data))
            .fold((0u64, 0u64), |(rx, tx), (_, d)| {
                (rx.saturating_add(d.received()), tx.saturating_add(d.transmitted()))
            });
        let (net_rx_bps, net_tx_bps) = match self.last {
            Some(prev) => {
                let secs = now.duration_since(prev).as_secs_f64();
                if secs > 0.0 {
                    (rx as f64 / secs, tx as f64 / secs)
                } else {
                    (0.0, 0.0)
                }
            }
            None => (0.0, 0.0),
        };
        self.last = Some(now);

        let cpu = f64::from(self.system.global_cpu_usage());
        let mem_total = self.system.total_memory();
        Metrics {
            cpu_percent: if cpu.is_finite() { cpu.clamp(0.0, 100.0) } else { 0.0 },
            // Some kernels briefly report used > total while memory is being hot-plugged or ballooned.
            mem_used: self.system.used_memory().min(mem_total),
            mem_total,
            net_rx_bps,
            net_tx_bps,
            disk_free: self.workspace_disk_free(),
            at: unix_millis(),
            ..Metrics::default()
        }
    }

    /// Free space on the disk whose mount point is the longest prefix of the workspace root.
    fn workspace_disk_free(&self) -> u64 {
        let disk = self
            .disks
            .iter()
            .filter(|d| self.workspace_root.starts_with(d.mount_point()))
            .max_by_key(|d| d.mount_point().as_os_str().len());
        match disk {
            Some(d) => d.available_space(),
            None => {
                // sysinfo skips some file systems (tmpfs, NFS, a container's rootfs); with no mount
                // above the workspace at all, 0 (which the disk rule flags) beats inventing room.
                tracing::debug!(root = %self.workspace_root.display(), "no disk found for the workspace");
                0
            }
        }
    }
}

/// Loopback traffic is local IPC, not network load.
fn is_loopback(name: &str, data: &sysinfo::NetworkData) -> bool {
    let nets = data.ip_networks();
    name == "lo" || name == "lo0" || (!nets.is_empty() && nets.iter().all(|n| n.addr.is_loopback()))
}

/// Current wall-clock time in unix milliseconds (0 if the clock is before 1970).
fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The last `window` of samples of one peer (default 10 minutes), oldest dropped first.
#[derive(Debug, Clone)]
pub struct Series {
    window_ms: u64,
    points: VecDeque<Metrics>,
}

impl Default for Series {
    /// A series over [`DEFAULT_WINDOW`].
    fn default() -> Self {
        Series::new(DEFAULT_WINDOW)
    }
}

impl Series {
    /// An empty series keeping samples no older than `window` before the newest one.
    pub fn new(window: Duration) -> Series {
        Series {
            window_ms: u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
            points: VecDeque::new(),
        }
    }

    /// Inserts a sample in time order, then drops those that fell out of the window or over the cap.
    pub fn push(&mut self, m: Metrics) {
        // Samples come over the network and may arrive out of order; keeping the deque sorted
        // makes `points()` chronological and lets expiry pop from the front only. In the usual
        // in-order case `rposition` stops at the first element it looks at.
        let pos = self.points.iter().rposition(|p| p.at <= m.at).map_or(0, |i| i + 1);
        self.points.insert(pos, m);
        let newest = self.points.back().map_or(0, |p| p.at);
        let cutoff = newest.saturating_sub(self.window_ms);
        while self.points.front().is_some_and(|p| p.at < cutoff) {
            self.points.pop_front();
        }
        while self.points.len() > MAX_POINTS {
            self.points.pop_front();
        }
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<&Metrics> {
        self.points.back()
    }

    /// The samples, oldest first.
    pub fn points(&self) -> impl Iterator<Item = &Metrics> {
        self.points.iter()
    }

    /// Number of samples kept.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether no sample is kept.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_sane() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Sampler::new(dir.path());
        let m = s.sample();
        assert!((0.0..=100.0).contains(&m.cpu_percent), "cpu {}", m.cpu_percent);
        assert!(m.mem_total > 0);
        assert!(m.mem_used <= m.mem_total);
        assert!(m.disk_free > 0, "no free space found for {}", dir.path().display());
        assert!(m.at > 0);
        assert_eq!((m.net_rx_bps, m.net_tx_bps), (0.0, 0.0), "first sample has no rates");
        assert_eq!(m.sync_latency_ms, None);
    }

    #[test]
    fn second_sample_has_finite_rates() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Sampler::new(dir.path());
        let first = s.sample();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL + Duration::from_millis(50));
        let m = s.sample();
        for rate in [m.net_rx_bps, m.net_tx_bps] {
            assert!(rate.is_finite() && rate >= 0.0, "rate {rate}");
        }
        assert!((0.0..=100.0).contains(&m.cpu_percent), "cpu {}", m.cpu_percent);
        assert!(m.at >= first.at);
    }

    fn at(ms: u64) -> Metrics {
        Metrics {
            at: ms,
            ..Metrics::default()
        }
    }

    #[test]
    fn series_drops_old_samples() {
        let mut s = Series::new(Duration::from_secs(10));
        assert!(s.is_empty() && s.latest().is_none());
        for sec in 0..=30 {
            s.push(at(sec * 1000));
        }
        assert_eq!(s.len(), 11, "samples 20..=30 s remain");
        assert_eq!(s.points().next().map(|m| m.at), Some(20_000));
        assert_eq!(s.latest().map(|m| m.at), Some(30_000));
        // A late sample older than the window is dropped at once.
        s.push(at(1_000));
        assert_eq!(s.len(), 11);
        assert!(s.points().all(|m| m.at >= 20_000));
        // A late sample inside the window is kept in time order.
        s.push(at(25_500));
        let ats: Vec<u64> = s.points().map(|m| m.at).collect();
        assert!(ats.windows(2).all(|w| w[0] <= w[1]), "{ats:?}");
        assert_eq!(s.latest().map(|m| m.at), Some(30_000));
    }

    #[test]
    fn series_caps_length() {
        let mut s = Series::default();
        for i in 0..(MAX_POINTS as u64 + 500) {
            s.push(at(1_000_000 + i)); // all within the window: only the cap applies
        }
        assert_eq!(s.len(), MAX_POINTS);
        assert_eq!(s.points().next().map(|m| m.at), Some(1_000_500));
    }
}
