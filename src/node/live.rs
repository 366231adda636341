//! The live side panel's state, owned by one task: this peer's presence and agents, every peer's
//! presence and metrics, alerts and the activity feed. Presence is published on change and on a
//! heartbeat; metrics are sampled every second and shared with the presence.

use crate::activity::{Feed, Item};
use crate::agents::{Agent, AgentStatus, AgentUpdate};
use crate::alerts::{Alert, Alerts, Change, Observation, Rules};
use crate::events::Event;
use crate::metrics::{Metrics, Sampler, Series};
use crate::net::NetCmd;
use crate::presence::{colour_of, Cursor, PeerView, State, Status, Table};
use crate::wire::Envelope;
use libp2p::PeerId;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};

/// How often presence is re-published when nothing changed.
pub const HEARTBEAT: Duration = Duration::from_secs(3);
/// How long a peer stays online without being heard from.
pub const TTL: Duration = Duration::from_secs(10);
/// How much of every peer's metrics is kept.
pub const WINDOW: Duration = Duration::from_secs(600);

/// An action on one of this peer's agents.
#[derive(Debug, Clone)]
pub enum AgentOp {
    /// Create (or re-create) it.
    Register { kind: String },
    /// Change status, task, progress, subtasks.
    Update(AgentUpdate),
    /// Its task is done.
    Done,
    /// Its task failed.
    Fail(String),
}

/// Commands to the live task.
pub enum LiveCmd {
    /// A member's presence message (already checked: the source is a member), with the name the
    /// members document gives it.
    Remote { peer: PeerId, name: String, data: Vec<u8> },
    /// An update from `peer` reached this peer `ms` after it was made there.
    Latency { peer: PeerId, ms: f64 },
    /// This peer's open file, cursor or status changed.
    SetPresence {
        file: Option<Option<String>>,
        cursor: Option<Option<Cursor>>,
        status: Option<Status>,
    },
    /// This peer's display name and/or colour changed (None leaves it).
    SetProfile {
        name: Option<String>,
        colour: Option<String>,
    },
    /// Every member's name in force (peer id → name), sent by the core when one changed.
    Names(HashMap<String, String>),
    /// New alert thresholds, in force from the next check.
    SetRules(Rules),
    /// Act on one of this peer's agents.
    Agent {
        name: String,
        op: AgentOp,
        reply: oneshot::Sender<Result<Agent, String>>,
    },
    /// Everything the side panel shows.
    View { reply: oneshot::Sender<LiveView> },
    /// A peer's metrics over the window, oldest first.
    Series {
        peer: String,
        reply: oneshot::Sender<Vec<Metrics>>,
    },
    /// The activity feed, newest first.
    Activity { reply: oneshot::Sender<Vec<Item>> },
}

/// What the side panel shows.
#[derive(Debug, Clone, Serialize)]
pub struct LiveView {
    /// Every peer heard from, this one first.
    pub peers: Vec<PeerView>,
    /// Every agent of every peer.
    pub agents: Vec<Agent>,
    /// Latest metrics per peer id.
    pub metrics: BTreeMap<String, Metrics>,
    /// Alerts firing now.
    pub alerts: Vec<Alert>,
}

/// How to run the live task.
pub struct LiveConfig {
    /// This peer.
    pub me: PeerId,
    /// Its display name at start (its profile may change it later).
    pub name: String,
    /// The workspace folder (for disk metrics).
    pub root: PathBuf,
    /// Alert rules at start (`LiveCmd::SetRules` replaces them).
    pub rules: Rules,
    /// Heartbeat.
    pub heartbeat: Duration,
    /// Presence TTL.
    pub ttl: Duration,
}

struct Live {
    cfg: LiveConfig,
    own: State,
    dirty: bool,
    last_publish: Instant,
    table: Table,
    sampler: Sampler,
    series: HashMap<String, Series>,
    latency: HashMap<PeerId, (f64, Instant)>,
    alerts: Alerts,
    feed: Feed,
    online: HashMap<PeerId, bool>,
    agent_status: HashMap<(String, String), AgentStatus>,
    net: mpsc::UnboundedSender<NetCmd>,
    events: broadcast::Sender<Event>,
    gossip_seen: (u64, u64, Instant),
}

/// Runs the live task until every sender is gone.
pub async fn run(
    cfg: LiveConfig,
    mut cmds: mpsc::UnboundedReceiver<LiveCmd>,
    net: mpsc::UnboundedSender<NetCmd>,
    events: broadcast::Sender<Event>,
) {
    let own = State {
        name: cfg.name.clone(),
        colour: colour_of(&cfg.me),
        ..Default::default()
    };
    let mut live = Live {
        table: Table::new(cfg.ttl),
        sampler: Sampler::new(&cfg.root),
        alerts: Alerts::new(cfg.rules.clone()),
        cfg,
        own,
        dirty: true,
        last_publish: Instant::now(),
        series: HashMap::new(),
        latency: HashMap::new(),
        feed: Feed::default(),
        online: HashMap::new(),
        agent_status: HashMap::new(),
        net,
        events: events.clone(),
        gossip_seen: (0, 0, Instant::now()),
    };
    let mut engine_events = events.subscribe();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(cmd) => live.on_cmd(cmd),
                None => return,
            },
            ev = engine_events.recv() => match ev {
                Ok(ev) => live.on_event(&ev),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            },
            _ = tick.tick() => live.on_tick().await,
        }
        if live.dirty {
            live.publish();
        }
    }
}

impl Live {
    fn on_cmd(&mut self, cmd: LiveCmd) {
        match cmd {
            LiveCmd::Remote { peer, name, data } => match State::decode(&data) {
                Ok(mut state) => {
                    // The members document, not the peer, says what a member is called.
                    if !name.is_empty() {
                        state.name = name;
                    }
                    self.on_remote(peer, state)
                }
                Err(e) => tracing::warn!(%peer, error = %e, "presence refused"),
            },
            LiveCmd::Latency { peer, ms } => {
                self.latency.insert(peer, (ms, Instant::now()));
            }
            LiveCmd::SetPresence { file, cursor, status } => {
                if let Some(f) = file {
                    self.own.file = f;
                }
                if let Some(c) = cursor {
                    self.own.cursor = c;
                }
                if let Some(s) = status.filter(|s| *s != Status::Offline) {
                    self.own.status = s;
                }
                self.dirty = true;
            }
            LiveCmd::SetProfile { name, colour } => {
                if let Some(n) = name {
                    self.own.name = n;
                }
                if let Some(c) = colour {
                    self.own.colour = c;
                }
                self.dirty = true;
                self.presence_changed(self.cfg.me);
            }
            LiveCmd::Names(names) => {
                for peer in self.table.rename(&names) {
                    self.presence_changed(peer);
                }
            }
            LiveCmd::SetRules(rules) => {
                self.alerts.set_rules(rules);
                self.check_alerts(Instant::now());
            }
            LiveCmd::Agent { name, op, reply } => {
                let result = self.on_agent(&name, op);
                if result.is_ok() {
                    self.presence_changed(self.cfg.me);
                }
                let _ = reply.send(result);
            }
            LiveCmd::View { reply } => {
                let _ = reply.send(self.view());
            }
            LiveCmd::Series { peer, reply } => {
                let points = self
                    .series
                    .get(&peer)
                    .map(|s| s.points().cloned().collect())
                    .unwrap_or_default();
                let _ = reply.send(points);
            }
            LiveCmd::Activity { reply } => {
                let _ = reply.send(self.feed.items());
            }
        }
    }

    fn activity(&mut self, kind: &str, text: String) {
        let item = self.feed.push(kind, text);
        let _ = self.events.send(Event::Activity { item });
    }

    /// Tells subscribers that the side panel shows `peer` differently now.
    fn presence_changed(&self, peer: PeerId) {
        let _ = self.events.send(Event::PresenceChanged { peer: peer.to_string() });
    }

    fn on_remote(&mut self, peer: PeerId, state: State) {
        let name = state.name.clone();
        let shown_before = self.table.online(&peer, Instant::now());
        let differs = self.table.state(&peer).is_none_or(|old| old.shows_differently(&state));
        let agents = state.agents.clone();
        if let Some(m) = &state.metrics {
            self.series
                .entry(peer.to_string())
                .or_insert_with(|| Series::new(WINDOW))
                .push(m.clone());
        }
        let newer = state.seq;
        if self.table.update(peer, state, Instant::now(), crate::unix_now()) {
            self.online.insert(peer, true);
            self.activity("join", format!("{} is online", display(&name, &peer)));
        }
        let taken = self.table.state(&peer).is_some_and(|s| s.seq == newer);
        if taken && (differs || !shown_before) {
            self.presence_changed(peer);
        }
        for a in agents {
            self.note_agent(&peer.to_string(), &display(&name, &peer), &a);
        }
    }

    /// Records an agent's status and says so in the feed when it changed.
    fn note_agent(&mut self, peer: &str, host: &str, a: &Agent) {
        let key = (peer.to_string(), a.id.clone());
        if self.agent_status.insert(key, a.status) == Some(a.status) {
            return;
        }
        let what = match (a.status, &a.task, &a.error) {
            (AgentStatus::Working, Some(t), _) => format!("is working on {}", t.title),
            (AgentStatus::Error, _, Some(e)) => format!("failed: {e}"),
            (AgentStatus::Idle, Some(t), _) => format!("finished {}", t.title),
            (s, _, _) => format!(
                "is {}",
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            ),
        };
        self.activity("agent", format!("agent {} on {host} {what}", a.name));
    }

    fn on_agent(&mut self, name: &str, op: AgentOp) -> Result<Agent, String> {
        let now = crate::unix_now();
        let pos = self.own.agents.iter().position(|a| a.name == name);
        let agent = match (op, pos) {
            (AgentOp::Register { kind }, Some(i)) => {
                self.own.agents[i] = Agent::new(name, &kind);
                &mut self.own.agents[i]
            }
            (AgentOp::Register { kind }, None) => {
                if name.is_empty() || name.len() > 64 {
                    return Err("an agent name is 1 to 64 characters".into());
                }
                self.own.agents.push(Agent::new(name, &kind));
                self.own.agents.last_mut().ok_or("no agent")?
            }
            (_, None) => return Err(format!("no agent {name:?} on this peer; register it first")),
            (AgentOp::Update(u), Some(i)) => {
                self.own.agents[i].apply(&u, now)?;
                &mut self.own.agents[i]
            }
            (AgentOp::Done, Some(i)) => {
                self.own.agents[i].done(now);
                &mut self.own.agents[i]
            }
            (AgentOp::Fail(why), Some(i)) => {
                self.own.agents[i].fail(&why, now);
                &mut self.own.agents[i]
            }
        };
        agent.peer = self.cfg.me.to_string();
        let agent = agent.clone();
        self.dirty = true;
        let (me, host) = (self.cfg.me.to_string(), self.own.name.clone());
        self.note_agent(&me, &host, &agent);
        Ok(agent)
    }

    fn on_event(&mut self, ev: &Event) {
        match ev {
            Event::MemberJoined { name, role, .. } => self.activity("join", format!("{name} joined as {role}")),
            Event::FileCreated { path, .. } => self.activity("file", format!("{path} created")),
            Event::FileDeleted { path, .. } => self.activity("file", format!("{path} deleted")),
            Event::ReviewChanged => self.activity("review", "comments or reviews changed".into()),
            _ => {}
        }
    }

    async fn on_tick(&mut self) {
        let now = Instant::now();
        let mut m = self.sampler.sample();
        m.sync_latency_ms = self
            .latency
            .values()
            .filter(|(_, at)| now.duration_since(*at) < Duration::from_secs(60))
            .map(|(ms, _)| *ms)
            .reduce(f64::max);
        let (tx, rx) = oneshot::channel();
        if self.net.send(NetCmd::Status(tx)).is_ok() {
            if let Ok(st) = rx.await {
                let (msgs, bytes, at) = self.gossip_seen;
                let secs = now.duration_since(at).as_secs_f64().max(0.001);
                m.msgs_per_sec = st.gossip_msgs.saturating_sub(msgs) as f64 / secs;
                m.bytes_per_sec = st.gossip_bytes.saturating_sub(bytes) as f64 / secs;
                self.gossip_seen = (st.gossip_msgs, st.gossip_bytes, now);
            }
        }
        self.series
            .entry(self.cfg.me.to_string())
            .or_insert_with(|| Series::new(WINDOW))
            .push(m.clone());
        self.own.metrics = Some(m);
        if now.duration_since(self.last_publish) >= self.cfg.heartbeat {
            self.dirty = true;
        }
        for peer in self.table.offline_peers(now) {
            if self.online.insert(peer, false) == Some(true) {
                self.presence_changed(peer);
                let name = self
                    .table
                    .view(now)
                    .into_iter()
                    .find(|v| v.0.id == peer.to_string())
                    .map(|v| v.0.name);
                self.activity(
                    "leave",
                    format!("{} went offline", display(&name.unwrap_or_default(), &peer)),
                );
            }
        }
        self.check_alerts(now);
    }

    fn check_alerts(&mut self, now: Instant) {
        let view = self.table.view(now);
        let me = self.cfg.me.to_string();
        let own_failed: Vec<(&str, &str)> = failed(&self.own.agents);
        let mut seen = vec![Observation {
            peer: &me,
            name: &self.own.name,
            metrics: self.own.metrics.as_ref(),
            online: true,
            failed_agents: own_failed,
        }];
        for (v, agents, metrics) in &view {
            seen.push(Observation {
                peer: &v.id,
                name: &v.name,
                metrics: metrics.as_ref().filter(|_| v.status != Status::Offline),
                online: v.status != Status::Offline,
                failed_agents: failed(agents),
            });
        }
        let changes = self.alerts.observe(crate::unix_now(), &seen);
        drop(seen);
        for change in changes {
            let text = match &change {
                Change::Fired(a) => format!("alert: {}", a.message),
                Change::Cleared(a) => format!("cleared: {}", a.message),
            };
            self.activity("alert", text);
            let _ = self.events.send(Event::Alert { change });
        }
    }

    fn publish(&mut self) {
        self.own.seq += 1;
        let env = Envelope::presence(self.own.encode());
        let _ = self.net.send(NetCmd::Publish(env.encode()));
        self.dirty = false;
        self.last_publish = Instant::now();
    }

    fn view(&self) -> LiveView {
        let now = Instant::now();
        let me = self.cfg.me.to_string();
        let mut peers = vec![PeerView {
            id: me.clone(),
            name: self.own.name.clone(),
            colour: self.own.colour.clone(),
            status: self.own.status,
            file: self.own.file.clone(),
            cursor: self.own.cursor.clone(),
            last_seen: crate::unix_now(),
            me: true,
        }];
        let mut agents: Vec<Agent> = self.own.agents.clone();
        let mut metrics = BTreeMap::new();
        if let Some(m) = &self.own.metrics {
            metrics.insert(me.clone(), m.clone());
        }
        for (v, a, m) in self.table.view(now) {
            agents.extend(a.into_iter().map(|mut a| {
                a.peer = v.id.clone();
                a
            }));
            if let Some(m) = m {
                metrics.insert(v.id.clone(), m);
            }
            peers.push(v);
        }
        LiveView {
            peers,
            agents,
            metrics,
            alerts: self.alerts.active(),
        }
    }
}

fn failed(agents: &[Agent]) -> Vec<(&str, &str)> {
    agents
        .iter()
        .filter(|a| a.status == AgentStatus::Error)
        .map(|a| (a.name.as_str(), a.error.as_deref().unwrap_or("failed")))
        .collect()
}

fn display(name: &str, peer: &PeerId) -> String {
    if name.is_empty() {
        peer.to_string().chars().take(12).collect()
    } else {
        name.to_string()
    }
}
