/**
 * An async mutual-exclusion lock: a volume's operations take it so that stripe updates, flushes,
 * rebuild steps and scrub steps never interleave across an await. FIFO, so a flush queued behind
 * writes runs after them and group-commits them.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private held = false;

  get locked(): boolean {
    return this.held;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      this.held = true;
      try {
        return await fn();
      } finally {
        this.held = false;
      }
    });
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
