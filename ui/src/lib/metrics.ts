// The metrics and activity parts of the side panel: shapes (src/metrics.rs, src/alerts.rs,
// src/activity.rs) and pure helpers, unit-tested in metrics.test.ts.

/** One sample of a peer (src/metrics.rs `Metrics`); `at` is in unix milliseconds. */
export interface Metrics {
  cpu_percent: number;
  mem_used: number;
  mem_total: number;
  net_rx_bps: number;
  net_tx_bps: number;
  disk_free: number;
  sync_latency_ms: number | null;
  msgs_per_sec: number;
  bytes_per_sec: number;
  at: number;
}

/** An alert firing now (src/alerts.rs `Alert`); `since` is in unix seconds. */
export interface Alert {
  id: string;
  rule: string;
  peer: string;
  message: string;
  since: number;
}

/** The `change` of an `alert` engine event. */
export type AlertChange = Alert & { change: "fired" | "cleared" };

/** One line of the activity feed (src/activity.rs `Item`); `at` is in unix seconds. */
export interface ActivityItem {
  at: number;
  kind: string;
  text: string;
}

/** Items the feed keeps, like the engine (src/activity.rs `CAPACITY`). */
export const ACTIVITY_CAP = 500;

/** Data for one uPlot chart: x (unix seconds) then one array per series. */
export type ChartData = [number[], ...(number | null)[][]];

export interface SeriesData {
  cpu: ChartData;
  /** Memory used and total, in MiB. */
  mem: ChartData;
  /** Network received and sent, in KiB/s. */
  net: ChartData;
  /** Sync latency in ms (gaps where unknown). */
  latency: ChartData;
}

const MIB = 1024 * 1024;
const KIB = 1024;

/** Turns a series (any order) into uPlot data arrays, sorted by time, x in unix seconds. */
export function seriesToData(series: Metrics[]): SeriesData {
  const s = [...series].sort((a, b) => a.at - b.at);
  const x = s.map((m) => m.at / 1000);
  return {
    cpu: [x, s.map((m) => m.cpu_percent)],
    mem: [x, s.map((m) => m.mem_used / MIB), s.map((m) => m.mem_total / MIB)],
    net: [x, s.map((m) => m.net_rx_bps / KIB), s.map((m) => m.net_tx_bps / KIB)],
    latency: [x, s.map((m) => m.sync_latency_ms ?? null)],
  };
}

/** Adds an item at the top of a newest-first feed, at most `cap` kept; ignores an exact repeat of the top. */
export function reduceActivity(feed: ActivityItem[], item: ActivityItem, cap = ACTIVITY_CAP): ActivityItem[] {
  const top = feed[0];
  if (top && top.at === item.at && top.kind === item.kind && top.text === item.text) return feed;
  return [item, ...feed].slice(0, cap);
}

/** Merges a fetched newest-first feed with items received live meanwhile: newest first, no duplicates, capped. */
export function mergeActivity(live: ActivityItem[], fetched: ActivityItem[], cap = ACTIVITY_CAP): ActivityItem[] {
  const key = (i: ActivityItem) => `${i.at}\u0000${i.kind}\u0000${i.text}`;
  const seen = new Set<string>();
  const out: ActivityItem[] = [];
  for (const i of [...live, ...fetched].sort((a, b) => b.at - a.at)) {
    const k = key(i);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(i);
  }
  return out.slice(0, cap);
}

/** Applies an `alert` change to the list of firing alerts (kept sorted by id). */
export function reduceAlerts(alerts: Alert[], change: AlertChange): Alert[] {
  const rest = alerts.filter((a) => a.id !== change.id);
  if (change.change === "cleared") return rest;
  const { change: _kind, ...alert } = change;
  return [...rest, alert].sort((a, b) => a.id.localeCompare(b.id));
}

/** Whether a value looks like an activity item (events are typed `unknown` on the wire). */
export function isActivityItem(v: unknown): v is ActivityItem {
  const o = v as ActivityItem | null;
  return typeof o === "object" && o !== null && typeof o.at === "number" && typeof o.kind === "string" && typeof o.text === "string";
}

/** Whether a value looks like an alert change. */
export function isAlertChange(v: unknown): v is AlertChange {
  const o = v as AlertChange | null;
  return (
    typeof o === "object" &&
    o !== null &&
    (o.change === "fired" || o.change === "cleared") &&
    typeof o.id === "string" &&
    typeof o.message === "string"
  );
}

/** The peer to chart: the chosen one if still known, else this peer, else the first. */
export function pickPeer(chosen: string | null, peers: string[], me: string | null): string | null {
  if (chosen && peers.includes(chosen)) return chosen;
  if (me && peers.includes(me)) return me;
  return peers[0] ?? null;
}

/** Bytes in a short human form (1 decimal above KiB). */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} ${units[u]}` : `${v.toFixed(1)} ${units[u]}`;
}

/** "hh:mm:ss" local time of a unix-seconds timestamp. */
export function clock(unixSecs: number): string {
  const d = new Date(unixSecs * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A peer to chart: its id and the name to show. */
export interface ChartPeer {
  id: string;
  name: string;
  me: boolean;
}

/** The peers with metrics to chart: this peer first, then the others by name. */
export function chartPeers(
  me: { id: string; name: string } | null,
  peers: { id: string; name: string }[],
  withMetrics: Iterable<string>,
): ChartPeer[] {
  const known = new Set(withMetrics);
  const out: ChartPeer[] = [];
  if (me) out.push({ id: me.id, name: me.name || "me", me: true });
  const others = peers
    .filter((p) => p.id !== me?.id && known.has(p.id))
    .map((p) => ({ id: p.id, name: p.name || p.id.slice(0, 12) + "…", me: false }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return [...out, ...others];
}

/** The figures shown above a peer's charts, from its newest sample. */
export function summary(series: Metrics[]): { cpu: string; mem: string; net: string; latency: string } | null {
  const m = series.reduce<Metrics | null>((a, b) => (a && a.at >= b.at ? a : b), null);
  if (!m) return null;
  const pct = m.mem_total > 0 ? Math.round((100 * m.mem_used) / m.mem_total) : 0;
  return {
    cpu: `${m.cpu_percent.toFixed(0)}%`,
    mem: `${formatBytes(m.mem_used)} (${pct}%)`,
    net: `↓${formatBytes(m.net_rx_bps)}/s ↑${formatBytes(m.net_tx_bps)}/s`,
    latency: m.sync_latency_ms == null ? "–" : `${Math.round(m.sync_latency_ms)} ms`,
  };
}
