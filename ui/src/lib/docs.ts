// The Yjs replicas of the open files: one `DocProvider` per tab, over the Tauri commands.
// Opened on first show, caught up on changes from elsewhere, flushed and dropped when the tab
// closes.

import { api, errorText } from "./api";
import { DocProvider, type Transport } from "./provider";
import { openFiles, showError, showInfo } from "./stores";

const transport: Transport = {
  newClientId: api.newClientId,
  docDiff: api.docDiff,
  applyUpdate: api.applyUpdate,
};

const providers = new Map<string, Promise<DocProvider>>();

/** The replica of `path`, opened (and loaded) on first use. */
export function providerFor(path: string): Promise<DocProvider> {
  let p = providers.get(path);
  if (!p) {
    p = DocProvider.open(path, transport, {
      onError: (message, e) => showError(`${message}: ${errorText(e)}`),
      onRecovered: () => showInfo(`${path} is saved again`),
    });
    providers.set(path, p);
    p.catch(() => providers.delete(path)); // let a later attempt retry
  }
  return p;
}

/** Pulls what changed elsewhere into an open file's replica (no-op if it is not open). */
export function catchUp(path: string): void {
  providers.get(path)?.then((p) => p.catchUp(), () => {});
}

/** Flushes and drops one replica. */
export async function closeDoc(path: string): Promise<void> {
  const p = providers.get(path);
  if (!p) return;
  providers.delete(path);
  try {
    await (await p).destroy();
  } catch {
    // It never opened, or its last edits could not be saved (already reported).
  }
}

/** Flushes and drops every replica (before the workspace closes). */
export async function closeAllDocs(): Promise<void> {
  await Promise.all([...providers.keys()].map(closeDoc));
}

// A closed tab drops its replica.
openFiles.subscribe((open) => {
  for (const path of [...providers.keys()]) if (!open.includes(path)) void closeDoc(path);
});
