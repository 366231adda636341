// The app's own settings (kept in localStorage): the display name given to the engine when a
// workspace is created or joined, and whether alerts and mentions raise native notifications.
// A name or colour changed in a workspace travels in its review log (the engine's profile), and
// its alert thresholds live in its `.tandem/config.toml` (see SettingsPanel).

import { writable, type Readable } from "svelte/store";
import type { KeyValue } from "./stores";

export interface Settings {
  /** Display name for teammates; "" means the OS user name. */
  name: string;
  notifications: boolean;
}

export const DEFAULT_SETTINGS: Settings = { name: "", notifications: true };

/** The longest display name (the engine's `profile::MAX_NAME`). */
export const MAX_NAME = 32;

/** Why the engine would refuse `name` (one word of letters, digits, `-`, `_`, `.`), or null. */
export function nameProblem(name: string): string | null {
  const n = name.trim();
  if (n.length === 0 || [...n].length > MAX_NAME) return `A name is 1 to ${MAX_NAME} characters.`;
  if (!/^[\p{L}\p{N}._-]+$/u.test(n)) return "A name is one word of letters, digits, '-', '_' or '.' (so that @name mentions it).";
  return null;
}

/** Colours offered in the settings (any `#rrggbb` works). */
export const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324", "#469990", "#808000"];

export interface SettingsStore extends Readable<Settings> {
  set(next: Partial<Settings>): void;
}

/** Reads what `storage` holds, ignoring anything malformed. */
export function parseSettings(raw: string | null): Settings {
  try {
    const o: unknown = raw ? JSON.parse(raw) : {};
    if (typeof o !== "object" || o === null) return { ...DEFAULT_SETTINGS };
    const r = o as Record<string, unknown>;
    return {
      name: typeof r.name === "string" ? cleanName(r.name) : DEFAULT_SETTINGS.name,
      notifications: typeof r.notifications === "boolean" ? r.notifications : DEFAULT_SETTINGS.notifications,
    };
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

/** One line, trimmed, at most MAX_NAME characters. */
export function cleanName(name: string): string {
  return [...name.replace(/\s+/g, " ").trim()].slice(0, MAX_NAME).join("");
}

export function createSettingsStore(storage: KeyValue | undefined, key = "tandem.settings"): SettingsStore {
  const store = writable<Settings>(parseSettings(storage?.getItem(key) ?? null));
  return {
    subscribe: store.subscribe,
    set(next) {
      store.update((cur) => {
        const merged = { ...cur, ...next, name: cleanName(next.name ?? cur.name) };
        try {
          storage?.setItem(key, JSON.stringify(merged));
        } catch {
          // Storage unavailable: the setting holds for this session.
        }
        return merged;
      });
    },
  };
}

export const settings = createSettingsStore(typeof localStorage === "undefined" ? undefined : localStorage);

/** The name to open a workspace with: the setting, else undefined (the shell uses the OS user). */
export function nameForEngine(s: Settings): string | undefined {
  return s.name || undefined;
}
