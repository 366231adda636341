//! Alert rules (from `.tandem/config.toml`, with defaults) and the state machine that fires each
//! alert once and clears it on recovery.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::metrics::Metrics;

/// Thresholds of the alerts; every key of the `[alerts]` table is optional.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Rules {
    /// CPU use (0..=100) above which the `cpu` alert starts counting; 100 disables it.
    #[serde(deserialize_with = "percent")]
    pub cpu_percent: f64,
    /// Seconds the CPU must stay above `cpu_percent` before firing.
    pub cpu_for_secs: u64,
    /// Share of RAM in use (0..=100) above which the `memory` alert starts counting.
    #[serde(deserialize_with = "percent")]
    pub mem_percent: f64,
    /// Seconds memory must stay above `mem_percent` before firing.
    pub mem_for_secs: u64,
    /// The `disk` alert fires at once when the workspace disk has fewer MiB free than this.
    pub disk_free_min_mb: u64,
    /// Sync latency (ms) above which the `sync_lag` alert starts counting.
    #[serde(deserialize_with = "non_negative")]
    pub sync_lag_ms: f64,
    /// Seconds the latency must stay above `sync_lag_ms` before firing.
    pub sync_lag_for_secs: u64,
    /// Whether a peer going offline is an alert.
    pub peer_offline: bool,
    /// Whether an agent failing is an alert.
    pub agent_failed: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            cpu_percent: 90.0,
            cpu_for_secs: 30,
            mem_percent: 90.0,
            mem_for_secs: 30,
            disk_free_min_mb: 1024,
            sync_lag_ms: 2000.0,
            sync_lag_for_secs: 10,
            peer_offline: true,
            agent_failed: true,
        }
    }
}

// Range checks run inside deserialization so that toml reports them with the value's line.
fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "must be a percentage within 0..=100, got {v}"
        )))
    }
}

fn non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "must be a finite number >= 0, got {v}"
        )))
    }
}

/// Why the alert rules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    /// The config file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// The config file is not valid TOML, or `[alerts]` holds a bad value.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// The whole config file: other tables belong to other modules and are ignored here.
#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    alerts: Rules,
}

/// The `[alerts]` table of `.tandem/config.toml`; a missing file or table gives the defaults; a
/// malformed file is an error that names the file, line and what is wrong.
pub fn load(config_path: &Path) -> Result<Rules, AlertsError> {
    let text = match std::fs::read_to_string(config_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Rules::default()),
        Err(source) => {
            return Err(AlertsError::Read {
                path: config_path.to_path_buf(),
                source,
            })
        }
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let before = text.get(..offset).unwrap_or(&text);
        let line = before.matches('\n').count() + 1;
        // toml keeps the key path private; quoting the offending line tells the user which key.
        let mut message = e.message().trim().to_string();
        if let Some(src) = text.lines().nth(line - 1).map(str::trim).filter(|l| !l.is_empty()) {
            message = format!("{message} (in `{src}`)");
        }
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        AlertsError::Parse {
            path: config_path.to_path_buf(),
            line,
            column,
            message,
        }
    })?;
    // Unknown keys are tolerated (a newer peer may know more rules) but a typo should not pass
    // silently; the file already parsed, so a second parse cannot fail in a new way. The known
    // keys come from serializing the defaults, so this list cannot drift from the struct.
    let known = toml::Table::try_from(Rules::default()).unwrap_or_default();
    if let Ok(table) = toml::from_str::<toml::Table>(&text) {
        if let Some(toml::Value::Table(alerts)) = table.get("alerts") {
            for key in alerts.keys().filter(|k| !known.contains_key(k.as_str())) {
                tracing::warn!(file = %config_path.display(), key, "unknown key in [alerts], ignored");
            }
        }
    }
    Ok(file.alerts)
}

/// What the engine observes about one subject (a peer) at one moment.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    /// Stable peer id, used in alert ids.
    pub peer: &'a str,
    /// Human name of the peer, used in messages.
    pub name: &'a str,
    /// Latest metrics; `None` while online keeps the metric alerts as they are (no news).
    pub metrics: Option<&'a Metrics>,
    /// Whether the peer is reachable; offline peers clear their metric alerts.
    pub online: bool,
    /// Agents currently failed on this peer, as (agent, reason).
    pub failed_agents: Vec<(&'a str, &'a str)>,
}

/// One alert, as fired and as later cleared.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Alert {
    /// Stable id, `<rule>:<peer>` (`agent_failed:<peer>:<agent>` for agents).
    pub id: String,
    /// cpu | memory | disk | sync_lag | peer_offline | agent_failed.
    pub rule: String,
    /// Peer id the alert is about.
    pub peer: String,
    /// Human-readable text, e.g. "CPU on alice at 97% for 30 s".
    pub message: String,
    /// Unix seconds at which the condition started to hold.
    pub since: u64,
}

/// A transition reported by [`Alerts::observe`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum Change {
    /// The condition held long enough: the alert is now active.
    Fired(Alert),
    /// The condition ended (or its subject went away): the alert is no longer active.
    Cleared(Alert),
}

/// A condition that holds in this round.
struct Holds {
    id: String,
    rule: &'static str,
    peer: String,
    for_secs: u64,
    text: String,
}

/// How one condition of one subject stands in a round.
enum Verdict {
    Holds(Holds),
    /// No data this round: keep whatever state the condition had.
    Unknown(String),
}

/// Per-condition state: since when it holds, and the alert once fired.
struct Track {
    since: u64,
    fired: Option<Alert>,
}

const METRIC_RULES: [&str; 4] = ["cpu", "memory", "disk", "sync_lag"];

/// The alert state machine over all subjects.
pub struct Alerts {
    rules: Rules,
    // Keyed by alert id; a BTreeMap keeps `active()` and clear order deterministic.
    tracks: BTreeMap<String, Track>,
}

impl Alerts {
    /// A state machine with no active alert.
    pub fn new(rules: Rules) -> Alerts {
        Alerts {
            rules,
            tracks: BTreeMap::new(),
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Replaces the rules (config reload); conditions already counting keep their start time.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = rules;
    }

    /// Feeds one round of observations at time `now` (unix secs); returns what fired or cleared.
    /// A condition must hold for its `for_secs` before firing; an alert fires once while the
    /// condition lasts and clears once when it ends. Subjects no longer observed clear too.
    pub fn observe(&mut self, now: u64, seen: &[Observation]) -> Vec<Change> {
        let verdicts: Vec<Verdict> = seen.iter().flat_map(|o| self.verdicts(o)).collect();
        let kept: HashSet<&str> = verdicts
            .iter()
            .map(|v| match v {
                Verdict::Holds(h) => h.id.as_str(),
                Verdict::Unknown(id) => id.as_str(),
            })
            .collect();
        let mut changes = Vec::new();
        // Anything tracked that neither holds nor lacks data has ended: clear it.
        self.tracks.retain(|id, t| {
            let keep = kept.contains(id.as_str());
            if !keep {
                changes.extend(t.fired.take().map(Change::Cleared));
            }
            keep
        });
        for h in verdicts
            .into_iter()
            .filter_map(|v| if let Verdict::Holds(h) = v { Some(h) } else { None })
        {
            let t = self.tracks.entry(h.id.clone()).or_insert(Track {
                since: now,
                fired: None,
            });
            let held = now.saturating_sub(t.since);
            if t.fired.is_none() && held >= h.for_secs {
                let message = if h.for_secs > 0 {
                    format!("{} for {held} s", h.text)
                } else {
                    h.text
                };
                let alert = Alert {
                    id: h.id,
                    rule: h.rule.to_string(),
                    peer: h.peer,
                    message,
                    since: t.since,
                };
                t.fired = Some(alert.clone());
                changes.push(Change::Fired(alert));
            }
        }
        changes
    }

    /// The alerts currently fired, ordered by id.
    pub fn active(&self) -> Vec<Alert> {
        self.tracks.values().filter_map(|t| t.fired.clone()).collect()
    }

    /// Evaluates every rule against one observation.
    fn verdicts(&self, o: &Observation) -> Vec<Verdict> {
        let r = &self.rules;
        let mut out = Vec::new();
        let holds = |rule: &'static str, for_secs: u64, text: String| {
            let id = format!("{rule}:{}", o.peer);
            Verdict::Holds(Holds {
                id,
                rule,
                peer: o.peer.to_string(),
                for_secs,
                text,
            })
        };
        if r.peer_offline && !o.online {
            out.push(holds("peer_offline", 0, format!("{} is offline", o.name)));
        }
        match (o.online, o.metrics) {
            // Stale metrics of an offline peer mean nothing; `peer_offline` speaks for it.
            (false, _) => {}
            (true, Some(m)) => {
                if m.cpu_percent > r.cpu_percent {
                    out.push(holds(
                        "cpu",
                        r.cpu_for_secs,
                        format!("CPU on {} at {:.0}%", o.name, m.cpu_percent),
                    ));
                }
                let mem = if m.mem_total > 0 {
                    100.0 * m.mem_used as f64 / m.mem_total as f64
                } else {
                    0.0
                };
                if mem > r.mem_percent {
                    out.push(holds(
                        "memory",
                        r.mem_for_secs,
                        format!("Memory on {} at {mem:.0}%", o.name),
                    ));
                }
                if m.disk_free < r.disk_free_min_mb.saturating_mul(1 << 20) {
                    let text = format!(
                        "Disk on {} has {} MiB free (minimum {} MiB)",
                        o.name,
                        m.disk_free >> 20,
                        r.disk_free_min_mb
                    );
                    out.push(holds("disk", 0, text));
                }
                match m.sync_latency_ms {
                    Some(ms) if ms > r.sync_lag_ms => {
                        out.push(holds(
                            "sync_lag",
                            r.sync_lag_for_secs,
                            format!("Sync lag to {} at {ms:.0} ms", o.name),
                        ));
                    }
                    Some(_) => {}
                    None => out.push(Verdict::Unknown(format!("sync_lag:{}", o.peer))),
                }
            }
            (true, None) => out.extend(
                METRIC_RULES
                    .iter()
                    .map(|rule| Verdict::Unknown(format!("{rule}:{}", o.peer))),
            ),
        }
        if r.agent_failed {
            for (agent, reason) in &o.failed_agents {
                // One alert per (peer, agent), so one agent recovering clears only its own.
                out.push(Verdict::Holds(Holds {
                    id: format!("agent_failed:{}:{agent}", o.peer),
                    rule: "agent_failed",
                    peer: o.peer.to_string(),
                    for_secs: 0,
                    text: format!("Agent {agent} on {} failed: {reason}", o.name),
                }));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn defaults_without_file_or_table() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(&dir.path().join("missing.toml")).unwrap(), Rules::default());
        let (_d, path) = write("[sync]\ninterval = 3\n");
        assert_eq!(load(&path).unwrap(), Rules::default());
    }

    #[test]
    fn parses_alerts_table() {
        let (_d, path) = write("[other]\nx = 1\n\n[alerts]\ncpu_percent = 5\ncpu_for_secs = 0\nnot_a_rule = 1\n");
        let rules = load(&path).unwrap();
        assert_eq!(
            rules,
            Rules {
                cpu_percent: 5.0,
                cpu_for_secs: 0,
                ..Rules::default()
            }
        );
    }

    #[test]
    fn malformed_file_names_file_line_and_problem() {
        let (_d, path) = write("[alerts]\ncpu_percent = \"high\"\n");
        let msg = load(&path).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}:2:", path.display())), "{msg}");
        assert!(
            msg.contains("invalid type") && msg.contains("`cpu_percent = \"high\"`"),
            "{msg}"
        );

        let (_d, path) = write("[alerts]\nmem_percent = 150\n");
        let msg = load(&path).unwrap_err().to_string();
        assert!(
            msg.contains(":2:") && msg.contains("0..=100") && msg.contains("150"),
            "{msg}"
        );

        let (_d, path) = write("[alerts\n");
        let msg = load(&path).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}:1:", path.display())), "{msg}");
    }

    fn obs<'a>(m: Option<&'a Metrics>, online: bool, failed: Vec<(&'a str, &'a str)>) -> Observation<'a> {
        Observation {
            peer: "p1",
            name: "alice",
            metrics: m,
            online,
            failed_agents: failed,
        }
    }

    fn healthy() -> Metrics {
        Metrics {
            cpu_percent: 10.0,
            mem_used: 1 << 30,
            mem_total: 16 << 30,
            disk_free: 100 << 30,
            sync_latency_ms: Some(20.0),
            ..Metrics::default()
        }
    }

    fn fired(c: &[Change]) -> Vec<&str> {
        c.iter()
            .filter_map(|c| {
                if let Change::Fired(a) = c {
                    Some(a.id.as_str())
                } else {
                    None
                }
            })
            .collect()
    }

    fn cleared(c: &[Change]) -> Vec<&str> {
        c.iter()
            .filter_map(|c| {
                if let Change::Cleared(a) = c {
                    Some(a.id.as_str())
                } else {
                    None
                }
            })
            .collect()
    }

    #[test]
    fn cpu_waits_fires_once_and_clears_once() {
        let mut alerts = Alerts::new(Rules::default());
        let hot = Metrics {
            cpu_percent: 97.0,
            ..healthy()
        };
        for t in 1000..1030 {
            assert!(alerts.observe(t, &[obs(Some(&hot), true, vec![])]).is_empty(), "t={t}");
        }
        let c = alerts.observe(1030, &[obs(Some(&hot), true, vec![])]);
        assert_eq!(fired(&c), ["cpu:p1"]);
        let Change::Fired(a) = &c[0] else { unreachable!() };
        assert_eq!((a.rule.as_str(), a.peer.as_str(), a.since), ("cpu", "p1", 1000));
        assert_eq!(a.message, "CPU on alice at 97% for 30 s");
        for t in 1031..1100 {
            assert!(alerts.observe(t, &[obs(Some(&hot), true, vec![])]).is_empty(), "t={t}");
        }
        assert_eq!(alerts.active().len(), 1);
        // No metrics this round: no news, the alert stays.
        assert!(alerts.observe(1100, &[obs(None, true, vec![])]).is_empty());
        let cool = healthy();
        assert_eq!(
            cleared(&alerts.observe(1101, &[obs(Some(&cool), true, vec![])])),
            ["cpu:p1"]
        );
        for t in 1102..1110 {
            assert!(alerts.observe(t, &[obs(Some(&cool), true, vec![])]).is_empty());
        }
        assert!(alerts.active().is_empty());
    }

    #[test]
    fn a_dip_restarts_the_count() {
        let mut alerts = Alerts::new(Rules {
            cpu_for_secs: 5,
            ..Rules::default()
        });
        let (hot, cool) = (
            Metrics {
                cpu_percent: 99.0,
                ..healthy()
            },
            healthy(),
        );
        for t in 0..4 {
            assert!(alerts.observe(t, &[obs(Some(&hot), true, vec![])]).is_empty());
        }
        assert!(alerts.observe(4, &[obs(Some(&cool), true, vec![])]).is_empty());
        for t in 5..10 {
            assert!(alerts.observe(t, &[obs(Some(&hot), true, vec![])]).is_empty(), "t={t}");
        }
        assert_eq!(fired(&alerts.observe(10, &[obs(Some(&hot), true, vec![])])), ["cpu:p1"]);
    }

    #[test]
    fn peer_offline_fires_and_clears() {
        let mut alerts = Alerts::new(Rules::default());
        let m = healthy();
        let c = alerts.observe(1, &[obs(Some(&m), false, vec![])]);
        assert_eq!(fired(&c), ["peer_offline:p1"]);
        assert!(matches!(&c[0], Change::Fired(a) if a.message == "alice is offline"));
        assert!(alerts.observe(2, &[obs(None, false, vec![])]).is_empty());
        assert_eq!(
            cleared(&alerts.observe(3, &[obs(Some(&m), true, vec![])])),
            ["peer_offline:p1"]
        );
        // A subject no longer observed clears too.
        alerts.observe(4, &[obs(None, false, vec![])]);
        assert_eq!(cleared(&alerts.observe(5, &[])), ["peer_offline:p1"]);
        assert!(Alerts::new(Rules {
            peer_offline: false,
            ..Rules::default()
        })
        .observe(1, &[obs(None, false, vec![])])
        .is_empty());
    }

    #[test]
    fn agent_failed_per_agent() {
        let mut alerts = Alerts::new(Rules::default());
        let m = healthy();
        let both = vec![("build", "exit 1"), ("lint", "timeout")];
        let c = alerts.observe(1, &[obs(Some(&m), true, both.clone())]);
        assert_eq!(fired(&c), ["agent_failed:p1:build", "agent_failed:p1:lint"]);
        assert!(matches!(&c[0], Change::Fired(a) if a.message == "Agent build on alice failed: exit 1"));
        assert!(alerts.observe(2, &[obs(Some(&m), true, both)]).is_empty());
        let c = alerts.observe(3, &[obs(Some(&m), true, vec![("lint", "timeout")])]);
        assert_eq!((fired(&c), cleared(&c)), (vec![], vec!["agent_failed:p1:build"]));
        assert_eq!(
            cleared(&alerts.observe(4, &[obs(Some(&m), true, vec![])])),
            ["agent_failed:p1:lint"]
        );
    }

    #[test]
    fn change_serializes_with_a_tag() {
        let a = Alert {
            id: "disk:p1".into(),
            rule: "disk".into(),
            peer: "p1".into(),
            message: "m".into(),
            since: 7,
        };
        let v = toml::Table::try_from(Change::Cleared(a)).unwrap();
        assert_eq!(v.get("change").and_then(|c| c.as_str()), Some("cleared"));
        assert_eq!(v.get("id").and_then(|c| c.as_str()), Some("disk:p1"));
        assert_eq!(toml::Table::try_from(Rules::default()).unwrap().len(), 9);
    }

    #[test]
    fn disk_low_fires_at_once() {
        let mut alerts = Alerts::new(Rules::default());
        let low = Metrics {
            disk_free: 512 << 20,
            ..healthy()
        };
        let c = alerts.observe(1, &[obs(Some(&low), true, vec![])]);
        assert_eq!(fired(&c), ["disk:p1"]);
        assert!(matches!(&c[0], Change::Fired(a) if a.message == "Disk on alice has 512 MiB free (minimum 1024 MiB)"));
        assert!(alerts.observe(2, &[obs(Some(&low), true, vec![])]).is_empty());
        assert_eq!(
            cleared(&alerts.observe(3, &[obs(Some(&healthy()), true, vec![])])),
            ["disk:p1"]
        );
    }

    #[test]
    fn sync_lag_and_memory() {
        let mut alerts = Alerts::new(Rules::default());
        let bad = Metrics {
            sync_latency_ms: Some(2500.0),
            mem_used: 15 << 30,
            ..healthy()
        };
        for t in 0..10 {
            assert!(alerts.observe(t, &[obs(Some(&bad), true, vec![])]).is_empty(), "t={t}");
        }
        let c = alerts.observe(10, &[obs(Some(&bad), true, vec![])]);
        assert_eq!(fired(&c), ["sync_lag:p1"]);
        assert!(matches!(&c[0], Change::Fired(a) if a.message == "Sync lag to alice at 2500 ms for 10 s"));
        // Latency unmeasured this round: keep the alert rather than flap.
        let unknown = Metrics {
            sync_latency_ms: None,
            ..bad.clone()
        };
        assert!(alerts.observe(20, &[obs(Some(&unknown), true, vec![])]).is_empty());
        let c = alerts.observe(30, &[obs(Some(&bad), true, vec![])]);
        assert_eq!(fired(&c), ["memory:p1"]);
        assert!(matches!(&c[0], Change::Fired(a) if a.message == "Memory on alice at 94% for 30 s"));
        let c = alerts.observe(31, &[obs(Some(&healthy()), true, vec![])]);
        assert_eq!(cleared(&c), ["memory:p1", "sync_lag:p1"]);
        assert!(alerts.active().is_empty());
    }
}
