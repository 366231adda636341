import { describe, expect, it } from "vitest";
import { completeMention, fuzzyFilter, fuzzyScore, initials, mentionAt, mentionCandidates, shortcutOf, type KeyPress } from "./keys";

const press = (key: string, mods: Partial<KeyPress> = {}): KeyPress => ({
  key,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

describe("shortcutOf", () => {
  it("maps Ctrl on Linux and Cmd on macOS", () => {
    expect(shortcutOf(press("p", { ctrlKey: true }))).toBe("quick_open");
    expect(shortcutOf(press("p", { metaKey: true }), true)).toBe("quick_open");
    expect(shortcutOf(press("p", { metaKey: true }))).toBeNull();
    expect(shortcutOf(press("w", { ctrlKey: true }))).toBe("close_tab");
    expect(shortcutOf(press("F", { ctrlKey: true, shiftKey: true }))).toBe("follow");
    expect(shortcutOf(press("Tab", { ctrlKey: true, shiftKey: true }))).toBe("prev_tab");
  });

  it("ignores plain keys and other combinations", () => {
    expect(shortcutOf(press("p"))).toBeNull();
    expect(shortcutOf(press("f", { ctrlKey: true }))).toBeNull();
    expect(shortcutOf(press("p", { ctrlKey: true, altKey: true }))).toBeNull();
  });
});

describe("quick open", () => {
  const paths = ["src/main.rs", "src/lib/mod.rs", "README.md", "docs/manual.md", "src/node/live.rs"];

  it("matches letters in order, not necessarily adjacent", () => {
    expect(fuzzyScore("smr", "src/main.rs")).not.toBeNull();
    expect(fuzzyScore("mx", "src/main.rs")).toBeNull();
  });

  it("ranks file-name and consecutive matches first", () => {
    expect(fuzzyFilter("main", paths)[0]).toBe("src/main.rs");
    expect(fuzzyFilter("live", paths)).toEqual(["src/node/live.rs"]);
    expect(fuzzyFilter("md", paths).slice(0, 2).sort()).toEqual(["README.md", "docs/manual.md"]);
  });

  it("lists everything sorted for an empty query, up to the limit", () => {
    expect(fuzzyFilter("", paths, 2)).toEqual(["README.md", "docs/manual.md"]);
  });
});

describe("@ mentions", () => {
  it("finds the word being typed after an @", () => {
    expect(mentionAt("hi @bo", 6)).toEqual({ start: 3, query: "bo" });
    expect(mentionAt("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionAt("mail a@b", 8)).toBeNull();
    expect(mentionAt("hi @bob and", 11)).toBeNull();
  });

  it("offers one-word names that start with the query", () => {
    expect(mentionCandidates("b", ["bob", "Bea", "alice", "Bob Smith", "bob"])).toEqual(["Bea", "bob"]);
  });

  it("replaces the partial mention and places the caret after it", () => {
    expect(completeMention("hi @bo", 3, 6, "bob")).toEqual({ text: "hi @bob ", caret: 8 });
    expect(completeMention("hi @bo see this", 3, 6, "bob")).toEqual({ text: "hi @bob see this", caret: 8 });
  });
});

describe("initials", () => {
  it("takes the first letters of the first and last words", () => {
    expect(initials("Ada Lovelace")).toBe("AL");
    expect(initials("bob")).toBe("B");
    expect(initials("jean-luc picard")).toBe("JP");
    expect(initials("  ")).toBe("?");
  });
});
