// The UI's state, fed by commands and by the engine's events. Components read these stores;
// what an event means for them is decided by `reduceEvent`, a pure function that is unit-tested.

import { get, writable, type Readable } from "svelte/store";
import { notFollowing, type FollowState } from "./follow";
import type { Review } from "./reviews";
import type { Agent, ChatMessage, EngineEvent, LivePeer, Peer, Role, Status, Thread } from "./types";

// ---- Recent workspaces (localStorage) ----

/** The part of `Storage` the recent list needs (so tests can pass a fake). */
export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface RecentStore extends Readable<string[]> {
  add(path: string): void;
  remove(path: string): void;
}

/** Most recent first, no duplicates, at most `max`; survives restarts through `storage`. */
export function createRecentStore(storage: KeyValue | undefined, key = "tandem.recent", max = 8): RecentStore {
  let initial: string[] = [];
  try {
    const raw = storage?.getItem(key);
    const parsed: unknown = raw ? JSON.parse(raw) : [];
    if (Array.isArray(parsed)) initial = parsed.filter((p): p is string => typeof p === "string").slice(0, max);
  } catch {
    initial = [];
  }
  const store = writable<string[]>(initial);
  const save = (list: string[]) => {
    try {
      storage?.setItem(key, JSON.stringify(list));
    } catch {
      // Storage full or unavailable: the list still works for this session.
    }
  };
  return {
    subscribe: store.subscribe,
    add(path: string) {
      const p = path.trim();
      if (!p) return;
      store.update((list) => {
        const next = [p, ...list.filter((x) => x !== p)].slice(0, max);
        save(next);
        return next;
      });
    },
    remove(path: string) {
      store.update((list) => {
        const next = list.filter((x) => x !== path);
        save(next);
        return next;
      });
    },
  };
}

export const recent = createRecentStore(typeof localStorage === "undefined" ? undefined : localStorage);

// ---- Engine state ----

export const status = writable<Status | null>(null);
export const comments = writable<Thread[]>([]);
/** Review requests, as the engine folds them. */
export const reviews = writable<Review[]>([]);
export const chat = writable<ChatMessage[]>([]);
/** Files open as tabs, and the one shown. */
export const openFiles = writable<string[]>([]);
export const activeFile = writable<string | null>(null);
/** 1-based line of the cursor in the active file. */
export const cursorLine = writable<number>(1);
/** Every peer's presence and cursor, from `live_view` (polled while the workspace is open). */
export const livePeers = writable<LivePeer[]>([]);
/** Every peer's agents, this peer's first (from the live view). */
export const liveAgents = writable<Agent[]>([]);
/** Peers whose metrics the live view holds. */
export const liveMetricPeers = writable<string[]>([]);
/** The teammate followed, if any. */
export const following = writable<FollowState>(notFollowing);
/** The followed teammate's caret to scroll into view (the editor of `path` acts on it). */
export const revealCursor = writable<{ path: string; head: number[]; seq: number } | null>(null);
/** The latest failed connection (strangers found on the LAN fail too): shown by the indicator, not as a popup. */
export const lastConnectionError = writable<string | null>(null);

// ---- Errors and notices, shown in the window ----

export interface Notice {
  id: number;
  kind: "error" | "info";
  text: string;
}

let nextNotice = 1;
export const notices = writable<Notice[]>([]);

export function showError(text: string): void {
  notices.update((list) => [...list, { id: nextNotice++, kind: "error" as const, text }].slice(-5));
}

export function showInfo(text: string): void {
  const id = nextNotice++;
  notices.update((list) => [...list, { id, kind: "info" as const, text }].slice(-5));
  setTimeout(() => dismiss(id), 6000);
}

export function dismiss(id: number): void {
  notices.update((list) => list.filter((n) => n.id !== id));
}

// ---- Helpers ----

/** Peers with a live connection. */
export function connectedPeers(peers: Peer[]): Peer[] {
  return peers.filter((p) => p.address !== null);
}

/** What the connection indicator says. */
export function connectionLabel(s: Status | null): string {
  if (!s) return "offline";
  const n = connectedPeers(s.peers).length;
  if (n === 0) return "offline";
  return n === 1 ? "1 peer" : `${n} peers`;
}

/** This peer's role (null until known). */
export function myRole(s: Status | null): Role | null {
  return s?.members?.[s.peer_id]?.role ?? null;
}

/** Adds chat messages not seen yet, oldest first. */
export function mergeChat(log: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const seen = new Set(log.map((m) => m.id));
  const added = incoming.filter((m) => !seen.has(m.id));
  if (added.length === 0) return log;
  return [...log, ...added].sort((a, b) => a.at - b.at);
}

/** Opens `path` as a tab (if not yet) and shows it. */
export function openFile(path: string): void {
  openFiles.update((list) => (list.includes(path) ? list : [...list, path]));
  activeFile.set(path);
}

/** Closes a tab; shows a neighbour if it was the one shown. */
export function closeFile(path: string): void {
  const list = get(openFiles);
  const i = list.indexOf(path);
  if (i < 0) return;
  const next = list.filter((p) => p !== path);
  openFiles.set(next);
  if (get(activeFile) === path) activeFile.set(next[Math.min(i, next.length - 1)] ?? null);
}

// ---- Events ----

/** What the UI must do about an engine event. */
export type Effect =
  | { kind: "refresh_status" }
  | { kind: "refresh_live" }
  | { kind: "refresh_comments" }
  | { kind: "refresh_chat" }
  | { kind: "chat"; message: ChatMessage }
  | { kind: "reload_file"; path: string }
  | { kind: "close_file"; path: string }
  | { kind: "connection_error"; text: string }
  | { kind: "error"; text: string }
  | { kind: "info"; text: string };

/** Maps an engine event to effects, given which files are open. Pure. */
export function reduceEvent(ev: EngineEvent, open: readonly string[]): Effect[] {
  switch (ev.event) {
    case "file_changed":
      // `local` is any change through this peer's API, not only the editor's own (a suggestion
      // applied, the CLI's set_text): pull it too; for the editor's own the diff is empty.
      return open.includes(ev.path) ? [{ kind: "reload_file", path: ev.path }] : [];
    case "file_created":
      return [{ kind: "refresh_status" }];
    case "file_deleted":
      return open.includes(ev.path)
        ? [{ kind: "refresh_status" }, { kind: "close_file", path: ev.path }, { kind: "info", text: `${ev.path} was deleted` }]
        : [{ kind: "refresh_status" }];
    case "peer_connected":
      return [{ kind: "refresh_status" }, { kind: "connection_error", text: "" }];
    case "peer_disconnected":
    case "synced":
      return [{ kind: "refresh_status" }];
    case "member_joined":
      return [{ kind: "refresh_status" }, { kind: "info", text: `${ev.name || "A new member"} joined as ${ev.role}` }];
    case "presence_changed":
      return [{ kind: "refresh_live" }];
    case "members_changed":
      return [{ kind: "refresh_status" }, { kind: "refresh_live" }];
    case "review_changed":
      // Names chosen in profiles travel in the review log: comments, chat and people show them.
      return [{ kind: "refresh_comments" }, { kind: "refresh_chat" }, { kind: "refresh_live" }];
    case "chat":
      return [{ kind: "chat", message: ev.message }];
    case "mentioned":
      return [{ kind: "info", text: `${ev.by} mentioned you: ${ev.text}` }];
    case "refused":
      return [{ kind: "error", text: `A change from a peer was refused: ${ev.reason}` }];
    case "connection_failed":
      return [{ kind: "connection_error", text: ev.error }];
    case "root_missing":
      return [
        { kind: "refresh_status" },
        { kind: "error", text: "The workspace folder is gone: syncing stopped. Nothing was deleted." },
      ];
    case "lagged":
      return [
        ...open.map((path): Effect => ({ kind: "reload_file", path })),
        { kind: "refresh_status" },
        { kind: "refresh_live" },
        { kind: "refresh_comments" },
        { kind: "refresh_chat" },
      ];
    default:
      return [];
  }
}
