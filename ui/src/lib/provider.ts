// One file's Yjs replica, kept in sync with the engine through a `Transport` (the Tauri commands
// in the app, a fake in the tests). Local edits are sent as Yjs updates, in order, coalescing
// small bursts; changes from elsewhere are pulled as the diff against our state vector and applied
// with the provider as origin, so they are never sent back.

import * as Y from "yjs";

/** What the provider needs from the engine (src-tauri/src/commands/docs.rs). */
export interface Transport {
  /** A Yjs client id reserved for one replica. */
  newClientId(): Promise<number>;
  /** What a replica with state vector `sv` misses of `doc` (empty sv: the whole document). */
  docDiff(doc: string, sv: Uint8Array): Promise<Uint8Array>;
  /** Stores an update made by the replica; resolves once stored. */
  applyUpdate(doc: string, update: Uint8Array): Promise<void>;
}

export interface ProviderOptions {
  /** Local updates made within this many ms (default: one 60 Hz frame) are sent together. */
  coalesceMs?: number;
  /** Delay before the first retry of a failed send; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Told once per failure streak (the UI shows it in the window). */
  onError?: (message: string, error: unknown) => void;
  /** Told when sending works again after an error. */
  onRecovered?: () => void;
}

/** The document id of a workspace file. */
export function docId(path: string): string {
  return `f:${path}`;
}

export class DocProvider {
  readonly ydoc: Y.Doc;
  readonly ytext: Y.Text;
  readonly doc: string;
  private readonly opts: Required<Omit<ProviderOptions, "onError" | "onRecovered">> & ProviderOptions;
  /** Local updates not sent yet, oldest first. */
  private pending: Uint8Array[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private sending: Promise<void> | null = null;
  private failing = false;
  private catching: Promise<void> | null = null;
  private catchAgain = false;
  private destroyed = false;
  private closing = false;

  private constructor(
    readonly path: string,
    private readonly transport: Transport,
    clientId: number,
    opts: ProviderOptions,
  ) {
    this.doc = docId(path);
    this.opts = { coalesceMs: 16, retryMs: 250, maxRetryMs: 5000, ...opts };
    this.ydoc = new Y.Doc();
    this.ydoc.clientID = clientId;
    this.ytext = this.ydoc.getText("content");
    this.ydoc.on("update", this.onUpdate);
  }

  /** A replica of `path` with its own client id, loaded with the whole document. */
  static async open(path: string, transport: Transport, opts: ProviderOptions = {}): Promise<DocProvider> {
    const id = await transport.newClientId();
    const p = new DocProvider(path, transport, id, opts);
    const whole = await transport.docDiff(p.doc, new Uint8Array());
    Y.applyUpdate(p.ydoc, whole, p);
    return p;
  }

  private onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === this || this.destroyed) return;
    this.pending.push(update);
    if (!this.timer && !this.sending) this.timer = setTimeout(() => void this.send(), this.opts.coalesceMs);
  };

  /** Whether local edits are waiting to be stored. */
  get dirty(): boolean {
    return this.pending.length > 0 || this.sending !== null;
  }

  /** Sends what is pending now; resolves once everything queued so far is stored. */
  async flush(): Promise<void> {
    while (this.dirty) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      await (this.sending ?? this.send());
    }
  }

  /** The single sender: one update (the merged queue) in flight at a time, so order is kept. */
  private send(): Promise<void> {
    if (this.sending) return this.sending;
    this.timer = null;
    this.sending = (async () => {
      let delay = this.opts.retryMs;
      while (this.pending.length > 0) {
        const batch = this.pending;
        const update = batch.length === 1 ? batch[0] : Y.mergeUpdates(batch);
        this.pending = [];
        try {
          await this.transport.applyUpdate(this.doc, update);
          delay = this.opts.retryMs;
          if (this.failing) {
            this.failing = false;
            this.opts.onRecovered?.();
          }
        } catch (e) {
          // Keep it at the head of the queue, before anything typed meanwhile.
          this.pending = [update, ...this.pending];
          if (this.closing) {
            this.pending = [];
            this.opts.onError?.(`Could not save the last edits to ${this.path}`, e);
            return;
          }
          if (!this.failing) {
            this.failing = true;
            this.opts.onError?.(`Could not save ${this.path}; retrying`, e);
          }
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, this.opts.maxRetryMs);
        }
      }
    })().finally(() => {
      this.sending = null;
    });
    return this.sending;
  }

  /** Pulls what changed elsewhere (after `file_changed` from a peer or the disk). Calls made
   * while one runs are folded into one more pull. */
  catchUp(): Promise<void> {
    if (this.catching) {
      this.catchAgain = true;
      return this.catching;
    }
    this.catching = (async () => {
      do {
        this.catchAgain = false;
        if (this.destroyed) return;
        try {
          const diff = await this.transport.docDiff(this.doc, Y.encodeStateVector(this.ydoc));
          if (!this.destroyed) Y.applyUpdate(this.ydoc, diff, this);
        } catch (e) {
          this.opts.onError?.(`Could not get the latest ${this.path}`, e);
          return;
        }
      } while (this.catchAgain);
    })().finally(() => {
      this.catching = null;
    });
    return this.catching;
  }

  /** Sends what is pending, then stops listening. */
  async destroy(): Promise<void> {
    if (this.destroyed || this.closing) return;
    this.closing = true;
    try {
      await this.flush();
    } finally {
      this.destroyed = true;
      if (this.timer) clearTimeout(this.timer);
      this.ydoc.off("update", this.onUpdate);
      this.ydoc.destroy();
    }
  }
}
