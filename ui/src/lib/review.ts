// Pure helpers for comment threads: filtering the side list, gutter markers per line, and which
// actions a thread offers.

import type { CommentAction, CommentKind, Thread, ThreadState } from "./types";

export const KINDS: readonly CommentKind[] = ["issue", "suggestion", "question", "praise"];
export const STATES: readonly ThreadState[] = ["open", "outdated", "resolved", "applied"];

/** Colour of each kind, for gutter markers and badges. */
export const KIND_COLOURS: Record<CommentKind, string> = {
  issue: "#e06060",
  suggestion: "#4d8fd6",
  question: "#d9a33a",
  praise: "#4fb36b",
};

export interface ThreadFilter {
  /** Only the open file's threads, or every file's. */
  scope: "current" | "all";
  kind: CommentKind | "all";
  state: ThreadState | "all";
}

export const defaultFilter: ThreadFilter = { scope: "all", kind: "all", state: "all" };

/** Whether a thread still asks for attention (open, or open on code that is gone). */
export function isActive(t: Thread): boolean {
  return t.state === "open" || t.state === "outdated";
}

/**
 * The threads that pass `f`, the open file's first, then by file and line. With scope `current`
 * and no open file, nothing passes.
 */
export function filterThreads(threads: readonly Thread[], f: ThreadFilter, activeFile: string | null): Thread[] {
  return threads
    .filter(
      (t) =>
        (f.scope === "all" || t.file === activeFile) &&
        (f.kind === "all" || t.kind === f.kind) &&
        (f.state === "all" || t.state === f.state),
    )
    .sort(
      (a, b) =>
        Number(b.file === activeFile) - Number(a.file === activeFile) ||
        a.file.localeCompare(b.file) ||
        a.start_line - b.start_line ||
        a.created_at - b.created_at,
    );
}

/** One gutter marker: every thread starting on a line. */
export interface LineMarker {
  /** 1-based line. */
  line: number;
  /** Thread ids, oldest first. */
  ids: string[];
  /** Colour kind: the most pressing kind among the active threads, else among all. */
  kind: CommentKind;
  /** No thread on the line is active any more. */
  dimmed: boolean;
}

/**
 * Markers for `file`: one per line that some thread starts on, sorted by line. Lines past the end
 * of the document (`lineCount`) are clamped to its last line; lines below 1 to the first.
 */
export function markersByLine(threads: readonly Thread[], file: string, lineCount: number): LineMarker[] {
  const last = Math.max(1, lineCount);
  const byLine = new Map<number, Thread[]>();
  for (const t of threads) {
    if (t.file !== file) continue;
    const line = Math.min(Math.max(1, t.start_line), last);
    const list = byLine.get(line);
    if (list) list.push(t);
    else byLine.set(line, [t]);
  }
  return [...byLine.entries()]
    .sort(([a], [b]) => a - b)
    .map(([line, ts]) => {
      ts.sort((a, b) => a.created_at - b.created_at);
      const active = ts.filter(isActive);
      const pool = active.length > 0 ? active : ts;
      const kind = KINDS.find((k) => pool.some((t) => t.kind === k)) ?? pool[0].kind;
      return { line, ids: ts.map((t) => t.id), kind, dimmed: active.length === 0 };
    });
}

/** The buttons a thread offers to peer `me`. The engine still checks roles and ownership. */
export function threadActions(t: Thread, me: string | null): CommentAction[] {
  const out: CommentAction[] = [];
  if (isActive(t)) out.push("resolve");
  if (t.state === "resolved") out.push("reopen");
  if (t.kind === "suggestion" && t.suggestion !== null && isActive(t)) out.push("apply");
  if (me !== null && t.author === me) out.push("delete");
  return out;
}

/** Words for an action's failure. */
export function actionFailed(action: CommentAction, why: string): string {
  const what = { resolve: "resolve", reopen: "reopen", apply: "apply the suggestion of", delete: "delete" }[action];
  return `Could not ${what} this comment: ${why}`;
}
