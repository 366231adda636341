// A CodeMirror gutter with one marker per line that comment threads start on, coloured by kind and
// dimmed once every thread there is resolved, applied or outdated. Markers follow local edits
// until the next thread list arrives from the engine.

import { RangeSet, StateEffect, StateField, type EditorState, type Extension } from "@codemirror/state";
import { EditorView, GutterMarker, gutter } from "@codemirror/view";
import { KIND_COLOURS, markersByLine, type LineMarker } from "./review";
import type { Thread } from "./types";

class ThreadMarker extends GutterMarker {
  constructor(readonly m: LineMarker) {
    super();
  }
  eq(other: GutterMarker): boolean {
    return (
      other instanceof ThreadMarker &&
      other.m.kind === this.m.kind &&
      other.m.dimmed === this.m.dimmed &&
      other.m.ids.join() === this.m.ids.join()
    );
  }
  toDOM(): Node {
    const el = document.createElement("span");
    el.className = "cm-thread-marker" + (this.m.dimmed ? " dimmed" : "");
    el.dataset.kind = this.m.kind;
    el.style.backgroundColor = KIND_COLOURS[this.m.kind];
    el.title = `${this.m.ids.length} comment${this.m.ids.length === 1 ? "" : "s"} (${this.m.kind})`;
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", el.title);
    return el;
  }
}

/** Replaces the threads shown (all files' threads: the gutter keeps the ones of `file`). */
export const setThreads = StateEffect.define<{ threads: readonly Thread[]; file: string }>();

const markers = StateField.define<RangeSet<ThreadMarker>>({
  create: () => RangeSet.empty,
  update(set, tr) {
    for (const e of tr.effects) {
      if (e.is(setThreads)) {
        const doc = tr.state.doc;
        return RangeSet.of(
          markersByLine(e.value.threads, e.value.file, doc.lines).map((m) =>
            new ThreadMarker(m).range(doc.line(m.line).from),
          ),
        );
      }
    }
    return tr.docChanged ? set.map(tr.changes) : set;
  },
});

/** The lines (1-based) that carry a marker, with their thread ids, as the state stands. */
export function markedLines(state: EditorState): { line: number; ids: string[] }[] {
  const out: { line: number; ids: string[] }[] = [];
  const field = state.field(markers, false);
  if (!field) return out;
  for (let it = field.iter(); it.value; it.next()) out.push({ line: state.doc.lineAt(it.from).number, ids: it.value.m.ids });
  return out;
}

/** The threads gutter; `onOpen` gets the clicked line's thread ids and its start position. */
export function threadGutter(onOpen: (ids: string[], pos: number, view: EditorView) => void): Extension {
  return [
    markers,
    gutter({
      class: "cm-thread-gutter",
      markers: (v) => v.state.field(markers),
      domEventHandlers: {
        mousedown(view, line) {
          let found: ThreadMarker | null = null;
          view.state.field(markers).between(line.from, line.from, (_f, _t, m) => {
            found = m;
            return false;
          });
          if (!found) return false;
          onOpen((found as ThreadMarker).m.ids, line.from, view);
          return true;
        },
      },
    }),
    EditorView.theme({
      ".cm-thread-gutter": { width: "14px" },
      ".cm-thread-gutter .cm-gutterElement": { display: "flex", alignItems: "center", justifyContent: "center", cursor: "pointer" },
      ".cm-thread-marker": { display: "inline-block", width: "8px", height: "8px", borderRadius: "50%" },
      ".cm-thread-marker.dimmed": { opacity: "0.35" },
    }),
  ];
}
