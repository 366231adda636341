//! Who is here and where: each peer's ephemeral state — name, colour, status, open file, cursor,
//! agents, host metrics — published on change and on a heartbeat, expired after a TTL, never
//! persisted. A state is keyed by the gossip message's signed source, so nobody can speak for
//! another peer.

use crate::agents::{Agent, AgentStatus};
use crate::metrics::Metrics;
use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Largest presence message accepted (it rides in one gossip message).
pub const MAX_PRESENCE_BYTES: usize = 48 * 1024;

/// A peer's availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Here and active.
    #[default]
    Online,
    /// Here, not typing for a while.
    Idle,
    /// Said they are away.
    Away,
    /// Not heard from within the TTL (derived, never published).
    Offline,
}

/// A cursor and selection as two Yjs v1 relative positions into the open file's `content` text,
/// so they stay on the same characters while the text moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Where the selection starts.
    #[serde(with = "serde_bytes")]
    pub anchor: Vec<u8>,
    /// Where the caret is.
    #[serde(with = "serde_bytes")]
    pub head: Vec<u8>,
}

impl Cursor {
    /// A caret (no selection) before the character at `line`:`col` (both 1-based, `col` in
    /// characters; past the end of the line means its end) of a file whose whole document is the
    /// Yjs v1 update `doc`. How a peer without an editor (the control API's `presence`) shows
    /// the others where it works.
    pub fn at(doc: &[u8], line: usize, col: usize) -> Result<Cursor, String> {
        use yrs::updates::decoder::Decode;
        use yrs::updates::encoder::Encode;
        use yrs::{GetString, IndexedSequence, Transact};
        if line == 0 || col == 0 {
            return Err(format!("bad position {line}:{col}: lines and columns count from 1"));
        }
        let update = yrs::Update::decode_v1(doc).map_err(|e| format!("not a Yjs v1 update: {e}"))?;
        let replica = yrs::Doc::with_options(yrs::Options {
            offset_kind: yrs::OffsetKind::Bytes, // as the engine's documents count
            ..Default::default()
        });
        let content = replica.get_or_insert_text(crate::docs::CONTENT);
        let mut txn = replica.transact_mut();
        txn.apply_update(update)
            .map_err(|e| format!("could not read the document: {e}"))?;
        let text = content.get_string(&txn);
        let lines = text.matches('\n').count() + 1;
        if line > lines {
            return Err(format!("line {line} is past the end of the file ({lines} lines)"));
        }
        let start: usize = text.split_inclusive('\n').take(line - 1).map(str::len).sum();
        let rest = text[start..].split('\n').next().unwrap_or("");
        let offset = start + rest.char_indices().nth(col - 1).map_or(rest.len(), |(i, _)| i);
        let pos = content
            .sticky_index(&txn, offset as u32, yrs::Assoc::After)
            .ok_or_else(|| format!("could not place a cursor at {line}:{col}"))?
            .encode_v1();
        Ok(Cursor {
            anchor: pos.clone(),
            head: pos,
        })
    }
}

/// What a peer publishes about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct State {
    /// Display name.
    pub name: String,
    /// Colour for cursors and avatars, `#rrggbb`.
    pub colour: String,
    /// Availability.
    pub status: Status,
    /// Workspace-relative path of the open file.
    pub file: Option<String>,
    /// Cursor in that file.
    pub cursor: Option<Cursor>,
    /// Agents this peer hosts.
    pub agents: Vec<Agent>,
    /// Latest host and sync figures.
    pub metrics: Option<Metrics>,
    /// Increases with every change, so a late copy never replaces a newer one.
    pub seq: u64,
}

impl State {
    /// CBOR bytes for the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Err(e) = ciborium::into_writer(self, &mut out) {
            tracing::error!(error = %e, "encoding presence failed");
        }
        out
    }

    /// Parses a peer's state, with the size cap.
    pub fn decode(bytes: &[u8]) -> Result<State, String> {
        if bytes.len() > MAX_PRESENCE_BYTES {
            return Err(format!("presence of {} bytes is over the cap", bytes.len()));
        }
        ciborium::from_reader(bytes).map_err(|e| format!("malformed presence: {e}"))
    }

    /// Whether the side panel would show `other` differently (metrics and `seq` aside).
    pub fn shows_differently(&self, other: &State) -> bool {
        (
            &self.name,
            &self.colour,
            self.status,
            &self.file,
            &self.cursor,
            &self.agents,
        ) != (
            &other.name,
            &other.colour,
            other.status,
            &other.file,
            &other.cursor,
            &other.agents,
        )
    }
}

/// A deterministic colour for a peer, from its id.
pub fn colour_of(peer: &PeerId) -> String {
    const PALETTE: [&str; 10] = [
        "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990", "#808000",
    ];
    let h = blake3::hash(&peer.to_bytes());
    PALETTE[h.as_bytes()[0] as usize % PALETTE.len()].to_string()
}

/// One peer as the side panel shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerView {
    /// Peer id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Colour.
    pub colour: String,
    /// Availability; offline once not heard from within the TTL.
    pub status: Status,
    /// Open file.
    pub file: Option<String>,
    /// Cursor in it.
    pub cursor: Option<Cursor>,
    /// Unix seconds of the last state heard (now, for this peer itself).
    pub last_seen: u64,
    /// Whether this is the local peer.
    pub me: bool,
}

struct Seen {
    state: State,
    at: Instant,
    at_unix: u64,
}

/// Every remote peer's latest state.
pub struct Table {
    ttl: Duration,
    peers: HashMap<PeerId, Seen>,
}

impl Table {
    /// An empty table expiring states after `ttl`.
    pub fn new(ttl: Duration) -> Table {
        Table {
            ttl,
            peers: HashMap::new(),
        }
    }

    /// Records a state from `peer` (the signed source); an older `seq` is ignored. Returns whether
    /// the peer was offline (or unknown) before.
    pub fn update(&mut self, peer: PeerId, state: State, now: Instant, now_unix: u64) -> bool {
        let was_offline = self
            .peers
            .get(&peer)
            .is_none_or(|s| now.duration_since(s.at) > self.ttl);
        if let Some(old) = self.peers.get(&peer) {
            if state.seq < old.state.seq && !was_offline {
                return false;
            }
        }
        self.peers.insert(
            peer,
            Seen {
                state,
                at: now,
                at_unix: now_unix,
            },
        );
        was_offline
    }

    /// The latest state heard from `peer`.
    pub fn state(&self, peer: &PeerId) -> Option<&State> {
        self.peers.get(peer).map(|s| &s.state)
    }

    /// Gives peers the names in force (peer id → name; an empty name changes nothing); returns
    /// the peers whose name changed.
    pub fn rename(&mut self, names: &HashMap<String, String>) -> Vec<PeerId> {
        let mut changed = Vec::new();
        for (peer, seen) in &mut self.peers {
            match names.get(&peer.to_string()) {
                Some(name) if !name.is_empty() && *name != seen.state.name => {
                    seen.state.name = name.clone();
                    changed.push(*peer);
                }
                _ => {}
            }
        }
        changed
    }

    /// Whether `peer` has been heard from within the TTL.
    pub fn online(&self, peer: &PeerId, now: Instant) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|s| now.duration_since(s.at) <= self.ttl)
    }

    /// Every known peer, with agents marked offline when their host is.
    pub fn view(&self, now: Instant) -> Vec<(PeerView, Vec<Agent>, Option<Metrics>)> {
        let mut out: Vec<_> = self
            .peers
            .iter()
            .map(|(id, s)| {
                let online = now.duration_since(s.at) <= self.ttl;
                let status = if online { s.state.status } else { Status::Offline };
                let mut agents = s.state.agents.clone();
                if !online {
                    for a in &mut agents {
                        a.status = AgentStatus::Offline;
                    }
                }
                let view = PeerView {
                    id: id.to_string(),
                    name: s.state.name.clone(),
                    colour: s.state.colour.clone(),
                    status,
                    file: s.state.file.clone().filter(|_| online),
                    cursor: s.state.cursor.clone().filter(|_| online),
                    last_seen: s.at_unix,
                    me: false,
                };
                (view, agents, s.state.metrics.clone())
            })
            .collect();
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        out
    }

    /// Peers that went offline since `since` was taken (for "went offline" activity and alerts).
    pub fn offline_peers(&self, now: Instant) -> Vec<PeerId> {
        self.peers
            .iter()
            .filter(|(_, s)| now.duration_since(s.at) > self.ttl)
            .map(|(p, _)| *p)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_reaches_the_peers_held_and_reports_only_real_changes() {
        let mut t = Table::new(Duration::from_secs(5));
        let (bob, carol) = (PeerId::random(), PeerId::random());
        let now = Instant::now();
        for (p, name) in [(bob, "bob"), (carol, "carol")] {
            let state = State {
                name: name.into(),
                seq: 1,
                ..Default::default()
            };
            t.update(p, state, now, 1);
        }
        let names: HashMap<String, String> = [
            (bob.to_string(), "robert".to_string()),
            (carol.to_string(), "carol".to_string()),
        ]
        .into();
        assert_eq!(t.rename(&names), vec![bob]);
        assert_eq!(t.state(&bob).unwrap().name, "robert");
        assert!(t.rename(&names).is_empty(), "nothing changes twice");
        let blank: HashMap<String, String> = [(carol.to_string(), String::new())].into();
        assert!(t.rename(&blank).is_empty(), "an empty name keeps the one shown");
    }

    #[test]
    fn a_state_expires_after_the_ttl_and_its_agents_show_offline() {
        let mut t = Table::new(Duration::from_secs(5));
        let peer = PeerId::random();
        let start = Instant::now();
        let agent = Agent::new("tests", "runner");
        let state = State {
            name: "bob".into(),
            agents: vec![agent],
            seq: 1,
            ..Default::default()
        };
        assert!(t.update(peer, state, start, 100));
        let v = t.view(start + Duration::from_secs(1));
        assert_eq!(v[0].0.status, Status::Online);
        let v = t.view(start + Duration::from_secs(6));
        assert_eq!(v[0].0.status, Status::Offline);
        assert_eq!(v[0].1[0].status, AgentStatus::Offline);
        assert_eq!(v[0].0.last_seen, 100);
    }

    #[test]
    fn an_older_state_does_not_replace_a_newer_one() {
        let mut t = Table::new(Duration::from_secs(5));
        let peer = PeerId::random();
        let now = Instant::now();
        t.update(
            peer,
            State {
                name: "new".into(),
                seq: 5,
                ..Default::default()
            },
            now,
            1,
        );
        t.update(
            peer,
            State {
                name: "old".into(),
                seq: 4,
                ..Default::default()
            },
            now,
            1,
        );
        assert_eq!(t.view(now)[0].0.name, "new");
    }

    #[test]
    fn state_round_trips_and_garbage_is_an_error() {
        let s = State {
            name: "a".into(),
            file: Some("x.rs".into()),
            seq: 3,
            ..Default::default()
        };
        assert_eq!(State::decode(&s.encode()).unwrap(), s);
        assert!(State::decode(b"\xff\x00").is_err());
    }
}
