// Which CodeMirror language a file gets, by extension. Each language is its own chunk, loaded
// the first time a file of that language is opened: their parsers are most of the editor's
// code, and a session editing Rust never needs the JavaScript or Markdown grammar in memory.

import type { Extension } from "@codemirror/state";

export type LanguageName = "javascript" | "typescript" | "jsx" | "tsx" | "json" | "rust" | "markdown" | "plain";

export function languageName(path: string): LanguageName {
  const ext = path.toLowerCase().split("/").pop()?.split(".").slice(1).pop() ?? "";
  switch (ext) {
    case "js":
    case "mjs":
    case "cjs":
      return "javascript";
    case "jsx":
      return "jsx";
    case "ts":
    case "mts":
    case "cts":
      return "typescript";
    case "tsx":
      return "tsx";
    case "json":
      return "json";
    case "rs":
      return "rust";
    case "md":
    case "markdown":
      return "markdown";
    default:
      return "plain";
  }
}

/** The language support for `path`, loaded on first use ([] for plain text). */
export async function loadLanguage(path: string): Promise<Extension> {
  switch (languageName(path)) {
    case "javascript":
    case "json":
      return (await import("@codemirror/lang-javascript")).javascript();
    case "jsx":
      return (await import("@codemirror/lang-javascript")).javascript({ jsx: true });
    case "typescript":
      return (await import("@codemirror/lang-javascript")).javascript({ typescript: true });
    case "tsx":
      return (await import("@codemirror/lang-javascript")).javascript({ typescript: true, jsx: true });
    case "rust":
      return (await import("@codemirror/lang-rust")).rust();
    case "markdown":
      return (await import("@codemirror/lang-markdown")).markdown();
    case "plain":
      return [];
  }
}
