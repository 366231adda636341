//! The engine's front door: a cheap-to-clone [`Node`] that starts the parts, wires them together
//! and offers async methods and an event stream to the CLI, the desktop app and the tests.

mod identity;
mod members;
pub use members::DEFAULT_KEY_GRACE;
pub mod live;
mod review_agent;
mod sync;

use crate::core::{Cmd, Core, DocsStatus, Outputs};
use crate::docs::{client_id_for, DocId, DocSet, MemberRecord};
use crate::events::Event;
use crate::fs_sync;
use crate::invite::Invite;
use crate::members::Role;
use crate::net::{NetCmd, NetConfig, NetLoop, NetStatus};
use crate::store::{Durability, Store};
use crate::workspace::{Layout, RelPath};
use crate::Error;
use libp2p::{Multiaddr, PeerId};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};

/// How to run a peer.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The workspace folder.
    pub root: PathBuf,
    /// Display name of this peer.
    pub name: Option<String>,
    /// Addresses to listen on (default: all interfaces, a random TCP port).
    pub listen: Vec<Multiaddr>,
    /// Find peers on the LAN by mDNS.
    pub mdns: bool,
    /// Watch the folder for changes made by other programs.
    pub watch: bool,
    /// Serve the local control socket (for the CLI and agents).
    pub control: bool,
    /// How often to run the sync exchange with connected members.
    pub sync_interval: Duration,
    /// Database durability.
    pub durability: Durability,
    /// Run the built-in review agent on files changed here.
    pub review_agent: bool,
    /// How often presence is re-published when nothing changed.
    pub heartbeat: Duration,
    /// How long a peer stays online without being heard from.
    pub presence_ttl: Duration,
    /// Most documents (files, deleted ones included) this peer takes from disk and from peers.
    pub max_docs: usize,
}

impl NodeConfig {
    /// Defaults for a peer serving `root`.
    pub fn new(root: impl Into<PathBuf>) -> NodeConfig {
        NodeConfig {
            root: root.into(),
            name: None,
            listen: vec!["/ip4/0.0.0.0/tcp/0".parse().expect("valid literal address")],
            mdns: true,
            watch: true,
            control: true,
            sync_interval: Duration::from_secs(10),
            durability: Durability::Normal,
            review_agent: true,
            heartbeat: live::HEARTBEAT,
            presence_ttl: live::TTL,
            max_docs: crate::docs::MAX_DOCS,
        }
    }
}

/// Everything `tandem status` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// This peer's id.
    pub peer_id: String,
    /// This peer's display name.
    pub name: String,
    /// The file this peer has open (the desktop app's editor, or the control API's `presence`).
    pub file: Option<String>,
    /// The workspace folder.
    pub root: String,
    /// Workspace id, hex.
    pub workspace_id: String,
    /// Listen addresses.
    pub addresses: Vec<String>,
    /// Other peers: connected, or known from their presence (offline after the TTL).
    pub peers: Vec<ConnectedPeer>,
    /// Every agent of every peer.
    pub agents: Vec<crate::agents::Agent>,
    /// Latest metrics per peer id.
    pub metrics: std::collections::BTreeMap<String, crate::metrics::Metrics>,
    /// Alerts firing now.
    pub alerts: Vec<crate::alerts::Alert>,
    /// Documents, members and skipped files.
    #[serde(flatten)]
    pub docs: DocsStatus,
}

/// Another peer in [`Status`]: connected, or known from its presence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectedPeer {
    /// Peer id.
    pub id: String,
    /// Display name (presence, else the name in force from the members document and profiles; "" if unknown).
    pub name: String,
    /// online / idle / away / offline.
    pub status: crate::presence::Status,
    /// The file it has open.
    pub file: Option<String>,
    /// Unix seconds it was last heard from (null if never).
    pub last_seen: Option<u64>,
    /// Cursor and avatar colour.
    pub colour: Option<String>,
    /// Remote address, when connected.
    pub address: Option<String>,
    /// Last ping round trip, milliseconds.
    pub rtt_ms: Option<f64>,
    /// Gossipsub score, when connected (negative after messages this peer refused).
    pub score: Option<f64>,
    /// Role, if a member.
    pub role: Option<Role>,
}

struct Inner {
    peer_id: PeerId,
    name: String,
    layout: Layout,
    workspace_id: [u8; 16],
    keys: crate::net::KeyRing,
    keypair: libp2p::identity::Keypair,
    core: mpsc::UnboundedSender<Cmd>,
    net: mpsc::UnboundedSender<NetCmd>,
    live: mpsc::UnboundedSender<live::LiveCmd>,
    events: broadcast::Sender<Event>,
    listen: Vec<Multiaddr>,
    core_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    watcher: Mutex<Option<fs_sync::Watcher>>,
    control_socket: Mutex<Option<PathBuf>>,
}

/// A running peer. Clone it freely; [`Node::shutdown`] stops it.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

const META_WORKSPACE_ID: &str = "workspace_id";
const META_PSK: &str = "psk";
const META_PEERS: &str = "peers";
const META_PORT: &str = "listen_port";

/// What `init` made.
#[derive(Debug, Clone)]
pub struct Created {
    /// The new workspace's folder.
    pub root: PathBuf,
    /// This peer, its owner.
    pub peer_id: PeerId,
}

impl Node {
    /// Makes `root` (created if absent) a workspace owned by a new identity.
    pub fn init(root: &Path) -> Result<Created, Error> {
        std::fs::create_dir_all(root).map_err(|e| Error::io(format!("could not create {}", root.display()), e))?;
        let layout = Layout::new(root)?;
        layout.create_state_dir()?;
        let keypair = identity::create(&layout.key_path())?;
        let peer_id = keypair.public().to_peer_id();
        let mut store = Store::open(&layout.db_path(), Durability::Normal)?;
        store.meta_set(META_WORKSPACE_ID, &rand::random::<[u8; 16]>())?;
        store.meta_set(META_PSK, &rand::random::<[u8; 32]>())?;
        let mut docs = DocSet::new(client_id_for(&peer_id, 0));
        let rec = MemberRecord {
            role: Role::Owner,
            name: String::new(),
            added_by: peer_id.to_string(),
            added_at: crate::unix_now(),
        };
        let update = docs.set_member(&peer_id, &rec);
        store.append(&[(&DocId::Members.to_string(), &update)])?;
        Ok(Created {
            root: layout.root,
            peer_id,
        })
    }

    /// Starts serving an existing workspace.
    pub async fn start(cfg: NodeConfig) -> Result<Node, Error> {
        let layout = Layout::new(&cfg.root)?;
        if !layout.is_workspace() {
            return Err(Error::Refused(format!(
                "{} is not a Tandem workspace; run `tandem init {0}` or `tandem join CODE {0}`",
                layout.root.display()
            )));
        }
        Self::launch(cfg, layout, None).await
    }

    /// Joins a workspace with an invite code into `cfg.root` (absent or empty), pulls everything,
    /// then serves. `progress(received, total)` is called while documents arrive.
    pub async fn join(cfg: NodeConfig, code: &str, mut progress: impl FnMut(u64, u64)) -> Result<Node, Error> {
        let invite = Invite::decode(code)?;
        if invite.is_expired(crate::unix_now()) {
            return Err(Error::Join("invite code expired; ask for a new one".into()));
        }
        let created_dir = !cfg.root.exists();
        if !created_dir {
            let mut entries = std::fs::read_dir(&cfg.root)
                .map_err(|e| Error::io(format!("could not read {}", cfg.root.display()), e))?;
            if entries.next().is_some() {
                return Err(Error::Refused(format!(
                    "{} is not empty; join into a new or empty folder",
                    cfg.root.display()
                )));
            }
        }
        std::fs::create_dir_all(&cfg.root)
            .map_err(|e| Error::io(format!("could not create {}", cfg.root.display()), e))?;
        let layout = Layout::new(&cfg.root)?;
        let undo = |layout: &Layout| {
            let _ = std::fs::remove_dir_all(layout.state_dir());
            if created_dir {
                let _ = std::fs::remove_dir(&layout.root);
            }
        };
        let result = async {
            layout.create_state_dir()?;
            identity::create(&layout.key_path())?;
            let mut store = Store::open(&layout.db_path(), cfg.durability)?;
            store.meta_set(META_WORKSPACE_ID, &invite.workspace_id)?;
            store.meta_set(META_PSK, &invite.key)?;
            drop(store);
            // The control socket opens only once joined: a CLI that gets an answer sees a member.
            let control = cfg.control;
            let node = Self::launch(
                NodeConfig { control: false, ..cfg },
                layout.clone(),
                Some(invite.inviter),
            )
            .await?;
            match node.redeem(&invite, &mut progress).await {
                Ok(()) if control => match node.serve_control().await {
                    Ok(()) => Ok(node),
                    Err(e) => {
                        node.shutdown().await;
                        Err(e)
                    }
                },
                Ok(()) => Ok(node),
                Err(e) => {
                    node.shutdown().await;
                    Err(e)
                }
            }
        }
        .await;
        if result.is_err() {
            undo(&layout);
        }
        result
    }

    async fn redeem(&self, invite: &Invite, progress: &mut impl FnMut(u64, u64)) -> Result<(), Error> {
        let mut events = self.subscribe();
        for addr in &invite.addrs {
            self.dial(addr.clone().with(libp2p::multiaddr::Protocol::P2p(invite.inviter)));
        }
        let connected = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if self
                    .net_status()
                    .await?
                    .peers
                    .iter()
                    .any(|p| p.id == invite.inviter.to_string())
                {
                    return Ok::<(), Error>(());
                }
                match events.recv().await {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return Err(Error::Stopped),
                }
            }
        })
        .await;
        match connected {
            Ok(r) => r?,
            Err(_) => {
                return Err(Error::Join(
                    "could not reach the inviting peer at the addresses in the code; is `tandem serve` running there, and is it reachable?".into(),
                ))
            }
        }
        let req = crate::wire::SyncRequest::Join {
            v: crate::wire::WIRE_VERSION,
            token: invite.token.to_vec(),
            name: self.inner.name.clone(),
        };
        match self.request(invite.inviter, req).await? {
            crate::wire::SyncResponse::Joined { .. } => {}
            crate::wire::SyncResponse::Refused { reason, .. } => return Err(Error::Join(reason)),
            other => {
                return Err(Error::Join(format!(
                    "unexpected answer from the inviting peer: {other:?}"
                )))
            }
        }
        sync::session(self, invite.inviter, Some(progress)).await
    }

    async fn launch(cfg: NodeConfig, layout: Layout, inviter: Option<PeerId>) -> Result<Node, Error> {
        let socket = layout.socket_path_checked()?;
        if crate::control::is_served(&socket).await {
            return Err(Error::AlreadyRunning(layout.root.clone()));
        }
        let keypair = identity::load(&layout.key_path())?;
        let peer_id = keypair.public().to_peer_id();
        let store = Store::open(&layout.db_path(), cfg.durability)?;
        let workspace_id: [u8; 16] = meta_array(&store, META_WORKSPACE_ID)?;
        let keys = crate::net::KeyRing::new(crate::net::Keys {
            current: meta_array(&store, META_PSK)?,
            previous: store
                .meta_get(crate::core::META_PREVIOUS)?
                .filter(|b| b.len() == 40)
                .map(|b| {
                    let (key, until) = b.split_at(32);
                    let key: [u8; 32] = key.try_into().unwrap_or_default();
                    (key, u64::from_be_bytes(until.try_into().unwrap_or_default()))
                }),
        });
        let known_peers: Vec<Multiaddr> = store
            .meta_get(META_PEERS)?
            .and_then(|b| serde_json::from_slice::<Vec<String>>(&b).ok())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let name = cfg.name.clone().unwrap_or_default();
        let preferred_port = store
            .meta_get(META_PORT)?
            .and_then(|b| <[u8; 2]>::try_from(b.as_slice()).ok())
            .map(u16::from_be_bytes);

        let (core_tx, core_rx) = mpsc::unbounded_channel();
        let (net_tx, net_rx) = mpsc::unbounded_channel();
        let (sync_tx, sync_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(4096);
        let (live_tx, live_rx) = mpsc::unbounded_channel();
        let rules =
            crate::alerts::load(&layout.state_dir().join("config.toml")).map_err(|e| Error::Refused(e.to_string()))?;

        let writer =
            fs_sync::writer(layout.clone(), core_tx.clone()).map_err(|e| Error::io("could not start the writer", e))?;
        let outputs = Outputs {
            net: net_tx.clone(),
            writer,
            events: events.clone(),
            live: live_tx.clone(),
            keys: keys.clone(),
        };
        let core_thread = Core::spawn(
            peer_id,
            name.clone(),
            layout.clone(),
            store,
            outputs,
            core_rx,
            cfg.max_docs,
        )?;
        if let Some(inviter) = inviter {
            let _ = core_tx.send(Cmd::TrustInviter(inviter));
            let _ = net_tx.send(NetCmd::Inviter(inviter));
        }

        let net_cfg = NetConfig {
            keypair: keypair.clone(),
            keys: keys.clone(),
            topic: format!("tandem/{}", hex(&workspace_id)),
            listen: cfg.listen.clone(),
            mdns: cfg.mdns,
            sync_interval: cfg.sync_interval,
            preferred_port,
        };
        let mut net = NetLoop::new(
            net_cfg,
            net_rx,
            net_tx.clone(),
            core_tx.clone(),
            sync_tx,
            events.clone(),
        )?;
        let listen = net.wait_listening().await;
        if let Some(port) = listen.first().and_then(crate::net::tcp_port) {
            let _ = core_tx.send(Cmd::SetMeta {
                key: META_PORT.into(),
                value: port.to_be_bytes().to_vec(),
            });
        }
        let shown: Vec<String> = listen.iter().map(|a| a.to_string()).collect();
        tracing::info!("peer {peer_id} listening on {}", shown.join(", "));
        tokio::spawn(net.run());

        let node = Node {
            inner: Arc::new(Inner {
                peer_id,
                name,
                layout: layout.clone(),
                workspace_id,
                keys,
                keypair,
                core: core_tx.clone(),
                net: net_tx.clone(),
                live: live_tx,
                events,
                listen,
                core_thread: Mutex::new(Some(core_thread)),
                watcher: Mutex::new(None),
                control_socket: Mutex::new(None),
            }),
        };
        let live_cfg = live::LiveConfig {
            me: peer_id,
            name: node.inner.name.clone(),
            root: layout.root.clone(),
            rules,
            heartbeat: cfg.heartbeat,
            ttl: cfg.presence_ttl,
        };
        tokio::spawn(live::run(live_cfg, live_rx, net_tx, node.inner.events.clone()));
        // The name and colour in force (the members document, and the profile chosen since).
        if let Err(e) = node.publish_profile().await {
            tracing::warn!(error = %e, "could not read this member's profile");
        }
        if cfg.review_agent {
            tokio::spawn(review_agent::run(node.clone()));
        }
        tokio::spawn(sync::driver(node.clone(), sync_rx));
        tokio::spawn(tick(core_tx.clone()));
        tokio::spawn(sync::remember_peers(node.clone()));
        if cfg.watch {
            let watcher = fs_sync::watch(layout.clone(), core_tx.clone())?;
            *lock(&node.inner.watcher) = Some(watcher);
        }
        fs_sync::rescan(&layout, &core_tx);
        for addr in known_peers {
            node.dial(addr);
        }
        if cfg.control {
            node.serve_control().await?;
        }
        Ok(node)
    }

    async fn serve_control(&self) -> Result<(), Error> {
        let socket = self.inner.layout.socket_path_checked()?;
        crate::control::serve(self.clone(), &socket).await?;
        *lock(&self.inner.control_socket) = Some(socket);
        Ok(())
    }

    /// This peer's id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.peer_id
    }

    /// This peer's display name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The workspace folder.
    pub fn root(&self) -> &Path {
        &self.inner.layout.root
    }

    /// Addresses this peer listens on, as first bound.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.inner.listen.clone()
    }

    /// Engine events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// Dials a peer (an address ending in `/p2p/<id>` is best).
    pub fn dial(&self, addr: Multiaddr) {
        let _ = self.inner.net.send(NetCmd::Dial(addr));
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.inner.core.send(make(tx)).map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    pub(crate) async fn net_status(&self) -> Result<NetStatus, Error> {
        let (tx, rx) = oneshot::channel();
        self.inner.net.send(NetCmd::Status(tx)).map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    pub(crate) async fn request(
        &self,
        peer: PeerId,
        req: crate::wire::SyncRequest,
    ) -> Result<crate::wire::SyncResponse, Error> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .net
            .send(NetCmd::Request { peer, req, reply: tx })
            .map_err(|_| Error::Stopped)?;
        rx.await
            .map_err(|_| Error::Stopped)?
            .map_err(|e| Error::Join(format!("request to {peer} failed: {e}")))
    }

    pub(crate) async fn known_peer_addrs(&self) -> Result<Vec<String>, Error> {
        Ok(self.net_status().await?.known)
    }

    pub(crate) fn core(&self) -> &mpsc::UnboundedSender<Cmd> {
        &self.inner.core
    }

    pub(crate) fn emit(&self, ev: Event) {
        let _ = self.inner.events.send(ev);
    }

    /// Everything `tandem status` shows.
    pub async fn status(&self) -> Result<Status, Error> {
        let docs = self.ask(|reply| Cmd::Status { reply }).await?;
        let net = self.net_status().await?;
        let live = self.live_view().await?;
        let mut peers: Vec<ConnectedPeer> = live
            .peers
            .iter()
            .filter(|v| !v.me)
            .map(|v| ConnectedPeer {
                id: v.id.clone(),
                name: v.name.clone(),
                status: v.status,
                file: v.file.clone(),
                last_seen: Some(v.last_seen),
                colour: Some(v.colour.clone()),
                address: None,
                rtt_ms: None,
                score: None,
                role: docs.members.get(&v.id).map(|m| m.role),
            })
            .collect();
        for p in net.peers {
            let name = docs.members.get(&p.id).map(|m| m.name.clone()).unwrap_or_default();
            let entry = match peers.iter().position(|e| e.id == p.id) {
                Some(i) => &mut peers[i],
                None => {
                    peers.push(ConnectedPeer {
                        id: p.id.clone(),
                        name,
                        status: crate::presence::Status::Online,
                        file: None,
                        last_seen: None,
                        colour: None,
                        address: None,
                        rtt_ms: None,
                        score: None,
                        role: p.role,
                    });
                    peers.last_mut().ok_or(Error::Stopped)?
                }
            };
            if entry.name.is_empty() {
                entry.name = docs.members.get(&p.id).map(|m| m.name.clone()).unwrap_or_default();
            }
            entry.address = Some(p.address);
            entry.rtt_ms = p.rtt_ms;
            entry.score = p.score;
        }
        let me = live.peers.iter().find(|p| p.me);
        Ok(Status {
            peer_id: self.inner.peer_id.to_string(),
            name: me.map_or_else(|| self.inner.name.clone(), |p| p.name.clone()),
            file: me.and_then(|p| p.file.clone()),
            root: self.inner.layout.root.display().to_string(),
            workspace_id: hex(&self.inner.workspace_id),
            addresses: net.listen,
            peers,
            agents: live.agents,
            metrics: live.metrics,
            alerts: live.alerts,
            docs,
        })
    }

    /// A new invite code for `role`, valid for `ttl`, single use.
    pub async fn invite(&self, role: Role, ttl: Duration) -> Result<String, Error> {
        if role == Role::Owner {
            return Err(Error::Refused(
                "invites are for editors or viewers; an owner can promote a member later".into(),
            ));
        }
        let token: [u8; 16] = rand::random();
        let expires_at = crate::unix_now().saturating_add(ttl.as_secs());
        self.ask(|reply| Cmd::AddInvite {
            token,
            role,
            expires_at,
            reply,
        })
        .await?
        .map_err(Error::Refused)?;
        let mut addrs: Vec<Multiaddr> = self
            .net_status()
            .await?
            .listen
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        // Loopback last: a teammate on another machine needs the LAN address first.
        addrs.sort_by_key(|a: &Multiaddr| a.to_string().starts_with("/ip4/127.") as u8);
        let invite = Invite {
            workspace_id: self.inner.workspace_id,
            key: self.inner.keys.keys().current,
            inviter: self.inner.peer_id,
            addrs,
            role,
            expires_at,
            token,
        };
        Ok(invite.encode())
    }

    /// Replaces a file's text through the CRDT (as an editor would); returns once stored.
    pub async fn set_text(&self, path: &str, text: &str) -> Result<(), Error> {
        let path = RelPath::new(path)?;
        let limit = crate::workspace::MAX_FILE_BYTES;
        if text.len() as u64 > limit {
            return Err(Error::Refused(format!(
                "{path}: {} bytes is over the file size limit of {limit} bytes; nothing was changed",
                text.len()
            )));
        }
        self.ask(|reply| Cmd::SetText {
            path,
            text: text.to_string(),
            reply,
        })
        .await?
        .map_err(Error::Refused)
    }

    /// Applies splices (char offsets on the current text, in descending order) to a file. The
    /// command is queued at once; await the returned [`Ack`] to know it is stored. Queuing many
    /// before awaiting lets the engine commit them together.
    pub fn edit(&self, path: &RelPath, splices: Vec<crate::merge::Splice>) -> Ack {
        let (tx, rx) = oneshot::channel();
        let _ = self.inner.core.send(Cmd::Edit {
            path: path.clone(),
            splices,
            reply: tx,
        });
        Ack(rx)
    }

    /// What a local replica (the desktop app's editor) holding state vector `sv` misses of a
    /// document, as a Yjs v1 update; an empty `sv` gives the whole document.
    pub async fn doc_diff(&self, doc: &str, sv: Vec<u8>) -> Result<Vec<u8>, Error> {
        let id = doc_id(doc)?;
        self.ask(|reply| Cmd::DocDiff { id, sv, reply })
            .await?
            .map_err(Error::Refused)
    }

    /// Applies a Yjs v1 update made by a local replica, whose inserts must use a client id from
    /// [`Node::new_client_id`]; returns once stored (then it is published and written to disk).
    pub async fn apply_local_update(&self, doc: &str, update: Vec<u8>) -> Result<(), Error> {
        let id = doc_id(doc)?;
        self.ask(|reply| Cmd::ApplyLocal { id, update, reply })
            .await?
            .map_err(Error::Refused)
    }

    /// A yrs/Yjs client id for a new local replica of this peer (one per editor session).
    pub async fn new_client_id(&self) -> Result<u64, Error> {
        self.ask(|reply| Cmd::NewClientId { reply }).await
    }

    /// A file's current text (None if there is no such live file).
    pub async fn text(&self, path: &str) -> Result<Option<String>, Error> {
        let path = RelPath::new(path)?;
        self.ask(|reply| Cmd::GetText { path, reply }).await
    }

    /// Performs a review or chat action; returns once it is stored (and so will reach everyone).
    pub async fn review(&self, cmd: crate::core::ReviewCmd) -> Result<(), Error> {
        self.ask(|reply| Cmd::Review { cmd, reply })
            .await?
            .map_err(Error::Refused)
    }

    /// Comments on lines `first..=last` of `file`; returns the new thread's id.
    pub async fn comment(
        &self,
        file: &str,
        first: usize,
        last: usize,
        kind: crate::review::CommentKind,
        body: &str,
        suggest: Option<&str>,
    ) -> Result<String, Error> {
        self.comment_as(None, file, first, last, kind, body, suggest).await
    }

    /// Like [`Node::comment`], written by one of this peer's agents.
    #[allow(clippy::too_many_arguments)]
    pub async fn comment_as(
        &self,
        agent: Option<&str>,
        file: &str,
        first: usize,
        last: usize,
        kind: crate::review::CommentKind,
        body: &str,
        suggest: Option<&str>,
    ) -> Result<String, Error> {
        let id = crate::review::new_id();
        let file = RelPath::new(file)?;
        let (body, suggest, agent) = (body.to_string(), suggest.map(str::to_string), agent.map(str::to_string));
        let cmd = crate::core::ReviewCmd::Comment {
            id: id.clone(),
            file,
            first,
            last,
            kind,
            body,
            suggest,
            agent,
        };
        self.review(cmd).await?;
        Ok(id)
    }

    /// Comment threads and review requests as they stand now.
    pub async fn review_state(&self) -> Result<(Vec<crate::review::Thread>, Vec<crate::review::Review>), Error> {
        self.ask(|reply| Cmd::ReviewState { reply }).await
    }

    /// The team chat so far.
    pub async fn chat_log(&self) -> Result<Vec<crate::review::ChatMessage>, Error> {
        self.ask(|reply| Cmd::ChatLog { reply }).await
    }

    async fn live<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> live::LiveCmd) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.inner.live.send(make(tx)).map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Renames this member and/or changes its colour (None leaves it): checked (a name is one
    /// word, not another member's; a colour is `#rrggbb`), stored in the review log so every peer
    /// shows it from now on, and published with this peer's presence at once. Returns the
    /// name and colour in force.
    pub async fn set_profile(&self, name: Option<&str>, colour: Option<&str>) -> Result<(String, String), Error> {
        let cmd = crate::core::ReviewCmd::Profile {
            name: name.map(str::to_string),
            colour: colour.map(str::to_string),
        };
        self.review(cmd).await?;
        self.publish_profile().await
    }

    /// This member's display name and colour in force.
    pub async fn profile(&self) -> Result<(String, String), Error> {
        let own = self.ask(|reply| Cmd::OwnProfile { reply }).await?;
        let name = own
            .as_ref()
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| self.inner.name.clone());
        let colour = own
            .and_then(|(_, p)| p.colour)
            .unwrap_or_else(|| crate::presence::colour_of(&self.inner.peer_id));
        Ok((name, colour))
    }

    /// Gives the live task the name and colour in force, which it publishes.
    async fn publish_profile(&self) -> Result<(String, String), Error> {
        let (name, colour) = self.profile().await?;
        let cmd = live::LiveCmd::SetProfile {
            name: Some(name.clone()).filter(|n| !n.is_empty()),
            colour: Some(colour.clone()),
        };
        self.inner.live.send(cmd).map_err(|_| Error::Stopped)?;
        Ok((name, colour))
    }

    /// The alert thresholds in force (`[alerts]` of `.tandem/config.toml`, else the defaults).
    pub fn alert_rules(&self) -> Result<crate::alerts::Rules, Error> {
        crate::alerts::load(&self.config_path()).map_err(|e| Error::Refused(e.to_string()))
    }

    /// Saves new alert thresholds to `.tandem/config.toml` and puts them in force at once.
    pub fn set_alert_rules(&self, rules: crate::alerts::Rules) -> Result<(), Error> {
        crate::alerts_config::save(&self.config_path(), &rules).map_err(|e| Error::Refused(e.to_string()))?;
        self.inner
            .live
            .send(live::LiveCmd::SetRules(rules))
            .map_err(|_| Error::Stopped)
    }

    fn config_path(&self) -> PathBuf {
        self.inner.layout.state_dir().join("config.toml")
    }

    /// Presence, agents, metrics and alerts of every peer, as the side panel shows them.
    pub async fn live_view(&self) -> Result<live::LiveView, Error> {
        self.live(|reply| live::LiveCmd::View { reply }).await
    }

    /// Sets what this peer tells the others about where it is (None leaves a field unchanged).
    pub fn set_presence(
        &self,
        file: Option<Option<String>>,
        cursor: Option<Option<crate::presence::Cursor>>,
        status: Option<crate::presence::Status>,
    ) {
        let _ = self
            .inner
            .live
            .send(live::LiveCmd::SetPresence { file, cursor, status });
    }

    /// Registers, updates, finishes or fails one of this peer's agents.
    pub async fn agent(&self, name: &str, op: live::AgentOp) -> Result<crate::agents::Agent, Error> {
        let name = name.to_string();
        self.live(|reply| live::LiveCmd::Agent { name, op, reply })
            .await?
            .map_err(Error::Refused)
    }

    /// The activity feed, newest first.
    pub async fn activity(&self) -> Result<Vec<crate::activity::Item>, Error> {
        self.live(|reply| live::LiveCmd::Activity { reply }).await
    }

    /// A peer's metrics over the last ten minutes, oldest first.
    pub async fn metrics_series(&self, peer: &str) -> Result<Vec<crate::metrics::Metrics>, Error> {
        let peer = peer.to_string();
        self.live(|reply| live::LiveCmd::Series { peer, reply }).await
    }

    /// Works offline (every connection closed, none made) or comes back online, where the sync
    /// exchange on reconnection merges what was done meanwhile.
    pub fn set_offline(&self, offline: bool) {
        let _ = self.inner.net.send(NetCmd::Offline(offline));
    }

    /// Runs the sync exchange with `peer` now and waits for it.
    pub async fn sync_with(&self, peer: PeerId) -> Result<(), Error> {
        sync::session(self, peer, None::<&mut fn(u64, u64)>).await
    }

    /// Publishes raw bytes on the workspace topic, bypassing every check of this peer. Only for
    /// tests that play a hostile member: a real libp2p peer sending crafted messages.
    #[doc(hidden)]
    pub fn debug_publish(&self, bytes: Vec<u8>) {
        let _ = self.inner.net.send(NetCmd::Publish(bytes));
    }

    /// Stops the peer: commits what is pending, stops networking and watching.
    pub async fn shutdown(&self) {
        if let Some(sock) = lock(&self.inner.control_socket).take() {
            let _ = std::fs::remove_file(sock);
        }
        lock(&self.inner.watcher).take();
        let _ = self.inner.net.send(NetCmd::Shutdown);
        let (tx, rx) = oneshot::channel();
        if self.inner.core.send(Cmd::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
        let handle = lock(&self.inner.core_thread).take();
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }
}

/// Completion of a queued edit: resolves once the edit is stored (before it is published).
pub struct Ack(oneshot::Receiver<Result<(), String>>);

impl Ack {
    /// Waits until the edit is stored.
    pub async fn wait(self) -> Result<(), Error> {
        self.0.await.map_err(|_| Error::Stopped)?.map_err(Error::Refused)
    }
}

/// Wakes the core every second to retry what the disk refused, until it stops.
async fn tick(core: mpsc::UnboundedSender<Cmd>) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if core.send(Cmd::Tick).is_err() {
            return;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn meta_array<const N: usize>(store: &Store, key: &str) -> Result<[u8; N], Error> {
    store
        .meta_get(key)?
        .and_then(|v| <[u8; N]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| Error::Settings(format!("{key} missing")))
}

fn doc_id(doc: &str) -> Result<crate::docs::DocId, Error> {
    crate::docs::DocId::parse(doc).ok_or_else(|| Error::Refused(format!("no such document {doc:?}")))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
