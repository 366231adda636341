import { get } from "svelte/store";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, MAX_NAME, PALETTE, cleanName, createSettingsStore, nameForEngine, nameProblem, parseSettings } from "./settings";

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

  it("check a new name as the engine does: one word, 1 to MAX_NAME characters", () => {
    expect(nameProblem(" zoë_2 ")).toBeNull();
    expect(nameProblem("ada.l-ovelace")).toBeNull();
    expect(nameProblem("")).toContain("1 to");
    expect(nameProblem("x".repeat(MAX_NAME + 1))).toContain("1 to");
    expect(nameProblem("two words")).toContain("one word");
    expect(nameProblem("a@b")).toContain("one word");
  });

  it("offer colours the engine takes (#rrggbb)", () => {
    for (const c of PALETTE) expect(c).toMatch(/^#[0-9a-f]{6}$/);
  });

  it("leave the name to the shell when none is set", () => {
    expect(nameForEngine({ name: "", notifications: true })).toBeUndefined();
    expect(nameForEngine({ name: "ada", notifications: true })).toBe("ada");
  });
});
