// The alert thresholds (src/alerts.rs `Rules`, the `[alerts]` table of `.tandem/config.toml`).

export interface AlertRules {
  cpu_percent: number;
  cpu_for_secs: number;
  mem_percent: number;
  mem_for_secs: number;
  disk_free_min_mb: number;
  sync_lag_ms: number;
  sync_lag_for_secs: number;
  peer_offline: boolean;
  agent_failed: boolean;
}

type NumberKey = { [K in keyof AlertRules]: AlertRules[K] extends number ? K : never }[keyof AlertRules];

/** The numeric thresholds as the form shows them, with the engine's ranges. */
export const NUMBER_FIELDS: { key: NumberKey; label: string; unit: string; max?: number }[] = [
  { key: "cpu_percent", label: "CPU above", unit: "%", max: 100 },
  { key: "cpu_for_secs", label: "for", unit: "s" },
  { key: "mem_percent", label: "Memory above", unit: "%", max: 100 },
  { key: "mem_for_secs", label: "for", unit: "s" },
  { key: "sync_lag_ms", label: "Sync latency above", unit: "ms" },
  { key: "sync_lag_for_secs", label: "for", unit: "s" },
  { key: "disk_free_min_mb", label: "Disk free below", unit: "MiB" },
];

/** Why the engine would refuse these thresholds, or null when they are fine. */
export function checkRules(r: AlertRules): string | null {
  for (const f of NUMBER_FIELDS) {
    const v = r[f.key];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) return `${f.label}: give a number of ${f.unit}, 0 or more.`;
    if (f.max !== undefined && v > f.max) return `${f.label}: at most ${f.max}${f.unit}.`;
    if (f.unit === "s" || f.unit === "MiB") {
      if (!Number.isInteger(v)) return `${f.label}: a whole number of ${f.unit}.`;
    }
  }
  return null;
}
