import { describe, expect, it } from "vitest";
import { checkRules, type AlertRules } from "./alertRules";

const defaults: AlertRules = {
  cpu_percent: 90,
  cpu_for_secs: 30,
  mem_percent: 90,
  mem_for_secs: 30,
  disk_free_min_mb: 1024,
  sync_lag_ms: 2000,
  sync_lag_for_secs: 10,
  peer_offline: true,
  agent_failed: true,
};

describe("checkRules", () => {
  it("accepts the engine's defaults", () => {
    expect(checkRules(defaults)).toBeNull();
  });

  it("refuses what the engine would refuse to load", () => {
    expect(checkRules({ ...defaults, cpu_percent: 101 })).toBe("CPU above: at most 100%.");
    expect(checkRules({ ...defaults, sync_lag_ms: -1 })).toMatch(/Sync latency above/);
    expect(checkRules({ ...defaults, mem_for_secs: 1.5 })).toMatch(/whole number/);
    expect(checkRules({ ...defaults, disk_free_min_mb: Number.NaN })).toMatch(/Disk free below/);
  });
});
