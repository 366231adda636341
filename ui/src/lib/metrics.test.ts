import { describe, expect, it } from "vitest";
import {
  ACTIVITY_CAP,
  chartPeers,
  summary,
  formatBytes,
  isActivityItem,
  isAlertChange,
  mergeActivity,
  pickPeer,
  reduceActivity,
  reduceAlerts,
  seriesToData,
  type ActivityItem,
  type Alert,
  type Metrics,
} from "./metrics";

const MIB = 1024 * 1024;

function sample(at: number, over: Partial<Metrics> = {}): Metrics {
  return {
    cpu_percent: 10,
    mem_used: 512 * MIB,
    mem_total: 1024 * MIB,
    net_rx_bps: 2048,
    net_tx_bps: 1024,
    disk_free: 0,
    sync_latency_ms: null,
    msgs_per_sec: 0,
    bytes_per_sec: 0,
    at,
    ...over,
  };
}

describe("seriesToData", () => {
  it("sorts by time and converts units", () => {
    const d = seriesToData([sample(3000, { cpu_percent: 30, sync_latency_ms: 12 }), sample(1000, { cpu_percent: 5 })]);
    expect(d.cpu).toEqual([[1, 3], [5, 30]]);
    expect(d.mem).toEqual([[1, 3], [512, 512], [1024, 1024]]);
    expect(d.net).toEqual([[1, 3], [2, 2], [1, 1]]);
    expect(d.latency).toEqual([[1, 3], [null, 12]]);
  });

  it("gives empty arrays for no samples", () => {
    const d = seriesToData([]);
    expect(d.cpu).toEqual([[], []]);
    expect(d.mem).toEqual([[], [], []]);
  });
});

describe("activity", () => {
  const item = (at: number, text = "t" + at): ActivityItem => ({ at, kind: "file", text });

  it("puts new items first and caps the feed", () => {
    let feed: ActivityItem[] = [];
    for (let i = 0; i < ACTIVITY_CAP + 20; i++) feed = reduceActivity(feed, item(i));
    expect(feed.length).toBe(ACTIVITY_CAP);
    expect(feed[0].at).toBe(ACTIVITY_CAP + 19);
    expect(feed[ACTIVITY_CAP - 1].at).toBe(20);
  });

  it("ignores an exact repeat of the newest item", () => {
    const feed = reduceActivity([item(1)], item(1));
    expect(feed).toEqual([item(1)]);
  });

  it("merges a fetched feed with live items, newest first, without duplicates", () => {
    const merged = mergeActivity([item(5), item(4)], [item(4), item(3), item(1)]);
    expect(merged.map((i) => i.at)).toEqual([5, 4, 3, 1]);
    expect(mergeActivity([], [item(2), item(1)], 1)).toEqual([item(2)]);
  });

  it("recognises items", () => {
    expect(isActivityItem(item(1))).toBe(true);
    expect(isActivityItem({ at: "1", kind: "x", text: "y" })).toBe(false);
    expect(isActivityItem(null)).toBe(false);
  });
});

describe("alerts", () => {
  const a: Alert = { id: "cpu:p1", rule: "cpu", peer: "p1", message: "CPU high", since: 1 };
  const b: Alert = { id: "disk:p2", rule: "disk", peer: "p2", message: "Disk low", since: 2 };

  it("adds fired alerts sorted by id, replacing the same id", () => {
    let list = reduceAlerts([], { ...b, change: "fired" });
    list = reduceAlerts(list, { ...a, change: "fired" });
    expect(list).toEqual([a, b]);
    list = reduceAlerts(list, { ...a, message: "CPU higher", change: "fired" });
    expect(list.map((x) => x.message)).toEqual(["CPU higher", "Disk low"]);
  });

  it("removes cleared alerts", () => {
    expect(reduceAlerts([a, b], { ...a, change: "cleared" })).toEqual([b]);
    expect(reduceAlerts([], { ...a, change: "cleared" })).toEqual([]);
  });

  it("recognises alert changes", () => {
    expect(isAlertChange({ ...a, change: "fired" })).toBe(true);
    expect(isAlertChange({ ...a, change: "other" })).toBe(false);
    expect(isAlertChange(a)).toBe(false);
  });
});

describe("helpers", () => {
  it("picks the chosen peer, else me, else the first", () => {
    expect(pickPeer("b", ["a", "b"], "a")).toBe("b");
    expect(pickPeer("gone", ["a", "b"], "b")).toBe("b");
    expect(pickPeer(null, ["a", "b"], null)).toBe("a");
    expect(pickPeer(null, [], "a")).toBe(null);
  });

  it("formats bytes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * MIB)).toBe("3.0 MiB");
  });
});

describe("chartPeers", () => {
  it("puts this peer first, then the others with metrics by name", () => {
    const peers = [
      { id: "p3", name: "zoe" },
      { id: "p2", name: "" },
      { id: "p4", name: "amy" },
      { id: "p5", name: "no metrics" },
    ];
    const got = chartPeers({ id: "p1", name: "me" }, peers, ["p1", "p2", "p3", "p4"]);
    expect(got.map((p) => p.id)).toEqual(["p1", "p4", "p2", "p3"]);
    expect(got[0].me).toBe(true);
    expect(got[2].name).toBe("p2…");
  });

  it("charts nobody before a workspace is open", () => {
    expect(chartPeers(null, [], [])).toEqual([]);
  });
});

describe("summary", () => {
  it("reads the newest sample whatever the order", () => {
    const got = summary([sample(2000, { cpu_percent: 55.4, sync_latency_ms: 12.6 }), sample(1000, { cpu_percent: 5 })]);
    expect(got).toEqual({ cpu: "55%", mem: "512.0 MiB (50%)", net: "↓2.0 KiB/s ↑1.0 KiB/s", latency: "13 ms" });
  });

  it("says nothing without samples and a dash without a latency", () => {
    expect(summary([])).toBeNull();
    expect(summary([sample(1)])?.latency).toBe("–");
  });
});
