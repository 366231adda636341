import { describe, expect, it } from "vitest";
import { coalesced } from "./coalesce";

describe("coalesced", () => {
  it("runs once more after a run for any number of calls made during it, never two at once", async () => {
    let runs = 0;
    let inFlight = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const read = coalesced(async () => {
      runs++;
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((r) => gates.push(r));
      inFlight--;
    });
    const first = read();
    for (let i = 0; i < 1000; i++) void read(); // a burst of a thousand events
    expect(runs).toBe(1);
    gates.shift()?.();
    await first;
    await Promise.resolve();
    expect(runs).toBe(2);
    gates.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
    expect(runs).toBe(2);
    expect(most).toBe(1);
    void read();
    expect(runs).toBe(3); // idle again: a call runs at once
    gates.shift()?.();
  });
});
