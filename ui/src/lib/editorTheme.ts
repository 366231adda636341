// The editor's dark theme and syntax colours, matching the shell.

import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import type { Extension } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { tags as t } from "@lezer/highlight";

const theme = EditorView.theme(
  {
    "&": { color: "#d7dae0", backgroundColor: "#1e2127", height: "100%" },
    ".cm-scroller": { fontFamily: "ui-monospace, 'JetBrains Mono', Menlo, monospace", lineHeight: "1.5" },
    ".cm-content": { caretColor: "#ffffff" },
    ".cm-cursor, .cm-dropCursor": { borderLeftColor: "#ffffff" },
    "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": { backgroundColor: "#3e4f6a" },
    ".cm-activeLine": { backgroundColor: "#262b33" },
    ".cm-gutters": { backgroundColor: "#1e2127", color: "#5c6370", border: "none" },
    ".cm-activeLineGutter": { backgroundColor: "#262b33", color: "#abb2bf" },
  },
  { dark: true },
);

const colours = HighlightStyle.define([
  { tag: [t.keyword, t.modifier, t.controlKeyword, t.operatorKeyword], color: "#c678dd" },
  { tag: [t.string, t.special(t.string), t.regexp], color: "#98c379" },
  { tag: [t.number, t.bool, t.null, t.atom], color: "#d19a66" },
  { tag: [t.comment, t.lineComment, t.blockComment], color: "#7f848e", fontStyle: "italic" },
  { tag: [t.function(t.variableName), t.function(t.propertyName), t.macroName], color: "#61afef" },
  { tag: [t.typeName, t.className, t.namespace], color: "#e5c07b" },
  { tag: [t.propertyName, t.attributeName], color: "#e06c75" },
  { tag: [t.heading], color: "#e06c75", fontWeight: "bold" },
  { tag: [t.link, t.url], color: "#61afef", textDecoration: "underline" },
  { tag: [t.emphasis], fontStyle: "italic" },
  { tag: [t.strong], fontWeight: "bold" },
  { tag: [t.meta, t.punctuation], color: "#abb2bf" },
]);

export const editorTheme: Extension = [theme, syntaxHighlighting(colours)];
