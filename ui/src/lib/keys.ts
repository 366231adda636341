// Keyboard: which shortcut a key press is, the quick-open fuzzy match, and `@` mention completion.
// All pure, unit-tested in keys.test.ts.

export type Shortcut = "quick_open" | "close_tab" | "follow" | "next_tab" | "prev_tab";

/** The part of a KeyboardEvent the shortcuts look at. */
export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** Ctrl (Cmd on macOS) + P quick open, + W close tab, + Shift+F follow, + Tab / Shift+Tab next / previous tab. */
export function shortcutOf(e: KeyPress, mac = false): Shortcut | null {
  const mod = mac ? e.metaKey && !e.ctrlKey : e.ctrlKey && !e.metaKey;
  if (!mod || e.altKey) return null;
  const k = e.key.toLowerCase();
  if (k === "p" && !e.shiftKey) return "quick_open";
  if (k === "w" && !e.shiftKey) return "close_tab";
  if (k === "f" && e.shiftKey) return "follow";
  if (e.key === "Tab") return e.shiftKey ? "prev_tab" : "next_tab";
  return null;
}

/**
 * How well `query` matches `path` as a subsequence (case-insensitive), higher is better; null when
 * it does not. Consecutive letters, letters starting a word and matches in the file name score more.
 */
export function fuzzyScore(query: string, path: string): number | null {
  const q = [...query.replace(/\s+/g, "").toLowerCase()];
  if (q.length === 0) return 0;
  const p = [...path.toLowerCase()];
  const nameStart = path.lastIndexOf("/") + 1;
  const bonus = (j: number) => 1 + (j === 0 || "/._- ".includes(p[j - 1]) ? 2 : 0) + (j >= nameStart ? 1 : 0);
  // best[j]: the best score with the current query letter at p[j] (the best alignment, not the
  // first one: "md" in README.md is the extension, not the M of README).
  let best: number[] = p.map((c, j) => (c === q[0] ? bonus(j) : -Infinity));
  for (let i = 1; i < q.length; i++) {
    const next: number[] = new Array(p.length).fill(-Infinity);
    let before = -Infinity; // best[k] for k < j - 1
    for (let j = 1; j < p.length; j++) {
      if (j >= 2) before = Math.max(before, best[j - 2]);
      if (p[j] !== q[i]) continue;
      next[j] = bonus(j) + Math.max(before, best[j - 1] + 3);
    }
    best = next;
  }
  const top = Math.max(...best);
  // Shorter paths first among equals.
  return top === -Infinity ? null : top - path.length / 1000;
}

/** The best `limit` paths for `query`, best first (all paths, sorted, when the query is empty). */
export function fuzzyFilter(query: string, paths: string[], limit = 50): string[] {
  if (!query.trim()) return [...paths].sort().slice(0, limit);
  return paths
    .map((p) => ({ p, s: fuzzyScore(query, p) }))
    .filter((x): x is { p: string; s: number } => x.s !== null)
    .sort((a, b) => b.s - a.s || a.p.localeCompare(b.p))
    .slice(0, limit)
    .map((x) => x.p);
}

/** The `@word` being typed just before the caret: where its `@` is and the letters after it. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const m = /(^|\s)@([\p{L}\p{N}_-]*)$/u.exec(before);
  if (!m) return null;
  return { start: caret - m[2].length - 1, query: m[2] };
}

/** Names that can be mentioned (the engine reads a mention as one word) starting with `query`. */
export function mentionCandidates(query: string, names: string[], limit = 6): string[] {
  const q = query.toLowerCase();
  const ok = [...new Set(names.filter((n) => n && !/\s/.test(n)))];
  return ok
    .filter((n) => n.toLowerCase().startsWith(q))
    .sort((a, b) => a.localeCompare(b))
    .slice(0, limit);
}

/** Replaces the `@query` at `start` with `@name ` and says where the caret goes. */
export function completeMention(text: string, start: number, caret: number, name: string): { text: string; caret: number } {
  const inserted = `@${name} `;
  const rest = text.slice(caret).replace(/^\S*/, "").replace(/^ /, "");
  return { text: text.slice(0, start) + inserted + rest, caret: start + inserted.length };
}

/** Up to two initials of a name ("Ada Lovelace" → "AL", "bob" → "B"); "?" when empty. */
export function initials(name: string): string {
  const words = name.trim().split(/[\s._-]+/).filter(Boolean);
  if (words.length === 0) return "?";
  const first = [...words[0]][0] ?? "";
  const second = words.length > 1 ? [...words[words.length - 1]][0] ?? "" : "";
  return (first + second).toUpperCase();
}
