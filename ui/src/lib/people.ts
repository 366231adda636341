// Who the People and Agents panels list: the live view (evented: `presence_changed`) is what
// changes, the status adds what only it knows (roles, peers connected but not heard from yet).

import type { LivePeer, Peer, Status } from "./types";

/** Teammates to list, this peer left out: the live view's state over the status's, live ones first
 * in the live view's order, then peers only the status knows. */
export function teammates(status: Status | null, live: readonly LivePeer[]): Peer[] {
  const byId = new Map((status?.peers ?? []).map((p) => [p.id, p]));
  const out: Peer[] = [];
  for (const l of live) {
    if (l.me) continue;
    const s = byId.get(l.id);
    byId.delete(l.id);
    out.push({
      id: l.id,
      name: l.name || s?.name || "",
      status: l.status,
      file: l.file,
      last_seen: l.last_seen,
      colour: l.colour || s?.colour || null,
      address: s?.address ?? null,
      rtt_ms: s?.rtt_ms ?? null,
      role: s?.role ?? null,
    });
  }
  if (status) out.push(...[...byId.values()].filter((p) => p.id !== status.peer_id));
  return out;
}

/** This peer's name as teammates see it: the live view's (a rename shows at once), else the status's. */
export function myName(status: Status | null, live: readonly LivePeer[]): string {
  return live.find((p) => p.me)?.name || status?.name || "";
}

/** A peer's display name for `id` ("you" for this peer), else a short id. */
export function nameOf(id: string, status: Status | null, live: readonly LivePeer[]): string {
  if (status && id === status.peer_id) return "you";
  return live.find((p) => p.id === id)?.name || status?.peers.find((p) => p.id === id)?.name || id.slice(0, 8) + "…";
}
