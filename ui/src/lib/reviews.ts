// Review requests (src/review.rs `Review`): shapes and the pure helpers the reviews panel uses.

/** One member's latest vote on a review request. */
export interface Vote {
  peer: string;
  name: string;
  vote: "approve" | "reject";
  reason: string;
  at: number;
}

/** A review request with its votes and the outcome the engine derived. */
export interface Review {
  id: string;
  title: string;
  files: string[];
  approvals_needed: number;
  author: string;
  author_name: string;
  votes: Vote[];
  outcome: "open" | "approved" | "changes_requested";
  created_at: number;
}

/** The outcome as the UI and its tests name it: the engine's `open` is `pending`. */
export type Outcome = "pending" | "approved" | "changes_requested";

export function outcomeOf(r: Review): Outcome {
  return r.outcome === "approved" || r.outcome === "changes_requested" ? r.outcome : "pending";
}

export const OUTCOME_LABELS: Record<Outcome, string> = {
  pending: "Pending",
  approved: "Approved",
  changes_requested: "Changes requested",
};

/** Approvals so far out of those needed, and how many asked for changes. */
export function tally(r: Review): { approvals: number; needed: number; changes: number } {
  return {
    approvals: r.votes.filter((v) => v.vote === "approve").length,
    needed: r.approvals_needed,
    changes: r.votes.filter((v) => v.vote === "reject").length,
  };
}

/** This peer's vote on a request, if any. */
export function myVote(r: Review, me: string | null | undefined): Vote | null {
  return r.votes.find((v) => v.peer === me) ?? null;
}

/** Pending first, then newest first; `file` keeps only requests that include it. */
export function sortReviews(list: Review[], file: string | null = null): Review[] {
  const rank = (r: Review) => (outcomeOf(r) === "pending" ? 0 : 1);
  return list
    .filter((r) => !file || r.files.includes(file))
    .sort((a, b) => rank(a) - rank(b) || b.created_at - a.created_at || a.id.localeCompare(b.id));
}

/** What the request form would send, or why it cannot be sent yet. */
export function checkRequest(
  title: string,
  files: string[],
  approvals: number,
): { ok: true; title: string; files: string[]; approvals: number } | { ok: false; error: string } {
  const t = title.trim();
  if (!t) return { ok: false, error: "Give the request a title." };
  if (files.length === 0) return { ok: false, error: "Pick at least one file." };
  if (!Number.isInteger(approvals) || approvals < 1) return { ok: false, error: "At least one approval is needed." };
  return { ok: true, title: t, files: [...new Set(files)].sort(), approvals };
}
