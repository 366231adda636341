import { get } from "svelte/store";
import { beforeEach, describe, expect, it } from "vitest";
import { activity, alerts, handleMonitorEvent, resetMonitor } from "./monitor";
import { notices } from "./stores";

describe("handleMonitorEvent", () => {
  beforeEach(() => resetMonitor());

  it("adds activity items newest first", () => {
    handleMonitorEvent({ event: "activity", item: { at: 1, kind: "join", text: "alice joined" } });
    handleMonitorEvent({ event: "activity", item: { at: 2, kind: "file", text: "a.md created" } });
    expect(get(activity).map((i) => i.text)).toEqual(["a.md created", "alice joined"]);
  });

  it("tracks fired and cleared alerts, and says in the window when one fires", () => {
    const alert = { id: "cpu:p1", rule: "cpu", peer: "p1", message: "CPU on p1 at 97%", since: 5 };
    handleMonitorEvent({ event: "alert", change: { change: "fired", ...alert } });
    expect(get(alerts)).toEqual([alert]);
    expect(get(notices).map((n) => n.text)).toContain("Alert: CPU on p1 at 97%");
    handleMonitorEvent({ event: "alert", change: { change: "cleared", ...alert } });
    expect(get(alerts)).toEqual([]);
  });

  it("ignores malformed and unrelated events", () => {
    handleMonitorEvent({ event: "activity", item: { nope: true } });
    handleMonitorEvent({ event: "review_changed" });
    expect(get(activity)).toEqual([]);
  });
});
