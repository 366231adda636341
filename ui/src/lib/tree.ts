// The file tree as rows to draw: folders before files, each level sorted by name.

export interface TreeRow {
  kind: "dir" | "file";
  name: string;
  /** Workspace-relative path (of the folder, for a folder). */
  path: string;
  depth: number;
}

interface Dir {
  dirs: Map<string, Dir>;
  files: string[];
}

export function treeRows(paths: readonly string[]): TreeRow[] {
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
      rows.push({ kind: "dir", name, path, depth });
      walk(d.dirs.get(name) as Dir, path + "/", depth + 1);
    }
    for (const name of [...d.files].sort()) rows.push({ kind: "file", name, path: prefix + name, depth });
  };
  walk(root, "", 0);
  return rows;
}
