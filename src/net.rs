//! The network: one task owns the libp2p `Swarm` (TCP + pnet + Noise + Yamux; gossipsub, mDNS,
//! identify, ping and the `/tandem/sync/1` request-response protocol). Everyone else talks to it
//! through [`NetCmd`]s; what it hears goes to the core and to the sync driver.

use crate::core::{Cmd, Membership};
use crate::events::Event;
use crate::members::Role;
use crate::wire::{SyncRequest, SyncResponse, MAX_GOSSIP_BYTES, MAX_SYNC_REQUEST_BYTES, MAX_SYNC_RESPONSE_BYTES};
use futures::StreamExt;
use libp2p::core::transport::upgrade::Version;
use libp2p::core::Transport;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds,
};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{behaviour::toggle::Toggle, NetworkBehaviour, SwarmEvent};
use libp2p::{identify, mdns, noise, ping, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
mod gate;
pub mod psk;

pub use psk::{KeyRing, Keys};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// The sync protocol's name.
pub const SYNC_PROTOCOL: &str = "/tandem/sync/1";
/// Application score of a connected peer that is not a member: below gossipsub's publish
/// threshold (so nothing is sent to it) but above the graylist (so its subscriptions still count
/// once it joins).
const NON_MEMBER_SCORE: f64 = -10.0;

/// Commands to the network task.
pub enum NetCmd {
    /// Publish an envelope on the workspace topic.
    Publish(Vec<u8>),
    /// The core's verdict on a gossip message (None: could not judge, e.g. the store failed).
    Report {
        id: MessageId,
        source: PeerId,
        accept: Option<bool>,
    },
    /// The membership changed.
    Members(Membership),
    /// Trust this peer as our inviter while joining.
    Inviter(PeerId),
    /// Work offline (close every connection, accept and dial none) or come back online.
    Offline(bool),
    /// Run the sync exchange with this peer soon.
    SyncWith(PeerId),
    /// Dial an address.
    Dial(Multiaddr),
    /// Send a request on `/tandem/sync/1`.
    Request {
        peer: PeerId,
        req: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, String>>,
    },
    /// Answer an inbound request.
    Respond {
        channel: ResponseChannel<SyncResponse>,
        resp: SyncResponse,
    },
    /// Current network status.
    Status(oneshot::Sender<NetStatus>),
    /// Stop the task.
    Shutdown,
}

/// What `tandem status` shows of the network.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NetStatus {
    /// Addresses we listen on.
    pub listen: Vec<String>,
    /// Connected peers.
    pub peers: Vec<PeerStatus>,
    /// Gossip messages received since start.
    pub gossip_msgs: u64,
    /// Gossip bytes received since start.
    pub gossip_bytes: u64,
    /// Dialable addresses of members seen (`.../p2p/<id>`), to dial after a restart.
    pub known: Vec<String>,
}

/// One connected peer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerStatus {
    /// Peer id.
    pub id: String,
    /// Remote address of the connection.
    pub address: String,
    /// Last ping round trip in milliseconds.
    pub rtt_ms: Option<f64>,
    /// Role, if a member.
    pub role: Option<Role>,
    /// Gossipsub score (negative after rejected messages).
    pub score: Option<f64>,
}

/// How to start the network.
pub struct NetConfig {
    /// This peer's key.
    pub keypair: Keypair,
    /// The workspace's pre-shared keys (shared with the node, which rotates them).
    pub keys: KeyRing,
    /// The gossip topic (one per workspace).
    pub topic: String,
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Whether to find peers by mDNS.
    pub mdns: bool,
    /// How often to run the sync exchange with every connected member.
    pub sync_interval: Duration,
    /// TCP port to try first for listen addresses asking for any port.
    pub preferred_port: Option<u16>,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    // First, so that a denied connection never reaches the other behaviours.
    gate: gate::Gate,
    gossipsub: gossipsub::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
}

/// The task that owns the swarm.
pub struct NetLoop {
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    cmds: mpsc::UnboundedReceiver<NetCmd>,
    core: mpsc::UnboundedSender<Cmd>,
    sync_trigger: mpsc::UnboundedSender<PeerId>,
    events: broadcast::Sender<Event>,
    self_tx: mpsc::UnboundedSender<NetCmd>,
    membership: Membership,
    inviter: Option<PeerId>,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<SyncResponse, String>>>,
    connected: HashMap<PeerId, Multiaddr>,
    rtt: HashMap<PeerId, Duration>,
    known_addrs: HashMap<PeerId, HashSet<Multiaddr>>,
    sync_interval: Duration,
    offline: bool,
    gossip_in: (u64, u64),
}

/// Errors starting the network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The transport or a behaviour could not be built.
    #[error("could not start networking: {0}")]
    Setup(String),
    /// A listen address was refused.
    #[error("could not listen on {addr}: {why}")]
    Listen { addr: Multiaddr, why: String },
}

fn setup<E: std::fmt::Display>(e: E) -> NetError {
    NetError::Setup(e.to_string())
}

impl NetLoop {
    /// Builds the swarm and starts listening; run the loop with [`NetLoop::run`].
    pub fn new(
        cfg: NetConfig,
        cmds: mpsc::UnboundedReceiver<NetCmd>,
        self_tx: mpsc::UnboundedSender<NetCmd>,
        core: mpsc::UnboundedSender<Cmd>,
        sync_trigger: mpsc::UnboundedSender<PeerId>,
        events: broadcast::Sender<Event>,
    ) -> Result<NetLoop, NetError> {
        let keys = cfg.keys.clone();
        let gate_keys = cfg.keys.clone();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(cfg.keypair)
            .with_tokio()
            .with_other_transport(|key| {
                let noise =
                    noise::Config::new(key).map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                    tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                        .and_then(move |socket, endpoint| {
                            let listener_remote = match endpoint {
                                libp2p::core::ConnectedPoint::Listener { send_back_addr, .. } => {
                                    Some(send_back_addr.to_string())
                                }
                                libp2p::core::ConnectedPoint::Dialer { .. } => None,
                            };
                            keys.clone().handshake(socket, listener_remote)
                        })
                        .upgrade(Version::V1Lazy)
                        .authenticate(noise)
                        .multiplex(yamux::Config::default())
                        .timeout(Duration::from_secs(20)),
                )
            })
            .map_err(setup)?
            .with_behaviour(|key| {
                let gs_cfg = gossipsub::ConfigBuilder::default()
                    .validate_messages()
                    .validation_mode(gossipsub::ValidationMode::Strict)
                    .max_transmit_size(MAX_GOSSIP_BYTES + 4096)
                    .heartbeat_interval(Duration::from_millis(500))
                    .build()
                    .map_err(|e| e.to_string())?;
                let mut gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gs_cfg)?;
                gossipsub.with_peer_score(score_params(&cfg.topic), score_thresholds())?;
                let mdns = if cfg.mdns {
                    Some(
                        mdns::tokio::Behaviour::new(mdns::Config::default(), key.public().to_peer_id())
                            .map_err(|e| e.to_string())?,
                    )
                } else {
                    None
                };
                let sync = request_response::cbor::Behaviour::with_codec(
                    request_response::cbor::codec::Codec::default()
                        .set_request_size_maximum(MAX_SYNC_REQUEST_BYTES)
                        .set_response_size_maximum(MAX_SYNC_RESPONSE_BYTES),
                    [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default().with_request_timeout(Duration::from_secs(60)),
                );
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Behaviour {
                    gate: gate::Gate::new(gate_keys),
                    gossipsub,
                    mdns: Toggle::from(mdns),
                    identify: identify::Behaviour::new(
                        identify::Config::new("/tandem/1".into(), key.public())
                            .with_agent_version(format!("tandem/{}", env!("CARGO_PKG_VERSION"))),
                    ),
                    ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(5))),
                    sync,
                })
            })
            .map_err(setup)?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
        let topic = IdentTopic::new(cfg.topic.clone());
        swarm.behaviour_mut().gossipsub.subscribe(&topic).map_err(setup)?;
        for addr in cfg.listen {
            // Prefer the port of the last run for a "random port" address, so that teammates and
            // codes that know our address still reach us after a restart.
            if let Some(again) = cfg.preferred_port.and_then(|p| with_port_if_zero(&addr, p)) {
                if swarm.listen_on(again).is_ok() {
                    continue;
                }
            }
            swarm.listen_on(addr.clone()).map_err(|e| NetError::Listen {
                addr,
                why: e.to_string(),
            })?;
        }
        Ok(NetLoop {
            swarm,
            topic,
            cmds,
            core,
            sync_trigger,
            events,
            self_tx,
            membership: Membership::default(),
            inviter: None,
            pending: HashMap::new(),
            connected: HashMap::new(),
            rtt: HashMap::new(),
            known_addrs: HashMap::new(),
            sync_interval: cfg.sync_interval,
            offline: false,
            gossip_in: (0, 0),
        })
    }

    /// Waits until the swarm listens on at least one address and returns them.
    pub async fn wait_listening(&mut self) -> Vec<Multiaddr> {
        loop {
            let addrs: Vec<Multiaddr> = self.swarm.listeners().cloned().collect();
            if !addrs.is_empty() {
                return addrs;
            }
            match self.swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => return vec![address],
                other => self.on_swarm(other),
            }
        }
    }

    /// Runs until [`NetCmd::Shutdown`] or until every sender is gone.
    pub async fn run(mut self) {
        let mut tick = tokio::time::interval(self.sync_interval);
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm(ev),
                cmd = self.cmds.recv() => match cmd {
                    None | Some(NetCmd::Shutdown) => return,
                    Some(cmd) => self.on_cmd(cmd),
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
    }

    fn is_trusted(&self, peer: &PeerId) -> bool {
        self.membership.roles.contains_key(peer) || (self.membership.roles.is_empty() && self.inviter == Some(*peer))
    }

    fn score_peer(&mut self, peer: &PeerId) {
        let score = if self.is_trusted(peer) { 0.0 } else { NON_MEMBER_SCORE };
        self.swarm.behaviour_mut().gossipsub.set_application_score(peer, score);
    }

    fn on_tick(&mut self) {
        if self.offline {
            return;
        }
        let peers: Vec<PeerId> = self.connected.keys().copied().collect();
        for peer in peers {
            if self.is_trusted(&peer) {
                let _ = self.sync_trigger.send(peer);
            }
        }
        // Redial members we know an address of but are not connected to (they may have restarted).
        let missing: Vec<Multiaddr> = self
            .known_addrs
            .iter()
            .filter(|(p, _)| !self.connected.contains_key(p) && self.is_trusted(p))
            .flat_map(|(p, addrs)| addrs.iter().map(move |a| with_peer(a.clone(), p)))
            .collect();
        for addr in missing {
            let _ = self.swarm.dial(addr);
        }
    }

    fn on_cmd(&mut self, cmd: NetCmd) {
        match cmd {
            NetCmd::Publish(data) => {
                let topic = self.topic.clone();
                if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
                    // No one to tell yet is normal: the sync exchange catches them up on connect.
                    tracing::debug!(error = %e, "gossip publish skipped");
                }
            }
            NetCmd::Report { id, source, accept } => {
                let acceptance = match accept {
                    Some(true) => MessageAcceptance::Accept,
                    Some(false) => MessageAcceptance::Reject,
                    None => MessageAcceptance::Ignore,
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, acceptance);
            }
            NetCmd::Members(m) => {
                let newly: Vec<PeerId> = m
                    .roles
                    .keys()
                    .filter(|p| !self.membership.roles.contains_key(p))
                    .copied()
                    .collect();
                let dropped: Vec<PeerId> = self
                    .membership
                    .roles
                    .keys()
                    .filter(|p| !m.roles.contains_key(p))
                    .chain(m.revoked.iter())
                    .copied()
                    .collect();
                self.membership = m;
                let members = self.membership.roles.keys().copied().collect();
                let revoked = self.membership.revoked.clone();
                self.swarm.behaviour_mut().gate.set(members, revoked);
                for peer in dropped.into_iter().filter(|p| self.connected.contains_key(p)) {
                    tracing::info!(%peer, "no longer a member: disconnecting");
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
                let peers: Vec<PeerId> = self.connected.keys().copied().collect();
                for peer in &peers {
                    self.score_peer(peer);
                }
                for peer in newly.into_iter().filter(|p| self.connected.contains_key(p)) {
                    let _ = self.sync_trigger.send(peer);
                }
            }
            NetCmd::Inviter(peer) => {
                self.inviter = Some(peer);
                self.score_peer(&peer);
            }
            NetCmd::Offline(offline) => {
                self.offline = offline;
                if offline {
                    let peers: Vec<PeerId> = self.connected.keys().copied().collect();
                    for peer in peers {
                        let _ = self.swarm.disconnect_peer_id(peer);
                    }
                } else {
                    self.on_tick();
                }
            }
            NetCmd::SyncWith(peer) => {
                let _ = self.sync_trigger.send(peer);
            }
            NetCmd::Dial(addr) => {
                if let Some(peer) = peer_of(&addr) {
                    self.known_addrs.entry(peer).or_default().insert(without_peer(&addr));
                }
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    tracing::warn!(%addr, error = %e, "dial failed");
                }
            }
            NetCmd::Request { peer, req, reply } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, req);
                self.pending.insert(id, reply);
            }
            NetCmd::Respond { channel, resp } => {
                if self.swarm.behaviour_mut().sync.send_response(channel, resp).is_err() {
                    tracing::debug!("sync response not sent: the requester went away");
                }
            }
            NetCmd::Status(reply) => {
                let _ = reply.send(self.status());
            }
            NetCmd::Shutdown => {}
        }
    }

    fn status(&self) -> NetStatus {
        NetStatus {
            listen: self.swarm.listeners().map(|a| a.to_string()).collect(),
            peers: self
                .connected
                .iter()
                .map(|(p, a)| PeerStatus {
                    id: p.to_string(),
                    address: a.to_string(),
                    rtt_ms: self.rtt.get(p).map(|d| d.as_secs_f64() * 1000.0),
                    role: self.membership.roles.get(p).copied(),
                    score: self.swarm.behaviour().gossipsub.peer_score(p),
                })
                .collect(),
            gossip_msgs: self.gossip_in.0,
            gossip_bytes: self.gossip_in.1,
            known: self
                .known_addrs
                .iter()
                .filter(|(p, _)| self.membership.roles.contains_key(p))
                .flat_map(|(p, addrs)| addrs.iter().map(move |a| with_peer(a.clone(), p).to_string()))
                .collect(),
        }
    }

    fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::debug!(%address, "listening");
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } if self.offline => {
                let _ = self.swarm.disconnect_peer_id(peer_id);
            }
            SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } => {
                let addr = endpoint.get_remote_address().clone();
                tracing::info!(peer = %peer_id, %addr, "connected");
                if endpoint.is_dialer() {
                    self.known_addrs.entry(peer_id).or_default().insert(without_peer(&addr));
                }
                self.connected.insert(peer_id, addr.clone());
                self.score_peer(&peer_id);
                let _ = self.events.send(Event::PeerConnected {
                    peer: peer_id.to_string(),
                    address: addr.to_string(),
                });
                if self.is_trusted(&peer_id) {
                    let _ = self.sync_trigger.send(peer_id);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                tracing::info!(peer = %peer_id, "disconnected");
                self.connected.remove(&peer_id);
                self.rtt.remove(&peer_id);
                let _ = self.events.send(Event::PeerDisconnected {
                    peer: peer_id.to_string(),
                });
            }
            SwarmEvent::Behaviour(ev) => self.on_behaviour(ev),
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, error = %error, "could not connect");
                let _ = self.events.send(Event::ConnectionFailed {
                    error: error.to_string(),
                });
            }
            SwarmEvent::IncomingConnectionError { error, .. } => {
                // Usually a peer without the workspace key: the pnet handshake fails.
                tracing::debug!(error = %error, "incoming connection failed");
                let _ = self.events.send(Event::ConnectionFailed {
                    error: error.to_string(),
                });
            }
            _ => {}
        }
    }

    fn on_behaviour(&mut self, ev: BehaviourEvent) {
        match ev {
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                self.gossip_in.0 += 1;
                self.gossip_in.1 += message.data.len() as u64;
                let Some(source) = message.source else {
                    self.swarm.behaviour_mut().gossipsub.report_message_validation_result(
                        &message_id,
                        &propagation_source,
                        MessageAcceptance::Reject,
                    );
                    return;
                };
                let _ = self.core.send(Cmd::Gossip {
                    source,
                    via: propagation_source,
                    id: message_id,
                    data: message.data,
                });
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(list)) => {
                for (peer, addr) in list {
                    if !self.connected.contains_key(&peer) {
                        tracing::debug!(%peer, %addr, "found by mDNS");
                        self.known_addrs.entry(peer).or_default().insert(addr.clone());
                        let _ = self.swarm.dial(with_peer(addr, &peer));
                    }
                }
            }
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let addrs = self.known_addrs.entry(peer_id).or_default();
                for a in info.listen_addrs.into_iter().filter(is_dialable) {
                    addrs.insert(a);
                }
            }
            BehaviourEvent::Ping(ping::Event {
                peer, result: Ok(rtt), ..
            }) => {
                self.rtt.insert(peer, rtt);
            }
            BehaviourEvent::Sync(request_response::Event::Message { peer, message, .. }) => match message {
                request_response::Message::Request { request, channel, .. } => self.on_request(peer, request, channel),
                request_response::Message::Response { request_id, response } => {
                    if let Some(reply) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            BehaviourEvent::Sync(request_response::Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            }) => {
                tracing::debug!(%peer, error = %error, "sync request failed");
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
            _ => {}
        }
    }

    /// Hands an inbound request to the core and answers when it has decided, without blocking
    /// the swarm meanwhile.
    fn on_request(&mut self, peer: PeerId, req: SyncRequest, channel: ResponseChannel<SyncResponse>) {
        let (tx, rx) = oneshot::channel();
        let cmd = match req {
            SyncRequest::Sync { v, .. } | SyncRequest::Join { v, .. } | SyncRequest::Key { v, .. }
                if v != crate::wire::WIRE_VERSION =>
            {
                let reason = format!("unsupported wire version {v}");
                let resp = SyncResponse::Refused {
                    v: crate::wire::WIRE_VERSION,
                    reason,
                };
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, resp);
                return;
            }
            SyncRequest::Sync { have, after, .. } => Cmd::SyncRequest {
                from: peer,
                have,
                after,
                reply: tx,
            },
            SyncRequest::Join { token, name, .. } => Cmd::Join {
                from: peer,
                token,
                name,
                reply: tx,
            },
            SyncRequest::Key { epoch, .. } => Cmd::Members(crate::core::MembersCmd::KeyRequest {
                from: peer,
                epoch,
                reply: tx,
            }),
        };
        if self.core.send(cmd).is_err() {
            return;
        }
        let back = self.self_tx.clone();
        tokio::spawn(async move {
            if let Ok(resp) = rx.await {
                let _ = back.send(NetCmd::Respond { channel, resp });
            }
        });
    }
}

/// Gossipsub scoring that punishes what matters in a private network: messages the core
/// rejected (forged authorship, a viewer's edits, garbage) weigh -10 × count², decaying by 1 % a
/// second. Delivery-rate and IP terms are off: a quiet editor sends little, and teammates often
/// share an address.
fn score_params(topic: &str) -> PeerScoreParams {
    let topic_params = gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.0,
        first_message_deliveries_weight: 0.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -10.0,
        invalid_message_deliveries_decay: 0.99,
        ..Default::default()
    };
    PeerScoreParams {
        topics: [(IdentTopic::new(topic).hash(), topic_params)].into_iter().collect(),
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    }
}

/// Below -50 nothing is published to a peer (non-members sit at -100); below -1,000 (ten rejected
/// messages) everything it sends is ignored until its score decays.
fn score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        graylist_threshold: -1000.0,
        ..Default::default()
    }
}

fn with_port_if_zero(addr: &Multiaddr, port: u16) -> Option<Multiaddr> {
    use libp2p::multiaddr::Protocol;
    let mut zero = false;
    let out = addr
        .iter()
        .map(|p| match p {
            Protocol::Tcp(0) => {
                zero = true;
                Protocol::Tcp(port)
            }
            other => other,
        })
        .collect();
    zero.then_some(out)
}

/// The TCP port of an address, if any.
pub fn tcp_port(addr: &Multiaddr) -> Option<u16> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
        _ => None,
    })
}

fn is_dialable(a: &Multiaddr) -> bool {
    use libp2p::multiaddr::Protocol;
    let mut it = a.iter();
    let ip_ok = match it.next() {
        Some(Protocol::Ip4(ip)) => !ip.is_unspecified(),
        Some(Protocol::Ip6(ip)) => !ip.is_unspecified(),
        Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_)) => true,
        _ => false,
    };
    ip_ok && matches!(it.next(), Some(Protocol::Tcp(_)))
}

/// The peer id at the end of an address, if any.
pub fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(libp2p::multiaddr::Protocol::P2p(p)) => Some(p),
        _ => None,
    }
}

fn without_peer(addr: &Multiaddr) -> Multiaddr {
    addr.iter()
        .filter(|p| !matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
        .collect()
}

fn with_peer(addr: Multiaddr, peer: &PeerId) -> Multiaddr {
    without_peer(&addr).with(libp2p::multiaddr::Protocol::P2p(*peer))
}
