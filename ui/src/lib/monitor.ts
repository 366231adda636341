// Stores and glue for the metrics and activity panels: the feed and the firing alerts, kept up to
// date from `activity` and `alert` engine events (see engine.ts `handleEvent`).

import { writable } from "svelte/store";
import { api, errorText } from "./api";
import {
  isActivityItem,
  isAlertChange,
  mergeActivity,
  reduceActivity,
  reduceAlerts,
  type ActivityItem,
  type Alert,
  type Metrics,
} from "./metrics";
import { showError, showInfo } from "./stores";
import type { EngineEvent } from "./types";

/** The activity feed, newest first, at most 500 items. */
export const activity = writable<ActivityItem[]>([]);
/** Alerts firing now, sorted by id. */
export const alerts = writable<Alert[]>([]);
/** Each charted peer's metrics over the last ten minutes, oldest first. */
export const series = writable<Record<string, Metrics[]>>({});

/** Applies an `activity` or `alert` event; other events are ignored. */
export function handleMonitorEvent(ev: EngineEvent): void {
  if (ev.event === "activity" && isActivityItem(ev.item)) {
    const item = ev.item;
    activity.update((feed) => reduceActivity(feed, item));
  } else if (ev.event === "alert" && isAlertChange(ev.change)) {
    const change = ev.change;
    alerts.update((list) => reduceAlerts(list, change));
    // The shell raises a native notification when the window is not focused; in it, a notice.
    if (change.change === "fired") showInfo("Alert: " + change.message);
  }
}

/** Loads the feed kept by the engine, keeping what arrived live meanwhile. */
export async function refreshActivity(): Promise<void> {
  try {
    const fetched = await api.activity();
    activity.update((live) => mergeActivity(live, fetched));
  } catch (e) {
    showError("Could not load the activity feed: " + errorText(e));
  }
}

/** Replaces the firing alerts with those of a `live_view`. */
export function setAlerts(list: Alert[]): void {
  alerts.set([...list].sort((a, b) => a.id.localeCompare(b.id)));
}

/** Forgets the feed, the alerts and the charts (workspace opened or closed). */
export function resetMonitor(): void {
  activity.set([]);
  alerts.set([]);
  series.set({});
  seriesFailing = false;
}

let seriesFailing = false;

/** Reads the metrics of `peers` (the charted ones); the others are dropped. */
export async function refreshSeries(peers: string[]): Promise<void> {
  try {
    const got = await Promise.all(peers.map(async (p) => [p, await api.metricsSeries(p)] as const));
    series.set(Object.fromEntries(got));
    seriesFailing = false;
  } catch (e) {
    // Polled every two seconds: say it once per failure streak.
    if (!seriesFailing) showError("Could not read the metrics: " + errorText(e));
    seriesFailing = true;
  }
}
