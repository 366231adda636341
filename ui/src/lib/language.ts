// Which CodeMirror language a file gets, by extension.

import type { Extension } from "@codemirror/state";
import { javascript } from "@codemirror/lang-javascript";
import { rust } from "@codemirror/lang-rust";
import { markdown } from "@codemirror/lang-markdown";

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

export function languageFor(path: string): Extension {
  switch (languageName(path)) {
    case "javascript":
    case "json":
      return javascript();
    case "jsx":
      return javascript({ jsx: true });
    case "typescript":
      return javascript({ typescript: true });
    case "tsx":
      return javascript({ typescript: true, jsx: true });
    case "rust":
      return rust();
    case "markdown":
      return markdown();
    case "plain":
      return [];
  }
}
