// Glue between the shell and the stores: runs commands, applies the effects of engine events.

import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { get } from "svelte/store";
import { api, errorText } from "./api";
import { coalesced } from "./coalesce";
import { catchUp, closeAllDocs } from "./docs";
import { handleMonitorEvent, refreshActivity, resetMonitor, setAlerts } from "./monitor";
import { notFollowing, reduceFollow, type FollowAction } from "./follow";
import {
  activeFile,
  chat,
  closeFile,
  comments,
  following,
  liveAgents,
  liveMetricPeers,
  livePeers,
  openFile,
  revealCursor,
  reviews,
  lastConnectionError,
  mergeChat,
  openFiles,
  recent,
  reduceEvent,
  showError,
  showInfo,
  status,
  type Effect,
} from "./stores";
import type { EngineEvent, Status } from "./types";

/** Reads the workspace status (files, peers, members); coalesced. */
export const refreshStatus = coalesced(readStatus);

async function readStatus(): Promise<void> {
  try {
    const s = await api.status();
    status.set(s);
    // Alerts come as events too; the status also catches those fired before the window listened.
    if (s.alerts) setAlerts(s.alerts);
  } catch (e) {
    showError("Could not read the workspace status: " + errorText(e));
  }
}

export const refreshComments = coalesced(readComments);

async function readComments(): Promise<void> {
  try {
    comments.set(await api.comments());
  } catch (e) {
    showError("Could not load comments: " + errorText(e));
  }
}

export const refreshReviews = coalesced(readReviews);

async function readReviews(): Promise<void> {
  try {
    reviews.set(await api.reviews());
  } catch (e) {
    showError("Could not load review requests: " + errorText(e));
  }
}

export const refreshChat = coalesced(readChat);

async function readChat(): Promise<void> {
  try {
    const log = await api.chatLog();
    chat.update((c) => mergeChat(c, log));
  } catch (e) {
    showError("Could not load the chat: " + errorText(e));
  }
}

let liveFailing = false;
let revealSeq = 0;
/** Reads every peer's presence and cursor; the editor and the follow mode act on it. Coalesced:
 * presence events come in bursts. */
export const refreshLive = coalesced(readLive);

async function readLive(): Promise<void> {
  try {
    const view = await api.liveView();
    liveFailing = false;
    if (!get(status)) return;
    livePeers.set(view.peers);
    liveAgents.set(view.agents);
    liveMetricPeers.set(Object.keys(view.metrics));
    dispatchFollow({ kind: "live", peers: view.peers });
  } catch (e) {
    // Say it once per failure streak.
    if (!liveFailing) showError("Could not read where teammates are: " + errorText(e));
    liveFailing = true;
  }
}

/** Runs the follow reducer and applies its effects. */
export function dispatchFollow(action: FollowAction): void {
  const { state, effects } = reduceFollow(get(following), action);
  following.set(state);
  for (const fx of effects) {
    switch (fx.kind) {
      case "open_file":
        openFile(fx.path);
        break;
      case "reveal":
        revealCursor.set({ path: fx.path, head: fx.head, seq: ++revealSeq });
        break;
      case "info":
        showInfo(fx.text);
        break;
    }
  }
}

export function followPeer(peer: string, name: string): void {
  dispatchFollow({ kind: "follow", peer, name });
  void refreshLive();
}

export function stopFollowing(): void {
  dispatchFollow({ kind: "stop" });
}

function apply(effect: Effect): void {
  switch (effect.kind) {
    case "refresh_status":
      void refreshStatus();
      break;
    case "refresh_live":
      void refreshLive();
      break;
    case "refresh_comments":
      // One `review_changed` event covers comments and review requests.
      void refreshComments();
      void refreshReviews();
      break;
    case "refresh_chat":
      void refreshChat();
      break;
    case "chat":
      chat.update((c) => mergeChat(c, [effect.message]));
      break;
    case "reload_file":
      catchUp(effect.path);
      break;
    case "close_file":
      closeFile(effect.path);
      break;
    case "connection_error":
      lastConnectionError.set(effect.text || null);
      break;
    case "error":
      showError(effect.text);
      break;
    case "info":
      showInfo(effect.text);
      break;
  }
}

export function handleEvent(ev: EngineEvent): void {
  if (!get(status)) return;
  for (const effect of reduceEvent(ev, get(openFiles))) apply(effect);
  handleMonitorEvent(ev);
}

/** Starts forwarding `engine` events into the stores (they come in arrays: a burst is one message). */
export function listenToEngine(): Promise<UnlistenFn> {
  return listen<EngineEvent[] | EngineEvent>("engine", (e) => {
    for (const ev of Array.isArray(e.payload) ? e.payload : [e.payload]) handleEvent(ev);
  });
}

/** Shows a workspace that a command just opened. */
export function enterWorkspace(s: Status): void {
  recent.add(s.root);
  openFiles.set([]);
  activeFile.set(null);
  chat.set([]);
  comments.set([]);
  reviews.set([]);
  lastConnectionError.set(null);
  livePeers.set([]);
  liveAgents.set([]);
  liveMetricPeers.set([]);
  following.set(notFollowing);
  revealCursor.set(null);
  resetMonitor();
  status.set(s);
  if (s.alerts) setAlerts(s.alerts);
  void refreshActivity();
  void refreshComments();
  void refreshReviews();
  void refreshChat();
}

export async function leaveWorkspace(): Promise<void> {
  await closeAllDocs(); // edits still queued reach the engine before it stops
  try {
    await api.closeWorkspace();
  } catch (e) {
    showError("Could not stop the peer cleanly: " + errorText(e));
  }
  status.set(null);
  lastConnectionError.set(null);
  livePeers.set([]);
  liveAgents.set([]);
  liveMetricPeers.set([]);
  following.set(notFollowing);
  revealCursor.set(null);
  resetMonitor();
  openFiles.set([]);
  activeFile.set(null);
}
