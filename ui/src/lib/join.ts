// The welcome screen's join: what the progress bar says, and errors in words.

import { isCommandError } from "./api";
import type { JoinProgress } from "./api";

/** The bar's value and caption; total 0 means "not known yet" (an indeterminate bar). */
export function joinStage(p: JoinProgress | null): { received: number; total: number; text: string } {
  if (!p || p.total === 0) return { received: 0, total: 0, text: "Connecting to the teammate who invited you…" };
  const received = Math.min(p.received, p.total);
  const pct = Math.round((100 * received) / p.total);
  return { received, total: p.total, text: `Receiving files: ${received} of ${p.total} (${pct}%)` };
}

/** A join failure in words a user can act on; the engine's message says what happened. */
export function joinErrorText(e: unknown): string {
  if (isCommandError(e)) {
    const m = e.message;
    if (/invalid invite code|unsupported invite code/i.test(m))
      return `That invite code is not valid (${m}). Copy the whole code again, or ask for a new one.`;
    if (/expired/i.test(m)) return "That invite code has expired. Ask your teammate for a new one.";
    if (e.code === "join_failed") return `Could not join: ${m}`;
    return m;
  }
  if (e instanceof Error) return `Could not join: ${e.message}`;
  return `Could not join: ${String(e)}`;
}
