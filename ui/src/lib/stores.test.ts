import { get } from "svelte/store";
import { beforeEach, describe, expect, it } from "vitest";
import {
  activeFile,
  closeFile,
  connectionLabel,
  createRecentStore,
  mergeChat,
  myRole,
  openFile,
  openFiles,
  reduceEvent,
  type KeyValue,
} from "./stores";
import type { ChatMessage, Peer, Status } from "./types";

function memory(initial: Record<string, string> = {}): KeyValue & { data: Record<string, string> } {
  const data = { ...initial };
  return { data, getItem: (k) => data[k] ?? null, setItem: (k, v) => void (data[k] = v) };
}

describe("recent workspaces", () => {
  it("puts the latest first without duplicates and persists", () => {
    const storage = memory();
    const recent = createRecentStore(storage, "r", 3);
    recent.add("/a");
    recent.add("/b");
    recent.add("/a");
    expect(get(recent)).toEqual(["/a", "/b"]);
    expect(JSON.parse(storage.data["r"] ?? "")).toEqual(["/a", "/b"]);
    expect(get(createRecentStore(storage, "r", 3))).toEqual(["/a", "/b"]);
  });

  it("keeps at most max and forgets on remove", () => {
    const recent = createRecentStore(memory(), "r", 2);
    ["/a", "/b", "/c"].forEach((p) => recent.add(p));
    expect(get(recent)).toEqual(["/c", "/b"]);
    recent.remove("/c");
    expect(get(recent)).toEqual(["/b"]);
  });

  it("survives damaged or missing storage", () => {
    expect(get(createRecentStore(memory({ r: "{not json" }), "r"))).toEqual([]);
    expect(get(createRecentStore(memory({ r: '[1, "/x"]' }), "r"))).toEqual(["/x"]);
    const none = createRecentStore(undefined);
    none.add("/y");
    expect(get(none)).toEqual(["/y"]);
  });

  it("ignores blank paths", () => {
    const recent = createRecentStore(memory(), "r");
    recent.add("   ");
    expect(get(recent)).toEqual([]);
  });
});

describe("reduceEvent", () => {
  const open = ["src/main.rs"];

  it("reloads an open file changed remotely, on disk or through this peer's API (an applied suggestion)", () => {
    expect(reduceEvent({ event: "file_changed", path: "src/main.rs", origin: "remote" }, open)).toEqual([
      { kind: "reload_file", path: "src/main.rs" },
    ]);
    expect(reduceEvent({ event: "file_changed", path: "src/main.rs", origin: "disk" }, open)).toHaveLength(1);
    expect(reduceEvent({ event: "file_changed", path: "src/main.rs", origin: "local" }, open)).toHaveLength(1);
    expect(reduceEvent({ event: "file_changed", path: "other.md", origin: "remote" }, open)).toEqual([]);
  });

  it("closes the tab of a deleted open file and refreshes the tree", () => {
    const effects = reduceEvent({ event: "file_deleted", path: "src/main.rs", origin: "remote" }, open);
    expect(effects).toContainEqual({ kind: "close_file", path: "src/main.rs" });
    expect(effects).toContainEqual({ kind: "refresh_status" });
  });

  it("refreshes status on connections and comments on review changes", () => {
    expect(reduceEvent({ event: "peer_connected", peer: "p", address: "/ip4/1.2.3.4" }, [])).toContainEqual({
      kind: "refresh_status",
    });
    expect(reduceEvent({ event: "review_changed" }, [])).toContainEqual({ kind: "refresh_comments" });
  });

  it("reads the live view when a teammate's presence changes or a name may have (review log)", () => {
    expect(reduceEvent({ event: "presence_changed", peer: "p" }, [])).toEqual([{ kind: "refresh_live" }]);
    const review = reduceEvent({ event: "review_changed" }, []);
    expect(review).toContainEqual({ kind: "refresh_live" });
    expect(review).toContainEqual({ kind: "refresh_chat" });
    expect(reduceEvent({ event: "members_changed" }, [])).toContainEqual({ kind: "refresh_status" });
  });

  it("passes chat messages through and shows refusals as errors", () => {
    const message: ChatMessage = { id: "1:1", author: "p", author_name: "ann", text: "hi", at: 1, mentions: [] };
    expect(reduceEvent({ event: "chat", message }, [])).toEqual([{ kind: "chat", message }]);
    const [e] = reduceEvent({ event: "refused", peer: "p", reason: "viewer may not edit" }, []);
    expect(e).toEqual({ kind: "error", text: expect.stringContaining("viewer may not edit") });
  });

  it("keeps failed connections out of popups (strangers on the LAN fail too)", () => {
    expect(reduceEvent({ event: "connection_failed", error: "Handshake failed" }, [])).toEqual([
      { kind: "connection_error", text: "Handshake failed" },
    ]);
  });

  it("reloads everything after missed events", () => {
    const effects = reduceEvent({ event: "lagged", missed: 12 }, ["a", "b"]);
    expect(effects.filter((e) => e.kind === "reload_file")).toHaveLength(2);
    expect(effects).toContainEqual({ kind: "refresh_chat" });
  });
});

describe("helpers", () => {
  const peer = (address: string | null): Peer => ({
    id: "p" + Math.random(),
    name: "",
    status: "online",
    file: null,
    last_seen: null,
    colour: null,
    address,
    rtt_ms: null,
    role: null,
  });
  const status = (peers: Peer[]) => ({ peers }) as unknown as Status;

  it("labels the connection", () => {
    expect(connectionLabel(null)).toBe("offline");
    expect(connectionLabel(status([peer(null)]))).toBe("offline");
    expect(connectionLabel(status([peer("/ip4/1")]))).toBe("1 peer");
    expect(connectionLabel(status([peer("/ip4/1"), peer("/ip4/2"), peer(null)]))).toBe("2 peers");
  });

  it("finds this peer's role among the members", () => {
    const s = { peer_id: "me", members: { me: { role: "viewer" } } } as unknown as Status;
    expect(myRole(s)).toBe("viewer");
    expect(myRole(null)).toBeNull();
  });

  it("merges chat without duplicates, in time order", () => {
    const m = (id: string, at: number): ChatMessage => ({ id, author: "", author_name: "", text: id, at, mentions: [] });
    const log = mergeChat([m("a", 1), m("c", 3)], [m("c", 3), m("b", 2)]);
    expect(log.map((x) => x.id)).toEqual(["a", "b", "c"]);
  });

  describe("tabs", () => {
    beforeEach(() => {
      openFiles.set([]);
      activeFile.set(null);
    });

    it("opens once and closes to a neighbour", () => {
      openFile("a");
      openFile("b");
      openFile("a");
      expect(get(openFiles)).toEqual(["a", "b"]);
      expect(get(activeFile)).toBe("a");
      closeFile("a");
      expect(get(activeFile)).toBe("b");
      closeFile("b");
      expect(get(activeFile)).toBeNull();
    });
  });
});
