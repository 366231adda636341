import { EditorState } from "@codemirror/state";
import { describe, expect, it } from "vitest";
import { markedLines, setThreads, threadGutter } from "./reviewGutter";
import type { Thread } from "./types";

function thread(id: string, file: string, line: number): Thread {
  return {
    id, file, start_line: line, end_line: line, kind: "issue", author: "p", author_name: "P", state: "open",
    body: "", suggestion: null, agent: null, replies: [], created_at: 0,
  };
}

describe("thread gutter state", () => {
  const threads = [thread("a", "f.rs", 2), thread("b", "f.rs", 4), thread("c", "g.rs", 1)];

  it("marks the start lines of the file's threads and follows edits above them", () => {
    let state = EditorState.create({ doc: "1\n2\n3\n4\n", extensions: threadGutter(() => {}) });
    state = state.update({ effects: setThreads.of({ threads, file: "f.rs" }) }).state;
    expect(markedLines(state)).toEqual([
      { line: 2, ids: ["a"] },
      { line: 4, ids: ["b"] },
    ]);
    state = state.update({ changes: { from: 0, insert: "0\n" } }).state;
    expect(markedLines(state).map((m) => m.line)).toEqual([3, 5]);
    state = state.update({ effects: setThreads.of({ threads: [], file: "f.rs" }) }).state;
    expect(markedLines(state)).toEqual([]);
  });
});
