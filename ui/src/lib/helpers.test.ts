import { afterEach, describe, expect, it, vi } from "vitest";
import { debounce } from "./debounce";
import { languageName } from "./language";
import { minimalChange } from "./textdiff";
import { allDirs, revealPath, treeRows } from "./tree";

function apply(before: string, after: string): string {
  const c = minimalChange(before, after);
  return c ? before.slice(0, c.from) + c.insert + before.slice(c.to) : before;
}

describe("minimalChange", () => {
  it("is null for equal texts", () => expect(minimalChange("abc", "abc")).toBeNull());

  it("covers only what changed", () => {
    expect(minimalChange("hello world", "hello brave world")).toEqual({ from: 6, to: 6, insert: "brave " });
    expect(minimalChange("abcdef", "abef")).toEqual({ from: 2, to: 4, insert: "" });
  });

  it("always rebuilds the target, also around repeats and emoji", () => {
    const cases: [string, string][] = [
      ["aaa", "aaaa"],
      ["", "x"],
      ["x", ""],
      ["a😀b", "a😁b"],
      ["😀", "😀😀"],
      ["line1\nline2\n", "line1\nnew\nline2\n"],
    ];
    for (const [a, b] of cases) expect(apply(a, b)).toBe(b);
  });

  it("never splits a surrogate pair", () => {
    const c = minimalChange("a😀b", "a😁b");
    expect(c?.from).toBe(1);
    expect(c?.insert).toBe("😁");
  });
});

describe("languageName", () => {
  it("picks by extension", () => {
    expect(languageName("src/main.rs")).toBe("rust");
    expect(languageName("README.md")).toBe("markdown");
    expect(languageName("ui/App.tsx")).toBe("tsx");
    expect(languageName("x.test.ts")).toBe("typescript");
    expect(languageName("Makefile")).toBe("plain");
    expect(languageName("dir.rs/notes")).toBe("plain");
  });
});

describe("treeRows", () => {
  it("lists folders before files, nested and sorted", () => {
    const rows = treeRows(["b.txt", "src/z.rs", "src/a/x.rs", "a.md"]);
    expect(rows.map((r) => `${r.depth}${r.kind[0]} ${r.path}`)).toEqual([
      "0d src",
      "1d src/a",
      "2f src/a/x.rs",
      "1f src/z.rs",
      "0f a.md",
      "0f b.txt",
    ]);
  });

  it("leaves out what collapsed folders hold, and opens the folders of a file to reveal it", () => {
    const paths = ["b.txt", "src/z.rs", "src/a/x.rs", "a.md"];
    const all = allDirs(paths);
    expect([...all].sort()).toEqual(["src", "src/a"]);
    expect(treeRows(paths, all).map((r) => `${r.path}${r.open === false ? " (closed)" : ""}`)).toEqual([
      "src (closed)",
      "a.md",
      "b.txt",
    ]);
    const shown = treeRows(paths, revealPath(all, "src/a/x.rs")).map((r) => r.path);
    expect(shown).toContain("src/a/x.rs");
    expect(revealPath(all, "a.md")).toEqual(all);
  });
});

describe("debounce", () => {
  afterEach(() => void vi.useRealTimers());

  it("calls once with the last arguments, and flush sends at once", () => {
    vi.useFakeTimers();
    const calls: string[] = [];
    const d = debounce((s: string) => calls.push(s), 150);
    d("a");
    d("ab");
    expect(d.pending()).toBe(true);
    vi.advanceTimersByTime(149);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(["ab"]);
    d("abc");
    d.flush();
    expect(calls).toEqual(["ab", "abc"]);
    expect(d.pending()).toBe(false);
    d.flush();
    expect(calls).toHaveLength(2);
  });
});
