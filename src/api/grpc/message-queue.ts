/**
 * Inbound messages of a streaming call as an async iterable. Flow control bounds it: received
 * bytes return to the peer's window (`onCredit`) only while they exceed the bytes of messages
 * waiting to be taken. Bytes of a message still being assembled are returned at once (a message
 * may be larger than the window), but only while the queue is empty; so a consumer that stops
 * reading stops the peer after about one window plus one message.
 */
import { assert } from '../../core/assert.js';

interface Waiter<T> {
  resolve(r: IteratorResult<T>): void;
  reject(e: unknown): void;
}

export class MessageQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private readonly sizes: number[] = [];
  /** Received and not yet returned to the peer. */
  private heldBytes = 0;
  /** Sizes (with their 5-byte prefixes) of the messages in the queue. */
  private queuedBytes = 0;
  private head = 0;
  private waiter: Waiter<T> | null = null;
  private ended = false;
  private error: unknown = undefined;
  private iterating = false;

  /**
   * `onCredit(n)` returns n bytes to the peer's flow-control window; `onAbandon` runs when the
   * consumer stops early (a break out of for-await).
   */
  constructor(
    private readonly onCredit: (bytes: number) => void,
    private readonly onAbandon?: () => void,
  ) {}

  get queued(): number {
    return this.items.length - this.head;
  }

  /** A DATA payload of `n` bytes arrived (after its messages were pushed). */
  received(n: number): void {
    this.heldBytes += n;
    this.settle();
  }

  private settle(): void {
    const excess = this.heldBytes - this.queuedBytes;
    if (excess > 0) {
      this.heldBytes -= excess;
      this.onCredit(excess);
    }
  }

  /** A complete message of `sizeBytes` on the wire. */
  push(item: T, sizeBytes: number): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    this.sizes.push(sizeBytes);
    this.queuedBytes += sizeBytes;
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
      this.sizes.length = 0;
      this.head = 0;
      this.queuedBytes = 0;
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
      const bytes = this.sizes[this.head]!;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.sizes.length = 0;
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.sizes.splice(0, this.head);
        this.head = 0;
      }
      this.queuedBytes -= bytes;
      this.settle();
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
