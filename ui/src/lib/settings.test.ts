import { get } from "svelte/store";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, MAX_NAME, cleanName, createSettingsStore, nameForEngine, parseSettings } from "./settings";

function memory(): { getItem(k: string): string | null; setItem(k: string, v: string): void; data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

describe("settings", () => {
  it("survive a restart through storage", () => {
    const storage = memory();
    createSettingsStore(storage).set({ name: "  Ada   Lovelace ", notifications: false });
    const again = createSettingsStore(storage);
    expect(get(again)).toEqual({ name: "Ada Lovelace", notifications: false });
  });

  it("fall back to defaults on malformed storage", () => {
    expect(parseSettings("{nope")).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings('{"name": 3, "notifications": "yes"}')).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings(null)).toEqual(DEFAULT_SETTINGS);
  });

  it("keep names to one short line", () => {
    expect(cleanName("a\nb\tc")).toBe("a b c");
    expect([...cleanName("x".repeat(100))].length).toBe(MAX_NAME);
  });

  it("leave the name to the shell when none is set", () => {
    expect(nameForEngine({ name: "", notifications: true })).toBeUndefined();
    expect(nameForEngine({ name: "ada", notifications: true })).toBe("ada");
  });
});
