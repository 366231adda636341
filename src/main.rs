//! `tandem`: the headless peer and the command line to talk to it.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use libp2p::Multiaddr;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tandem::control::{self, Request};
use tandem::workspace::Layout;
use tandem::{Node, NodeConfig, Role};

#[path = "cli/live.rs"]
mod live_cli;
#[path = "cli/members.rs"]
mod members_cli;
#[path = "cli/review.rs"]
mod review_cli;

/// Edit one folder together, live, with no server.
#[derive(Parser)]
#[command(name = "tandem", version, about, long_about = None)]
struct Cli {
    /// The workspace for commands without a DIR argument (default: found from the current folder).
    #[arg(short = 'C', long = "workspace", global = true, value_name = "DIR")]
    workspace: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make DIR (default: the current folder) a workspace owned by this machine.
    Init {
        /// The folder; files already in it become the workspace.
        dir: Option<PathBuf>,
    },
    /// Run the peer in the foreground until Ctrl-C or SIGTERM.
    Serve {
        /// The workspace (default: the current folder or its nearest parent holding `.tandem/`).
        dir: Option<PathBuf>,
        #[command(flatten)]
        peer: PeerArgs,
    },
    /// Print a new single-use invite code (asks the running peer).
    Invite {
        /// The workspace (default: found from the current folder).
        dir: Option<PathBuf>,
        /// Role granted to whoever redeems the code.
        #[arg(long, default_value = "editor")]
        role: Role,
        /// How long the code stays valid, e.g. 30m, 1h, 7d.
        #[arg(long, default_value = "24h")]
        ttl: humantime::Duration,
    },
    /// Join a workspace with an invite code into DIR (absent or empty), then serve it.
    Join {
        /// The invite code.
        code: String,
        /// Where the workspace goes.
        dir: PathBuf,
        #[command(flatten)]
        peer: PeerArgs,
    },
    /// List the members: peer id, name, role, who added them and when.
    Members {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Change a member's role (owners only).
    Role {
        /// Peer id or unique display name.
        peer: String,
        /// owner, editor or viewer.
        role: Role,
    },
    /// Remove a member for good and rotate the workspace key (owners only).
    Revoke {
        /// Peer id or unique display name.
        peer: String,
        /// How long members who were offline can still come back with the old key.
        #[arg(long, default_value = "7d")]
        grace: humantime::Duration,
    },
    /// List open invites, or cancel one (owners only).
    Invites {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        cmd: Option<InvitesCmd>,
    },
    /// Comment on code, reply, resolve, apply suggestions.
    #[command(subcommand)]
    Comment(CommentCmd),
    /// List comment threads with their current lines.
    Comments {
        /// Only threads on this file.
        #[arg(long)]
        file: Option<String>,
        /// Only open (and outdated) threads.
        #[arg(long, conflicts_with = "resolved")]
        open: bool,
        /// Only resolved (and applied) threads.
        #[arg(long)]
        resolved: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Ask for reviews and vote on them.
    #[command(subcommand)]
    Review(ReviewCmd),
    /// List review requests with their votes and outcome.
    Reviews {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The team chat.
    #[command(subcommand)]
    Chat(ChatCmd),
    /// Report what an agent (a test runner, a linter, an assistant) is doing.
    #[command(subcommand)]
    Agent(AgentCmd),
    /// List every peer's agents.
    Agents {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// The activity feed: joins, leaves, files, reviews, agents, alerts.
    Activity {
        /// Machine-readable output (one JSON object per line with --follow).
        #[arg(long)]
        json: bool,
        /// Keep printing new activity.
        #[arg(long)]
        follow: bool,
    },
    /// Show, or change, the name and colour everyone sees for this member.
    Profile {
        /// New display name: one word (so @name mentions it), not another member's.
        #[arg(long)]
        name: Option<String>,
        /// New colour for cursors and avatars, #rrggbb.
        #[arg(long)]
        colour: Option<String>,
    },
    /// Peers, agents and metrics, live, refreshing in place (Ctrl-C to quit).
    Top,
    /// Show the running peer: identity, connected peers, files and what is skipped.
    Status {
        /// The workspace (default: found from the current folder).
        dir: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum InvitesCmd {
    /// Cancel an open invite so its code no longer works.
    Cancel {
        /// The id shown by `tandem invites` (or a unique prefix).
        id: String,
    },
}

#[derive(Subcommand)]
enum CommentCmd {
    /// Comment on FILE:LINE or FILE:FIRST-LAST.
    Add {
        /// FILE:LINE[-LINE], the file relative to the workspace or the current folder.
        at: String,
        /// The comment.
        text: String,
        /// suggestion, question, issue or praise.
        #[arg(long, default_value = "issue")]
        kind: String,
        /// Replacement text for the lines (makes it a suggestion).
        #[arg(long)]
        suggest: Option<String>,
    },
    /// Reply in a thread.
    Reply {
        /// Thread id.
        id: String,
        /// The reply.
        text: String,
    },
    /// Mark a thread resolved (editors and owners).
    Resolve {
        /// Thread id.
        id: String,
    },
    /// Reopen a resolved thread (editors and owners).
    Reopen {
        /// Thread id.
        id: String,
    },
    /// Apply a suggestion to its file (editors and owners).
    Apply {
        /// Thread id.
        id: String,
    },
    /// Change the text of your own comment or reply.
    Edit {
        /// Thread or reply id.
        id: String,
        /// The new text.
        text: String,
    },
    /// Delete your own comment or reply.
    Delete {
        /// Thread or reply id.
        id: String,
    },
}

#[derive(Subcommand)]
enum ReviewCmd {
    /// Ask for a review: FILE... then the title.
    Request {
        /// Files to review, then the title last.
        #[arg(required = true, num_args = 2..)]
        files_then_title: Vec<String>,
        /// Approvals needed.
        #[arg(long, default_value_t = 1)]
        approvals: u64,
    },
    /// Approve a review.
    Approve {
        /// Review id.
        id: String,
    },
    /// Request changes, saying why.
    Reject {
        /// Review id.
        id: String,
        /// Why.
        why: String,
    },
}

#[derive(Subcommand)]
enum AgentCmd {
    /// Register an agent hosted by the running peer.
    Register {
        /// Name.
        name: String,
        /// Kind: test-runner, linter, build, assistant...
        #[arg(long, default_value = "agent")]
        kind: String,
    },
    /// Update status, task, progress or subtasks.
    Update {
        /// Name.
        name: String,
        /// idle, working or error.
        #[arg(long)]
        status: Option<String>,
        /// Current task.
        #[arg(long)]
        task: Option<String>,
        /// Progress, 0 to 100.
        #[arg(long)]
        progress: Option<u8>,
        /// A subtask as NAME=done or NAME=todo (repeatable; replaces the list).
        #[arg(long = "subtask")]
        subtasks: Vec<String>,
    },
    /// The agent's task is done.
    Done {
        /// Name.
        name: String,
    },
    /// The agent's task failed.
    Fail {
        /// Name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Run a command as the agent: working while it runs, done or failed by its exit code.
    Run {
        /// Name.
        name: String,
        /// Kind.
        #[arg(long, default_value = "command")]
        kind: String,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ChatCmd {
    /// Send a message; `@name` mentions a teammate.
    Send {
        /// The message.
        text: String,
    },
    /// Print the chat.
    Log {
        /// Machine-readable output (one JSON object per line with --follow).
        #[arg(long)]
        json: bool,
        /// Keep printing new messages.
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Args)]
struct PeerArgs {
    /// Display name shown to teammates.
    #[arg(long)]
    name: Option<String>,
    /// Address to listen on (repeatable), e.g. /ip4/127.0.0.1/tcp/0.
    #[arg(long = "listen", value_name = "MULTIADDR")]
    listen: Vec<Multiaddr>,
    /// Do not look for peers on the LAN by mDNS.
    #[arg(long)]
    no_mdns: bool,
    /// Do not run the built-in review agent on files changed here.
    #[arg(long)]
    no_review_agent: bool,
}

impl PeerArgs {
    fn config(self, root: PathBuf) -> NodeConfig {
        let mut cfg = NodeConfig::new(root);
        cfg.name = self.name;
        if !self.listen.is_empty() {
            cfg.listen = self.listen;
        }
        cfg.mdns = !self.no_mdns;
        cfg.review_agent = !self.no_review_agent;
        cfg
    }
}

fn main() {
    tandem::memory::compact_heap();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "tandem=info".into()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem: could not start: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = rt.block_on(run(cli)) {
        eprintln!("tandem: {}", one_line(&e));
        std::process::exit(1);
    }
}

/// The error and its causes on one line, without repeats.
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}

fn find(dir: Option<PathBuf>) -> Result<Layout> {
    let start = match dir {
        Some(d) => d,
        None => std::env::current_dir().context("could not read the current folder")?,
    };
    Ok(Layout::find(&start)?)
}

async fn run(cli: Cli) -> Result<()> {
    let ws = cli.workspace.clone();
    match cli.cmd {
        Command::Comment(c) => return review_cli::comment(find(ws)?, c).await,
        Command::Comments {
            file,
            open,
            resolved,
            json,
        } => return review_cli::comments(find(ws)?, file, open, resolved, json).await,
        Command::Review(r) => return review_cli::review(find(ws)?, r).await,
        Command::Reviews { json } => return review_cli::reviews(find(ws)?, json).await,
        Command::Chat(c) => return review_cli::chat(find(ws)?, c).await,
        Command::Agent(a) => return live_cli::agent(find(ws)?, a).await,
        Command::Agents { json } => return live_cli::agents(find(ws)?, json).await,
        Command::Activity { json, follow } => return live_cli::activity(find(ws)?, json, follow).await,
        Command::Top => return live_cli::top(find(ws)?).await,
        Command::Members { json } => return members_cli::members(find(ws)?, json).await,
        Command::Role { peer, role } => return members_cli::role(find(ws)?, peer, role).await,
        Command::Profile { name, colour } => return members_cli::profile(find(ws)?, name, colour).await,
        Command::Revoke { peer, grace } => return members_cli::revoke(find(ws)?, peer, grace.into()).await,
        Command::Invites { json, cmd } => return members_cli::invites(find(ws)?, json, cmd).await,
        _ => {}
    }
    match cli.cmd {
        Command::Init { dir } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from("."));
            let created = Node::init(&dir)?;
            println!(
                "initialised workspace {} (owner {})",
                created.root.display(),
                created.peer_id
            );
            println!("next: tandem serve {}", dir.display());
        }
        Command::Serve { dir, peer } => {
            let layout = find(dir.or(ws))?;
            let node = Node::start(peer.config(layout.root.clone())).await?;
            serve_until_signal(node).await?;
        }
        Command::Join { code, dir, peer } => {
            let cfg = peer.config(dir.clone());
            let mut last = (u64::MAX, u64::MAX);
            let node = Node::join(cfg, &code, |received, total| {
                if (received, total) != last {
                    last = (received, total);
                    eprint!("\rreceiving documents: {received}/{total}");
                    let _ = std::io::stderr().flush();
                }
            })
            .await?;
            eprintln!();
            let files = node.status().await?.docs.files.len();
            tracing::info!("joined: {files} files in {}", node.root().display());
            serve_until_signal(node).await?;
        }
        Command::Invite { dir, role, ttl } => {
            let layout = find(dir.or(ws))?;
            let req = Request::Invite {
                role,
                ttl_secs: Duration::from(ttl).as_secs(),
            };
            let code = control::call(&layout.root, &layout.socket_path(), &req).await?;
            match code.as_str() {
                Some(code) => println!("{code}"),
                None => bail!("the running peer answered without a code"),
            }
        }
        Command::Status { dir, json } => {
            let layout = find(dir.or(ws))?;
            let status = control::call(&layout.root, &layout.socket_path(), &Request::Status).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print_status(&status);
            }
        }
        // Handled above, before a workspace-specific match.
        _ => {}
    }
    Ok(())
}

async fn serve_until_signal(node: Node) -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("could not listen for SIGTERM")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

fn print_status(s: &serde_json::Value) {
    let str_of = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let name = str_of(s, "name");
    println!(
        "peer      {}{}",
        str_of(s, "peer_id"),
        if name.is_empty() {
            String::new()
        } else {
            format!(" ({name})")
        }
    );
    println!("folder    {}", str_of(s, "root"));
    let list = |k: &str| s.get(k).and_then(|x| x.as_array()).cloned().unwrap_or_default();
    for a in list("addresses") {
        println!("listening {}", a.as_str().unwrap_or(""));
    }
    let peers = list("peers");
    println!("peers     {}", peers.len());
    for p in &peers {
        let rtt = p
            .get("rtt_ms")
            .and_then(|x| x.as_f64())
            .map(|r| format!("{r:.1} ms"))
            .unwrap_or_else(|| "-".into());
        println!(
            "  {} {:<12} {} rtt {}",
            str_of(p, "id"),
            str_of(p, "name"),
            str_of(p, "address"),
            rtt
        );
    }
    let files = list("files");
    println!("files     {}", files.len());
    for f in &files {
        println!(
            "  {:<40} {:>8} B  {}",
            str_of(f, "path"),
            f.get("bytes").and_then(|x| x.as_u64()).unwrap_or(0),
            str_of(f, "hash")
        );
    }
    let skipped = list("skipped");
    if !skipped.is_empty() {
        println!("skipped   {}", skipped.len());
        for f in &skipped {
            println!("  {:<40} {}", str_of(f, "path"), str_of(f, "reason"));
        }
    }
    if s.get("root_missing").and_then(|x| x.as_bool()) == Some(true) {
        println!("warning   the workspace folder is missing: file sync stopped");
    }
}
