import { describe, expect, it } from "vitest";
import { myName, nameOf, teammates } from "./people";
import type { LivePeer, Peer, Status } from "./types";

function peer(id: string, over: Partial<Peer> = {}): Peer {
  return { id, name: id, status: "online", file: null, last_seen: null, colour: null, address: null, rtt_ms: null, role: "editor", ...over };
}

function live(id: string, over: Partial<LivePeer> = {}): LivePeer {
  return { id, name: id, colour: "#123456", status: "online", file: null, cursor: null, last_seen: 5, me: false, ...over };
}

const status = { peer_id: "me", name: "alice", peers: [peer("b", { name: "bob", role: "viewer" }), peer("c")] } as unknown as Status;

describe("people", () => {
  it("take name, colour and file from the live view and the role from the status", () => {
    const list = teammates(status, [live("me", { me: true }), live("b", { name: "robert", file: "a.rs" })]);
    expect(list.map((p) => p.id)).toEqual(["b", "c"]);
    expect(list[0]).toMatchObject({ name: "robert", role: "viewer", file: "a.rs", colour: "#123456" });
  });

  it("list a peer the live view has not heard from yet, and never this peer", () => {
    const list = teammates({ ...status, peers: [...status.peers, peer("me")] }, []);
    expect(list.map((p) => p.id)).toEqual(["b", "c"]);
  });

  it("show this peer's new name as soon as the live view has it", () => {
    expect(myName(status, [live("me", { me: true, name: "alicia" })])).toBe("alicia");
    expect(myName(status, [])).toBe("alice");
    expect(nameOf("me", status, [])).toBe("you");
    expect(nameOf("b", status, [live("b", { name: "robert" })])).toBe("robert");
    expect(nameOf("zzzzzzzzzz", status, [])).toBe("zzzzzzzz…");
  });
});
