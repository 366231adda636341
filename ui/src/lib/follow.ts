// Following a teammate: open the file they are in and keep their caret in view. A pure reducer
// (unit-tested); `engine.ts` applies its effects.

import type { LivePeer } from "./types";

export interface FollowState {
  /** The peer followed, or null. */
  peer: string | null;
  /** Their display name (for "Following <name>"). */
  name: string;
  /** The file and caret last acted on, to act only on changes. */
  file: string | null;
  head: string | null;
}

export const notFollowing: FollowState = { peer: null, name: "", file: null, head: null };

export type FollowAction =
  | { kind: "follow"; peer: string; name: string }
  | { kind: "stop" }
  /** Typing or clicking in the editor. */
  | { kind: "local_input" }
  /** A fresh `live_view`. */
  | { kind: "live"; peers: LivePeer[] };

export type FollowEffect =
  | { kind: "open_file"; path: string }
  | { kind: "reveal"; path: string; head: number[] }
  | { kind: "info"; text: string };

export function reduceFollow(s: FollowState, a: FollowAction): { state: FollowState; effects: FollowEffect[] } {
  switch (a.kind) {
    case "follow":
      return { state: { peer: a.peer, name: a.name, file: null, head: null }, effects: [] };
    case "stop":
    case "local_input":
      return { state: notFollowing, effects: [] };
    case "live": {
      if (!s.peer) return { state: s, effects: [] };
      const p = a.peers.find((x) => x.id === s.peer && !x.me);
      if (!p || p.status === "offline") {
        return { state: notFollowing, effects: [{ kind: "info", text: `Stopped following ${s.name}: they went offline` }] };
      }
      const effects: FollowEffect[] = [];
      const name = p.name || s.name;
      let { file, head } = s;
      if (p.file && p.file !== file) {
        file = p.file;
        head = null;
        effects.push({ kind: "open_file", path: p.file });
      }
      const key = p.cursor && p.file ? p.file + ":" + p.cursor.head.join(",") : null;
      if (p.file && p.cursor && key !== head) {
        head = key;
        effects.push({ kind: "reveal", path: p.file, head: p.cursor.head });
      }
      return { state: { peer: s.peer, name, file, head }, effects };
    }
  }
}
