// Shapes of what the engine sends, as serialised by the Rust side (src/node.rs, src/events.rs).

import type { Alert, Metrics } from "./metrics";

export type Role = "owner" | "editor" | "viewer";
export type PresenceStatus = "online" | "idle" | "away" | "offline";
export type AgentStatus = "idle" | "working" | "error" | "offline";
export type CommentKind = "issue" | "question" | "suggestion" | "praise";
export type ThreadState = "open" | "resolved" | "outdated" | "applied";
export type CommentAction = "resolve" | "reopen" | "apply" | "delete";
export type Origin = "local" | "disk" | "remote";

export interface Peer {
  id: string;
  name: string;
  status: PresenceStatus;
  file: string | null;
  last_seen: number | null;
  colour: string | null;
  address: string | null;
  rtt_ms: number | null;
  role: Role | null;
}

export interface Subtask {
  name: string;
  done: boolean;
}

export interface Task {
  title: string;
  progress: number;
  started: number;
  eta: number | null;
  subtasks?: Subtask[];
}

export interface Agent {
  id: string;
  name: string;
  kind: string;
  peer: string;
  status: AgentStatus;
  task: Task | null;
  error: string | null;
  updated_at: number;
}

export interface FileStatus {
  path: string;
  bytes: number;
  hash: string;
}

/** The name and colour teammates see for a member (`profile`, `set_profile`). */
export interface Profile {
  name: string;
  /** `#rrggbb` */
  colour: string;
}

export interface Status {
  peer_id: string;
  name: string;
  root: string;
  workspace_id: string;
  addresses: string[];
  peers: Peer[];
  agents: Agent[];
  files: FileStatus[];
  skipped: { path: string; reason: string }[];
  members: Record<string, { role: Role; name: string; added_by: string; added_at: number }>;
  quarantined: number;
  root_missing: boolean;
  /** Latest metrics per peer id (this peer's too). */
  metrics?: Record<string, Metrics>;
  /** Alerts firing now. */
  alerts?: Alert[];
}

export interface Reply {
  id: string;
  author: string;
  author_name: string;
  body: string;
  created_at: number;
}

export interface Thread {
  id: string;
  file: string;
  start_line: number;
  end_line: number;
  kind: CommentKind;
  author: string;
  author_name: string;
  state: ThreadState;
  body: string;
  suggestion: string | null;
  agent: string | null;
  replies: Reply[];
  created_at: number;
}

export interface ChatMessage {
  id: string;
  author: string;
  author_name: string;
  text: string;
  at: number;
  mentions: string[];
}

/** An `engine` event; `lagged` is added by the shell when the UI missed events. */
export type EngineEvent =
  | { event: "file_changed"; path: string; origin: Origin }
  | { event: "file_created"; path: string; origin: Origin }
  | { event: "file_written"; path: string }
  | { event: "file_deleted"; path: string; origin: Origin }
  | { event: "member_joined"; peer: string; name: string; role: Role }
  | { event: "refused"; peer: string; reason: string }
  | { event: "peer_connected"; peer: string; address: string }
  | { event: "connection_failed"; error: string }
  | { event: "peer_disconnected"; peer: string }
  | { event: "synced"; peer: string; applied: number }
  | { event: "progress"; received: number; total: number }
  | { event: "review_changed" }
  | { event: "chat"; message: ChatMessage }
  | { event: "mentioned"; by: string; text: string }
  | { event: "activity"; item: unknown }
  | { event: "alert"; change: unknown }
  | { event: "presence_changed"; peer: string }
  | { event: "members_changed" }
  | { event: "root_missing" }
  | { event: "lagged"; missed: number };

/** The error every command rejects with. */
export interface CommandError {
  code: string;
  message: string;
}

/** A Yjs selection: v1-encoded relative positions (`Y.encodeRelativePosition`) as byte arrays. */
export interface LiveCursor {
  anchor: number[];
  head: number[];
}

/** One peer in `live_view` (src/presence.rs `PeerView`). */
export interface LivePeer {
  id: string;
  name: string;
  colour: string;
  status: PresenceStatus;
  file: string | null;
  cursor: LiveCursor | null;
  last_seen: number;
  me: boolean;
}

/** What `live_view` answers (src/node/live.rs `LiveView`); only the peers are used here. */
export interface LiveView {
  peers: LivePeer[];
  agents: Agent[];
  metrics: Record<string, Metrics>;
  alerts: Alert[];
}
