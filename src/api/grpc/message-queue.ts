/**
 * Inbound messages of a streaming call as an async iterable. Flow control bounds it: a message's
 * bytes return to the peer's window (`onTaken`) only when the consumer takes it, so a consumer
 * that stops reading stops the peer after one window, and the queue never grows beyond that.
 */
import { assert } from '../../core/assert.js';

interface Waiter<T> {
  resolve(r: IteratorResult<T>): void;
  reject(e: unknown): void;
}

export class MessageQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private readonly withheldBytes: number[] = [];
  private head = 0;
  private waiter: Waiter<T> | null = null;
  private ended = false;
  private error: unknown = undefined;
  private iterating = false;

  /** `onTaken(n)` returns n withheld bytes to the flow-control window. */
  /** `onAbandon` runs when the consumer stops early (break out of for-await). */
  constructor(
    private readonly onTaken: (bytes: number) => void,
    private readonly onAbandon?: () => void,
  ) {}

  get queued(): number {
    return this.items.length - this.head;
  }

  push(item: T, withheldBytes: number): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      if (withheldBytes > 0) this.onTaken(withheldBytes);
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    this.withheldBytes.push(withheldBytes);
  }

  /** No more messages: the iterator finishes after the queued ones. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
  }

  /** The iterator throws `error` after the queued messages (or at once with `discard`). */
  fail(error: unknown, discard = true): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    if (discard) {
      this.items.length = 0;
      this.withheldBytes.length = 0;
      this.head = 0;
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (w === null) return;
    this.waiter = null;
    if (this.error !== undefined) w.reject(this.error);
    else w.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const item = this.items[this.head]!;
      const bytes = this.withheldBytes[this.head]!;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.withheldBytes.length = 0;
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.withheldBytes.splice(0, this.head);
        this.head = 0;
      }
      if (bytes > 0) this.onTaken(bytes);
      return Promise.resolve({ value: item, done: false });
    }
    if (this.ended) return this.error !== undefined ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    assert(this.waiter === null, 'one reader at a time');
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    assert(!this.iterating, 'a message stream can be iterated once');
    this.iterating = true;
    return {
      next: () => this.next(),
      return: () => {
        const wasEnded = this.ended;
        this.fail(undefined);
        this.ended = true;
        if (!wasEnded) this.onAbandon?.();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
