// Teammates' cursors in the editor. The engine carries each peer's selection as Yjs relative
// positions (`live_view`); `RemoteCursors` is the small part of a y-protocols `Awareness` that
// y-codemirror.next's remote-selection plugin reads (`doc`, `getStates`, `getLocalState`,
// `setLocalStateField`, `on/off('change')`), fed from those views. Its local state stays null so
// the plugin never publishes anything itself: our own cursor goes to the engine with `set_cursor`.

import * as Y from "yjs";
import type { LivePeer } from "./types";

export interface AwarenessState {
  user: { name: string; color: string; colorLight: string };
  cursor: { anchor: Y.RelativePosition; head: Y.RelativePosition };
}

/** A stable fake Yjs client id for a peer (FNV-1a of its id, 31 bits), never `avoid`. */
export function peerClientId(peerId: string, avoid: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < peerId.length; i++) {
    h ^= peerId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let id = h & 0x7fffffff;
  if (id === avoid) id = (id + 1) & 0x7fffffff;
  return id;
}

/** `#rgb` or `#rrggbb`, else a default (the colour goes into a style attribute). */
export function safeColour(c: string | null | undefined): string {
  if (c && /^#[0-9a-fA-F]{6}$/.test(c)) return c;
  if (c && /^#[0-9a-fA-F]{3}$/.test(c)) return "#" + [...c.slice(1)].map((x) => x + x).join("");
  return "#30bced";
}

/** Decodes one engine cursor position; null if malformed. */
export function decodePosition(bytes: number[] | Uint8Array): Y.RelativePosition | null {
  try {
    if (bytes.length === 0) return null;
    return Y.decodeRelativePosition(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

/** The awareness state to show for `peer` in `file`, or null when it has no cursor there. */
export function awarenessStateFor(peer: LivePeer, file: string): AwarenessState | null {
  if (peer.me || peer.file !== file || !peer.cursor || peer.status === "offline") return null;
  const anchor = decodePosition(peer.cursor.anchor);
  const head = decodePosition(peer.cursor.head);
  if (!anchor || !head) return null;
  const color = safeColour(peer.colour);
  return {
    user: { name: peer.name || peer.id.slice(0, 8), color, colorLight: color + "33" },
    cursor: { anchor, head },
  };
}

/** Where a peer's caret is in `ytext` (index), or null if not found there. */
export function headIndex(ytext: Y.Text, head: number[]): number | null {
  const rel = decodePosition(head);
  if (!rel || !ytext.doc) return null;
  try {
    const abs = Y.createAbsolutePositionFromRelativePosition(rel, ytext.doc);
    return abs && abs.type === ytext ? abs.index : null;
  } catch {
    return null;
  }
}

/** Our selection as the engine wants it. */
export function encodeSelection(ytext: Y.Text, anchor: number, head: number): { anchor: Uint8Array; head: Uint8Array } {
  return {
    anchor: Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(ytext, anchor)),
    head: Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(ytext, head)),
  };
}

type ChangeListener = (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) => void;

/** A read-only stand-in for y-protocols' `Awareness`, holding the remote peers' cursors. */
export class RemoteCursors {
  readonly states = new Map<number, AwarenessState>();
  private readonly keys = new Map<number, string>();
  private listeners = new Set<ChangeListener>();

  constructor(readonly doc: Y.Doc) {}

  getLocalState(): null {
    return null;
  }

  getStates(): Map<number, AwarenessState> {
    return this.states;
  }

  /** The plugin only calls this when the local state is set, which it never is. */
  setLocalStateField(): void {}

  on(event: string, fn: ChangeListener): void {
    if (event === "change") this.listeners.add(fn);
  }

  off(event: string, fn: ChangeListener): void {
    if (event === "change") this.listeners.delete(fn);
  }

  /** Shows the cursors of `peers` that are in `file`; tells the plugin what changed. */
  update(peers: LivePeer[], file: string): { added: number[]; updated: number[]; removed: number[] } {
    const added: number[] = [];
    const updated: number[] = [];
    const removed: number[] = [];
    const seen = new Set<number>();
    for (const peer of peers) {
      const state = awarenessStateFor(peer, file);
      if (!state || !peer.cursor) continue;
      const id = peerClientId(peer.id, this.doc.clientID);
      seen.add(id);
      const key = JSON.stringify([state.user, peer.cursor]);
      if (!this.states.has(id)) added.push(id);
      else if (this.keys.get(id) !== key) updated.push(id);
      else continue;
      this.states.set(id, state);
      this.keys.set(id, key);
    }
    for (const id of [...this.states.keys()]) {
      if (!seen.has(id)) {
        this.states.delete(id);
        this.keys.delete(id);
        removed.push(id);
      }
    }
    const change = { added, updated, removed };
    if (added.length + updated.length + removed.length > 0) {
      for (const fn of [...this.listeners]) fn(change, "remote");
    }
    return change;
  }

  destroy(): void {
    this.listeners.clear();
    this.states.clear();
    this.keys.clear();
  }
}
