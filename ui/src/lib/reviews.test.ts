import { describe, expect, it } from "vitest";
import { checkRequest, myVote, outcomeOf, sortReviews, tally, type Review, type Vote } from "./reviews";

function review(id: string, over: Partial<Review> = {}): Review {
  return {
    id,
    title: "t " + id,
    files: ["a.rs"],
    approvals_needed: 2,
    author: "p1",
    author_name: "ann",
    votes: [],
    outcome: "open",
    created_at: 100,
    ...over,
  };
}

const vote = (peer: string, v: Vote["vote"], reason = ""): Vote => ({ peer, name: peer, vote: v, reason, at: 1 });

describe("review requests", () => {
  it("names the engine's open outcome pending", () => {
    expect(outcomeOf(review("a"))).toBe("pending");
    expect(outcomeOf(review("a", { outcome: "approved" }))).toBe("approved");
    expect(outcomeOf(review("a", { outcome: "changes_requested" }))).toBe("changes_requested");
  });

  it("counts approvals against those needed and change requests", () => {
    const r = review("a", { votes: [vote("p2", "approve"), vote("p3", "reject", "typo"), vote("p4", "approve")] });
    expect(tally(r)).toEqual({ approvals: 2, needed: 2, changes: 1 });
  });

  it("finds this peer's vote", () => {
    const r = review("a", { votes: [vote("p2", "approve"), vote("p3", "reject", "no")] });
    expect(myVote(r, "p3")?.reason).toBe("no");
    expect(myVote(r, "p9")).toBeNull();
    expect(myVote(r, null)).toBeNull();
  });

  it("lists pending requests first, newest first, and filters by file", () => {
    const list = [
      review("old", { created_at: 1 }),
      review("done", { created_at: 9, outcome: "approved" }),
      review("new", { created_at: 5, files: ["b.rs"] }),
    ];
    expect(sortReviews(list).map((r) => r.id)).toEqual(["new", "old", "done"]);
    expect(sortReviews(list, "b.rs").map((r) => r.id)).toEqual(["new"]);
  });

  it("checks a request before sending it", () => {
    expect(checkRequest("  ", ["a"], 1)).toEqual({ ok: false, error: "Give the request a title." });
    expect(checkRequest("x", [], 1)).toEqual({ ok: false, error: "Pick at least one file." });
    expect(checkRequest("x", ["a"], 0).ok).toBe(false);
    expect(checkRequest(" Fix ", ["b", "a", "b"], 2)).toEqual({ ok: true, title: "Fix", files: ["a", "b"], approvals: 2 });
  });
});
