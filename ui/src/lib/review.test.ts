import { describe, expect, it } from "vitest";
import { actionFailed, filterThreads, markersByLine, threadActions } from "./review";
import type { Thread } from "./types";

function thread(over: Partial<Thread>): Thread {
  return {
    id: "t",
    file: "a.rs",
    start_line: 1,
    end_line: 1,
    kind: "issue",
    author: "me",
    author_name: "Me",
    state: "open",
    body: "b",
    suggestion: null,
    agent: null,
    replies: [],
    created_at: 0,
    ...over,
  };
}

const threads = [
  thread({ id: "1", file: "b.rs", start_line: 3, kind: "question" }),
  thread({ id: "2", file: "a.rs", start_line: 9, kind: "issue", state: "resolved" }),
  thread({ id: "3", file: "a.rs", start_line: 2, kind: "suggestion", suggestion: "x" }),
  thread({ id: "4", file: "c.rs", start_line: 1, kind: "praise", state: "applied" }),
];

describe("filterThreads", () => {
  it("keeps everything with the default filter, open file first", () => {
    const ids = filterThreads(threads, { scope: "all", kind: "all", state: "all" }, "b.rs").map((t) => t.id);
    expect(ids).toEqual(["1", "3", "2", "4"]);
  });
  it("narrows to the current file", () => {
    const ids = filterThreads(threads, { scope: "current", kind: "all", state: "all" }, "a.rs").map((t) => t.id);
    expect(ids).toEqual(["3", "2"]);
  });
  it("shows nothing for the current file when none is open", () => {
    expect(filterThreads(threads, { scope: "current", kind: "all", state: "all" }, null)).toEqual([]);
  });
  it("filters by kind and state together", () => {
    expect(filterThreads(threads, { scope: "all", kind: "issue", state: "resolved" }, null).map((t) => t.id)).toEqual(["2"]);
    expect(filterThreads(threads, { scope: "all", kind: "issue", state: "open" }, null)).toEqual([]);
    expect(filterThreads(threads, { scope: "all", kind: "all", state: "open" }, null).map((t) => t.id)).toEqual(["3", "1"]);
  });
  it("does not reorder its input", () => {
    const input = [...threads];
    filterThreads(input, { scope: "all", kind: "all", state: "all" }, null);
    expect(input).toEqual(threads);
  });
});

describe("markersByLine", () => {
  it("makes one marker per start line of the file, sorted", () => {
    const ts = [
      thread({ id: "a", start_line: 5, kind: "praise", created_at: 2 }),
      thread({ id: "b", start_line: 2 }),
      thread({ id: "c", start_line: 5, kind: "question", created_at: 1 }),
      thread({ id: "d", file: "other.rs", start_line: 5 }),
    ];
    expect(markersByLine(ts, "a.rs", 10)).toEqual([
      { line: 2, ids: ["b"], kind: "issue", dimmed: false },
      { line: 5, ids: ["c", "a"], kind: "question", dimmed: false },
    ]);
  });
  it("colours by the most pressing active kind and dims lines with no active thread", () => {
    const ts = [
      thread({ id: "a", start_line: 1, kind: "issue", state: "resolved" }),
      thread({ id: "b", start_line: 1, kind: "praise" }),
      thread({ id: "c", start_line: 2, kind: "suggestion", state: "applied" }),
      thread({ id: "d", start_line: 2, kind: "issue", state: "resolved" }),
      thread({ id: "e", start_line: 3, kind: "question", state: "outdated" }),
    ];
    expect(markersByLine(ts, "a.rs", 10)).toEqual([
      { line: 1, ids: ["a", "b"], kind: "praise", dimmed: false },
      { line: 2, ids: ["c", "d"], kind: "issue", dimmed: true },
      { line: 3, ids: ["e"], kind: "question", dimmed: false },
    ]);
  });
  it("clamps lines to the document", () => {
    const ts = [thread({ id: "a", start_line: 40 }), thread({ id: "b", start_line: 0 })];
    expect(markersByLine(ts, "a.rs", 3).map((m) => [m.line, m.ids])).toEqual([
      [1, ["b"]],
      [3, ["a"]],
    ]);
    expect(markersByLine(ts, "a.rs", 0).map((m) => m.line)).toEqual([1]);
  });
});

describe("threadActions", () => {
  it("offers resolve, apply and delete on one's own open suggestion", () => {
    expect(threadActions(thread({ kind: "suggestion", suggestion: "y" }), "me")).toEqual(["resolve", "apply", "delete"]);
  });
  it("offers no apply for other kinds or spent suggestions, no delete for others' comments", () => {
    expect(threadActions(thread({ kind: "issue" }), "you")).toEqual(["resolve"]);
    expect(threadActions(thread({ kind: "suggestion", suggestion: "y", state: "applied" }), "you")).toEqual([]);
    expect(threadActions(thread({ state: "resolved" }), null)).toEqual(["reopen"]);
  });
  it("says what failed in words", () => {
    expect(actionFailed("apply", "the lines changed")).toBe("Could not apply the suggestion of this comment: the lines changed");
  });
});
