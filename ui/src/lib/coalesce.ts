// Reads that must not pile up.

/** Runs `read` with at most one run in flight: calls made meanwhile fold into one more run
 * after it. Events come in bursts (a `git checkout` of a thousand files is a thousand
 * `file_created`), and each read of the status carries every file of the workspace. */
export function coalesced(read: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = read().finally(() => {
      running = null;
      if (again) {
        again = false;
        void run();
      }
    });
    return running;
  };
  return run;
}
