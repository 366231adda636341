import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { RemoteCursors, awarenessStateFor, encodeSelection, headIndex, peerClientId, safeColour } from "./cursors";
import { notFollowing, reduceFollow, type FollowState } from "./follow";
import type { LivePeer } from "./types";

function doc(text: string, clientID = 7): { ydoc: Y.Doc; ytext: Y.Text } {
  const ydoc = new Y.Doc();
  ydoc.clientID = clientID;
  const ytext = ydoc.getText("content");
  ytext.insert(0, text);
  return { ydoc, ytext };
}

function peer(over: Partial<LivePeer> = {}): LivePeer {
  return { id: "peerA", name: "Ada", colour: "#ff8800", status: "online", file: "a.md", cursor: null, last_seen: 1, me: false, ...over };
}

function cursorAt(ytext: Y.Text, anchor: number, head: number) {
  const e = encodeSelection(ytext, anchor, head);
  return { anchor: Array.from(e.anchor), head: Array.from(e.head) };
}

describe("remote cursors", () => {
  it("maps a live_view peer to an awareness state the plugin can resolve", () => {
    const { ydoc, ytext } = doc("hello world");
    const s = awarenessStateFor(peer({ cursor: cursorAt(ytext, 2, 5) }), "a.md");
    expect(s?.user).toEqual({ name: "Ada", color: "#ff8800", colorLight: "#ff880033" });
    const a = Y.createAbsolutePositionFromRelativePosition(s!.cursor.anchor, ydoc);
    const h = Y.createAbsolutePositionFromRelativePosition(s!.cursor.head, ydoc);
    expect([a?.index, h?.index, a?.type === ytext]).toEqual([2, 5, true]);
  });

  it("skips me, other files, no cursor, offline and garbage", () => {
    const { ytext } = doc("x");
    const c = cursorAt(ytext, 0, 1);
    expect(awarenessStateFor(peer({ cursor: c, me: true }), "a.md")).toBeNull();
    expect(awarenessStateFor(peer({ cursor: c }), "b.md")).toBeNull();
    expect(awarenessStateFor(peer(), "a.md")).toBeNull();
    expect(awarenessStateFor(peer({ cursor: c, status: "offline" }), "a.md")).toBeNull();
    expect(awarenessStateFor(peer({ cursor: { anchor: [], head: [255] } }), "a.md")).toBeNull();
  });

  it("gives stable ids that avoid the local client", () => {
    expect(peerClientId("peerA", 1)).toBe(peerClientId("peerA", 1));
    expect(peerClientId("peerA", 1)).not.toBe(peerClientId("peerB", 1));
    const id = peerClientId("peerA", 1);
    expect(peerClientId("peerA", id)).not.toBe(id);
    expect(id).toBeLessThan(2 ** 31);
  });

  it("sanitises colours", () => {
    expect(safeColour("#abc")).toBe("#aabbcc");
    expect(safeColour("red; x: y")).toBe("#30bced");
    expect(safeColour(null)).toBe("#30bced");
  });

  it("follows edits: a caret stays on its character", () => {
    const { ytext } = doc("hello world");
    const c = cursorAt(ytext, 6, 6);
    ytext.insert(0, ">> ");
    expect(headIndex(ytext, c.head)).toBe(9);
  });

  it("reports added, updated and removed peers to the plugin", () => {
    const { ydoc, ytext } = doc("hello world");
    const rc = new RemoteCursors(ydoc);
    const events: unknown[] = [];
    rc.on("change", (c, origin) => events.push([c, origin]));
    expect(rc.getLocalState()).toBeNull();
    const id = peerClientId("peerA", ydoc.clientID);
    rc.update([peer({ cursor: cursorAt(ytext, 1, 1) }), peer({ id: "me", me: true, cursor: cursorAt(ytext, 0, 0) })], "a.md");
    rc.update([peer({ cursor: cursorAt(ytext, 1, 1) })], "a.md"); // unchanged: no event
    rc.update([peer({ cursor: cursorAt(ytext, 2, 3) })], "a.md");
    expect(rc.getStates().get(id)?.user.name).toBe("Ada");
    rc.update([peer({ file: "b.md", cursor: cursorAt(ytext, 2, 3) })], "a.md");
    expect(events).toEqual([
      [{ added: [id], updated: [], removed: [] }, "remote"],
      [{ added: [], updated: [id], removed: [] }, "remote"],
      [{ added: [], updated: [], removed: [id] }, "remote"],
    ]);
    expect(rc.getStates().size).toBe(0);
  });
});

describe("follow", () => {
  const c1 = { anchor: [1], head: [1] };
  const c2 = { anchor: [1], head: [2] };
  const run = (s: FollowState, peers: LivePeer[]) => reduceFollow(s, { kind: "live", peers });

  it("does nothing when not following", () => {
    expect(run(notFollowing, [peer({ cursor: c1 })])).toEqual({ state: notFollowing, effects: [] });
  });

  it("opens the teammate's file, then reveals their caret only when it moves", () => {
    let r = reduceFollow(notFollowing, { kind: "follow", peer: "peerA", name: "Ada" });
    expect(r.state.peer).toBe("peerA");
    r = run(r.state, [peer({ cursor: c1 })]);
    expect(r.effects).toEqual([
      { kind: "open_file", path: "a.md" },
      { kind: "reveal", path: "a.md", head: [1] },
    ]);
    r = run(r.state, [peer({ cursor: c1 })]);
    expect(r.effects).toEqual([]);
    r = run(r.state, [peer({ cursor: c2 })]);
    expect(r.effects).toEqual([{ kind: "reveal", path: "a.md", head: [2] }]);
    r = run(r.state, [peer({ file: "b.md", cursor: c2 })]);
    expect(r.effects).toEqual([
      { kind: "open_file", path: "b.md" },
      { kind: "reveal", path: "b.md", head: [2] },
    ]);
    expect(r.state.file).toBe("b.md");
  });

  it("stops on local input, on stop and when the teammate goes offline or away", () => {
    const s: FollowState = { peer: "peerA", name: "Ada", file: "a.md", head: null };
    expect(reduceFollow(s, { kind: "local_input" }).state).toEqual(notFollowing);
    expect(reduceFollow(s, { kind: "stop" }).state).toEqual(notFollowing);
    const off = run(s, [peer({ status: "offline" })]);
    expect(off.state).toEqual(notFollowing);
    expect(off.effects[0]?.kind).toBe("info");
    expect(run(s, []).state).toEqual(notFollowing);
  });
});
