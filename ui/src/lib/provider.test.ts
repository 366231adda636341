import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { DocProvider, docId, type Transport } from "./provider";

/** A stand-in for the engine: one Y.Doc per document id, client ids shaped like the engine's
 * (a 32-bit peer tag above a 16-bit slot: 48 bits, beyond Yjs's own 32-bit ids). */
class FakeEngine {
  docs = new Map<string, Y.Doc>();
  sent: { doc: string; update: Uint8Array }[] = [];
  failNext = 0;
  private slot = 0;
  private listeners: ((doc: string) => void)[] = [];

  doc(id: string): Y.Doc {
    let d = this.docs.get(id);
    if (!d) {
      d = new Y.Doc();
      d.clientID = 7; // the engine's own
      this.docs.set(id, d);
    }
    return d;
  }

  /** Like the `file_changed` event with origin remote/disk. */
  onChanged(fn: (doc: string) => void) {
    this.listeners.push(fn);
  }

  transport(): Transport {
    return {
      newClientId: async () => 0xdeadbeef * 65536 + ++this.slot,
      docDiff: async (doc, sv) => Y.encodeStateAsUpdate(this.doc(doc), sv.length ? sv : undefined),
      applyUpdate: async (doc, update) => {
        await Promise.resolve();
        if (this.failNext > 0) {
          this.failNext--;
          throw { code: "engine", message: "busy" };
        }
        this.sent.push({ doc, update });
        Y.applyUpdate(this.doc(doc), update);
        for (const fn of this.listeners) fn(doc);
      },
    };
  }
}

const fast = { coalesceMs: 5, retryMs: 5, maxRetryMs: 20 };
const text = (p: DocProvider) => p.ytext.toString();

describe("DocProvider", () => {
  it("loads the whole document with its own client id", async () => {
    const engine = new FakeEngine();
    engine.doc(docId("a.txt")).getText("content").insert(0, "hello");
    const p = await DocProvider.open("a.txt", engine.transport(), fast);
    expect(text(p)).toBe("hello");
    expect(p.ydoc.clientID).toBe(0xdeadbeef * 65536 + 1);
    expect(engine.sent).toHaveLength(0); // loading is not echoed back
    await p.destroy();
  });

  it("sends a burst of local edits as one update, in the replica's name", async () => {
    const engine = new FakeEngine();
    const p = await DocProvider.open("a.txt", engine.transport(), fast);
    for (const c of "abc") p.ytext.insert(p.ytext.length, c);
    expect(p.dirty).toBe(true);
    await p.flush();
    expect(p.dirty).toBe(false);
    expect(engine.sent).toHaveLength(1);
    expect(engine.sent[0].doc).toBe("f:a.txt");
    expect(engine.doc("f:a.txt").getText("content").toString()).toBe("abc");
    // The engine sees the replica's 48-bit client id intact.
    expect([...Y.decodeStateVector(Y.encodeStateVector(engine.doc("f:a.txt"))).keys()]).toEqual([p.ydoc.clientID]);
    await p.destroy();
  });

  it("converges after concurrent edits and never echoes a remote diff back", async () => {
    const engine = new FakeEngine();
    engine.doc(docId("a.txt")).getText("content").insert(0, "base");
    const t = engine.transport();
    const a = await DocProvider.open("a.txt", t, fast);
    const b = await DocProvider.open("a.txt", t, fast);
    expect(a.ydoc.clientID).not.toBe(b.ydoc.clientID);
    // Each replica pulls when the engine says another changed the file.
    const pulls: Promise<void>[] = [];
    engine.onChanged(() => pulls.push(a.catchUp(), b.catchUp()));

    a.ytext.insert(0, "A1 ");
    b.ytext.insert(4, " B1");
    a.ytext.delete(0, 1);
    b.ytext.insert(0, "B0 ");
    await Promise.all([a.flush(), b.flush()]);
    await Promise.all(pulls);
    await Promise.all([a.catchUp(), b.catchUp()]);

    const server = engine.doc("f:a.txt").getText("content").toString();
    expect(text(a)).toBe(server);
    expect(text(b)).toBe(server);
    expect(server).toContain("base");
    expect(server).toContain("B1");
    expect(server).toContain("1 ");
    // Only the two replicas' own edits were sent: what they pulled was not sent back.
    const sentBefore = engine.sent.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(engine.sent.length).toBe(sentBefore);
    expect(a.dirty || b.dirty).toBe(false);
    await Promise.all([a.destroy(), b.destroy()]);
  });

  it("applies an engine-side change (disk save) on catch-up", async () => {
    const engine = new FakeEngine();
    const p = await DocProvider.open("a.txt", engine.transport(), fast);
    p.ytext.insert(0, "mine\n");
    await p.flush();
    engine.doc("f:a.txt").getText("content").insert(5, "from disk\n");
    await p.catchUp();
    expect(text(p)).toBe("mine\nfrom disk\n");
    expect(engine.sent).toHaveLength(1);
    await p.destroy();
  });

  it("retries a failed send, keeps the order and reports once", async () => {
    const engine = new FakeEngine();
    const errors: string[] = [];
    let recovered = 0;
    const p = await DocProvider.open("a.txt", engine.transport(), {
      ...fast,
      onError: (m) => errors.push(m),
      onRecovered: () => recovered++,
    });
    engine.failNext = 3;
    p.ytext.insert(0, "one ");
    await new Promise((r) => setTimeout(r, 8)); // first attempt fails; type on meanwhile
    p.ytext.insert(4, "two");
    await p.flush();
    expect(engine.doc("f:a.txt").getText("content").toString()).toBe("one two");
    expect(errors).toEqual(["Could not save a.txt; retrying"]);
    expect(recovered).toBe(1);
    await p.destroy();
  });

  it("stops sending once destroyed", async () => {
    const engine = new FakeEngine();
    const p = await DocProvider.open("a.txt", engine.transport(), fast);
    p.ytext.insert(0, "x");
    await p.destroy(); // flushes first
    expect(engine.sent).toHaveLength(1);
    await p.catchUp();
    expect(engine.sent).toHaveLength(1);
  });
});
