// The file tree as rows to draw: folders before files, each level sorted by name; the contents
// of collapsed folders left out (a workspace of thousands of files draws a few dozen rows).

export interface TreeRow {
  kind: "dir" | "file";
  name: string;
  /** Workspace-relative path (of the folder, for a folder). */
  path: string;
  depth: number;
  /** For a folder: whether its contents are shown. */
  open?: boolean;
}

/** Workspaces with more files than this start with every folder collapsed. */
export const COLLAPSE_ABOVE = 200;

interface Dir {
  dirs: Map<string, Dir>;
  files: string[];
}

export function treeRows(paths: readonly string[], collapsed: ReadonlySet<string> = new Set()): TreeRow[] {
  const root: Dir = { dirs: new Map(), files: [] };
  for (const p of paths) {
    const parts = p.split("/").filter((s) => s.length > 0);
    const file = parts.pop();
    if (!file) continue;
    let d = root;
    for (const part of parts) {
      let next = d.dirs.get(part);
      if (!next) {
        next = { dirs: new Map(), files: [] };
        d.dirs.set(part, next);
      }
      d = next;
    }
    d.files.push(file);
  }
  const rows: TreeRow[] = [];
  const walk = (d: Dir, prefix: string, depth: number) => {
    for (const name of [...d.dirs.keys()].sort()) {
      const path = prefix + name;
      const open = !collapsed.has(path);
      rows.push({ kind: "dir", name, path, depth, open });
      if (open) walk(d.dirs.get(name) as Dir, path + "/", depth + 1);
    }
    for (const name of [...d.files].sort()) rows.push({ kind: "file", name, path: prefix + name, depth });
  };
  walk(root, "", 0);
  return rows;
}

/** Every folder of `paths` (for collapsing them all). */
export function allDirs(paths: readonly string[]): Set<string> {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.split("/").filter((s) => s.length > 0);
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return dirs;
}

/** `collapsed` without the folders that hold `path`, so that it shows. */
export function revealPath(collapsed: ReadonlySet<string>, path: string): Set<string> {
  const next = new Set(collapsed);
  const parts = path.split("/").filter((s) => s.length > 0);
  for (let i = 1; i < parts.length; i++) next.delete(parts.slice(0, i).join("/"));
  return next;
}
