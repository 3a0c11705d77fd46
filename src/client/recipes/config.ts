/**
 * Configuration management: a typed configuration object that stays current. Each field lives in
 * a key under a prefix and has a parser and a default; the object is loaded once and then kept up
 * to date by a watch on the prefix (which resumes across failures; after a compaction the whole
 * prefix is read again). A value that does not parse keeps the field's previous value and is
 * reported, so a bad edit cannot take a running service down.
 */
import type { BulwarkClient } from '../client.js';
import { errorMessage } from '../../core/errors.js';
import { text } from '../kv.js';
import type { Watcher } from '../watch.js';

export interface ConfigField<T> {
  /** The key under the prefix. */
  readonly key: string;
  readonly parse: (value: string) => T;
  readonly default: T;
}

export type ConfigSchema<C> = { readonly [K in keyof C]: ConfigField<C[K]> };

export type ConfigChange<C> =
  | { readonly type: 'changed'; readonly config: Readonly<C>; readonly fields: readonly (keyof C)[]; readonly revision: number }
  | { readonly type: 'invalid'; readonly field: keyof C; readonly value: string; readonly error: string };

/** Parsers for the common cases. */
export const parsers = {
  string: (v: string): string => v,
  number: (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`"${v}" is not a number`);
    return n;
  },
  boolean: (v: string): boolean => {
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new Error(`"${v}" is not true or false`);
  },
  json: <T>(v: string): T => JSON.parse(v) as T,
};

export class ConfigWatcher<C> {
  private value: C;
  private readonly listeners = new Set<(c: ConfigChange<C>) => void>();
  private watcher: Watcher | null = null;
  private stopped = false;
  /** Resolves with the configuration once it has been read. */
  readonly ready: Promise<Readonly<C>>;
  private revisionValue = 0;

  constructor(
    private readonly client: BulwarkClient,
    private readonly prefix: string,
    private readonly schema: ConfigSchema<C>,
  ) {
    this.value = Object.fromEntries(Object.entries(schema).map(([f, s]) => [f, (s as ConfigField<unknown>).default])) as C;
    this.ready = this.run();
    this.ready.catch(() => {});
  }

  /** The configuration now. */
  get current(): Readonly<C> {
    return this.value;
  }

  /** The revision the configuration reflects. */
  get revision(): number {
    return this.revisionValue;
  }

  on(listener: (c: ConfigChange<C>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.stopped = true;
    this.watcher?.close();
  }

  private fieldOf(key: string): keyof C | undefined {
    for (const f of Object.keys(this.schema) as (keyof C)[]) if (this.prefix + this.schema[f].key === key) return f;
    return undefined;
  }

  /** Applies one key's value (undefined: deleted, back to the default). Returns the field if it changed. */
  private apply(key: string, raw: string | undefined): keyof C | undefined {
    const f = this.fieldOf(key);
    if (f === undefined) return undefined;
    const spec = this.schema[f];
    let next: C[keyof C];
    if (raw === undefined) next = spec.default;
    else {
      try {
        next = spec.parse(raw);
      } catch (e) {
        this.emit({ type: 'invalid', field: f, value: raw, error: errorMessage(e) });
        return undefined;
      }
    }
    if (Object.is(next, this.value[f]) || JSON.stringify(next) === JSON.stringify(this.value[f])) return undefined;
    this.value = { ...this.value, [f]: next };
    return f;
  }

  private emit(c: ConfigChange<C>): void {
    for (const l of [...this.listeners]) l(c);
  }

  private async load(): Promise<number> {
    const r = await this.client.get(this.prefix, { prefix: true });
    const seen = new Set<string>();
    const changed: (keyof C)[] = [];
    for (const kv of r.kvs) {
      const key = text(kv.key);
      seen.add(key);
      const f = this.apply(key, text(kv.value));
      if (f !== undefined) changed.push(f);
    }
    for (const f of Object.keys(this.schema) as (keyof C)[]) {
      if (!seen.has(this.prefix + this.schema[f].key)) {
        const g = this.apply(this.prefix + this.schema[f].key, undefined);
        if (g !== undefined) changed.push(g);
      }
    }
    this.revisionValue = r.header?.revision ?? 0;
    if (changed.length > 0) this.emit({ type: 'changed', config: this.value, fields: changed, revision: this.revisionValue });
    return this.revisionValue;
  }

  private async run(): Promise<Readonly<C>> {
    let revision = await this.load();
    void (async () => {
      while (!this.stopped) {
        const w = this.client.watch(this.prefix, { prefix: true, startRevision: revision + 1 });
        this.watcher = w;
        try {
          for await (const item of w) {
            if (item.type === 'compacted') break;
            if (item.type !== 'events') continue;
            const changed: (keyof C)[] = [];
            for (const e of item.events) {
              const f = this.apply(text(e.kv!.key), e.type === 1 ? undefined : text(e.kv!.value));
              if (f !== undefined && !changed.includes(f)) changed.push(f);
            }
            this.revisionValue = item.revision;
            if (changed.length > 0) this.emit({ type: 'changed', config: this.value, fields: changed, revision: item.revision });
          }
        } catch {
          // The client closed, or the watch was cancelled for good: stop.
          return;
        }
        if (this.stopped) return;
        revision = await this.load().catch(() => revision);
      }
    })();
    return this.value;
  }
}

/** A configuration object kept current from the keys under `prefix`. */
export function watchConfig<C>(client: BulwarkClient, prefix: string, schema: ConfigSchema<C>): ConfigWatcher<C> {
  return new ConfigWatcher(client, prefix, schema);
}
