// The app's own settings (kept in localStorage): the display name given to the engine when a
// workspace is opened, and whether alerts and mentions raise native notifications. Alert
// thresholds live in the workspace's `.tandem/config.toml` instead (see SettingsPanel).

import { writable, type Readable } from "svelte/store";
import type { KeyValue } from "./stores";

export interface Settings {
  /** Display name for teammates; "" means the OS user name. */
  name: string;
  notifications: boolean;
}

export const DEFAULT_SETTINGS: Settings = { name: "", notifications: true };

/** The longest display name kept (the engine shows it in presence, chat and comments). */
export const MAX_NAME = 40;

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
