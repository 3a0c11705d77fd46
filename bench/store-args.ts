/** Flags shared by the in-process store benchmarks (bench/kv.ts, bench/etcd-api.ts). */

export interface StoreBenchArgs {
  keys: number;
  valueBytes: number;
  json: boolean;
}

/** Parses `--keys N --value-bytes N --json`; `--help` prints `usage` and exits. */
export function parseStoreBenchArgs(argv: readonly string[], defaults: { keys: number }, usage: string): StoreBenchArgs {
  const a: StoreBenchArgs = { keys: defaults.keys, valueBytes: 256, json: false };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '--keys') a.keys = Number(argv[++i]);
    else if (f === '--value-bytes') a.valueBytes = Number(argv[++i]);
    else if (f === '--json') a.json = true;
    else if (f === '--help' || f === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    } else throw new Error(`unknown flag ${f}`);
  }
  if (!Number.isSafeInteger(a.keys) || a.keys < 1000 || !Number.isSafeInteger(a.valueBytes) || a.valueBytes < 0) throw new Error('bad --keys or --value-bytes');
  return a;
}
