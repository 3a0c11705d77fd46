/**
 * etcdctl's txn input: compares, a blank line, success requests, a blank line, failure requests,
 * a blank line. A compare is `target("key") op "value"` (targets value/val, version/ver,
 * create/c, mod/m, lease; ops = != < >); a request is a put, get or del command line with its
 * flags, arguments split as etcdctl's Argify splits them (double or single quotes group words).
 */
import type { CompareInit, RequestOpInit } from '../api/proto/generated/etcdserverpb.js';
import { Compare_CompareResult, Compare_CompareTarget } from '../api/proto/generated/etcdserverpb.js';
import { toBytes } from '../client/kv.js';
import { delRequest, DEL_FLAGS } from './cmd-del.js';
import { getRequest, GET_FLAGS } from './cmd-get.js';
import { putRequest, PUT_FLAGS } from './cmd-put.js';
import { CtlError, Exit, parseFlags, type FlagSpecs } from './ctl-flags.js';
import { goQuote } from './ctl-format.js';

/** Reads a Go quoted string (double-quoted with escapes, or back-quoted) at `s[i]`; returns it and the index after it. */
export function readGoQuoted(s: string, i: number): { value: string; end: number } | null {
  const q = s[i];
  if (q === '`') {
    const close = s.indexOf('`', i + 1);
    return close < 0 ? null : { value: s.slice(i + 1, close), end: close + 1 };
  }
  if (q !== '"') return null;
  const bytes: number[] = [];
  const pushText = (t: string): void => {
    for (const b of Buffer.from(t, 'utf8')) bytes.push(b);
  };
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (c === '"') return { value: Buffer.from(bytes).toString('utf8'), end: j + 1 };
    if (c === '\n') return null;
    if (c !== '\\') {
      pushText(c);
      continue;
    }
    const e = s[++j];
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39 };
    if (e !== undefined && simple[e] !== undefined) {
      bytes.push(simple[e]!);
      continue;
    }
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const h = s.slice(j + 1, j + 1 + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(h)) return null;
      if (e === 'x') bytes.push(parseInt(h, 16));
      else pushText(String.fromCodePoint(parseInt(h, 16)));
      j += hexLen;
      continue;
    }
    if (e !== undefined && /[0-7]/.test(e)) {
      const o = s.slice(j, j + 3);
      if (!/^[0-7]{3}$/.test(o)) return null;
      bytes.push(parseInt(o, 8));
      j += 2;
      continue;
    }
    return null;
  }
  return null;
}

/** etcdctl's Argify: words, with "double" (Go-unquoted) and 'single' quotes grouping. */
export function argify(line: string): string[] {
  const out: string[] = [];
  const re = /"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?/g;
  for (const m of line.matchAll(re)) {
    const a = m[0];
    if (a.startsWith("'")) out.push(a.slice(1, -1));
    else if (a.startsWith('"')) out.push(readGoQuoted(a, 0)?.value ?? a);
    else out.push(a);
  }
  return out;
}

const OPS: Record<string, number> = { '=': Compare_CompareResult.EQUAL, '!=': Compare_CompareResult.NOT_EQUAL, '<': Compare_CompareResult.LESS, '>': Compare_CompareResult.GREATER };

export function parseCompare(line: string): CompareInit {
  const paren = line.indexOf('(');
  if (paren < 0) throw new CtlError(`malformed comparison: ${line}`, Exit.invalidInput);
  const target = line.slice(0, paren);
  const key = readGoQuoted(line, paren + 1);
  const rest = key === null ? null : line.slice(key.end);
  const m = rest === null ? null : /^\)\s+(\S+)\s+/.exec(rest);
  const value = m === null || rest === null ? null : readGoQuoted(rest, m[0].length);
  if (key === null || m === null || value === null) {
    // etcdctl reports what its Sscanf got before it stopped.
    throw new CtlError(`malformed comparison: ${line}; got ${target}(${goQuote(key?.value ?? '')}) ${m?.[1] ?? ''} ${goQuote(value?.value ?? '')}`, Exit.invalidInput);
  }
  const op = OPS[m[1]!];
  if (op === undefined) throw new CtlError(`malformed comparison: ${line} (unknown op ${m[1]!})`, Exit.invalidInput);
  const k = toBytes(key.value);
  const v = value.value;
  const int = (base: 10 | 16): number | bigint => {
    const ok = base === 10 ? /^[+-]?\d+$/.test(v) : /^[0-9a-fA-F]+$/.test(v);
    if (!ok) throw new CtlError(`invalid txn compare request: ${line}`, Exit.invalidInput);
    return base === 10 ? Number(v) : BigInt.asIntN(64, BigInt(`0x${v}`));
  };
  switch (target) {
    case 'ver':
    case 'version':
      return { key: k, result: op, target: Compare_CompareTarget.VERSION, targetUnion: { type: 'version', value: int(10) as number } };
    case 'c':
    case 'create':
      return { key: k, result: op, target: Compare_CompareTarget.CREATE, targetUnion: { type: 'createRevision', value: int(10) as number } };
    case 'm':
    case 'mod':
      return { key: k, result: op, target: Compare_CompareTarget.MOD, targetUnion: { type: 'modRevision', value: int(10) as number } };
    case 'val':
    case 'value':
      return { key: k, result: op, target: Compare_CompareTarget.VALUE, targetUnion: { type: 'value', value: toBytes(v) } };
    case 'lease':
      return { key: k, result: op, target: Compare_CompareTarget.LEASE, targetUnion: { type: 'lease', value: int(16) as bigint } };
    default:
      throw new CtlError(`malformed comparison: ${line} (unknown target ${target})`, Exit.invalidInput);
  }
}

export function parseRequest(line: string): RequestOpInit {
  const args = argify(line);
  if (args.length < 2) throw new CtlError(`invalid txn compare request: ${line}`, Exit.invalidInput);
  const specs: Record<string, FlagSpecs> = { put: PUT_FLAGS, get: GET_FLAGS, del: DEL_FLAGS };
  const cmd = args[0]!;
  const spec = specs[cmd];
  if (spec === undefined) throw new CtlError(`invalid txn request: ${line}`, Exit.invalidInput);
  let p: ReturnType<typeof parseFlags>;
  try {
    p = parseFlags(args.slice(1), spec);
  } catch {
    throw new CtlError(`invalid txn request: ${line}`, Exit.invalidInput);
  }
  // An argument error of the request itself ends the command with that request's own error, as in etcdctl.
  const positional = [...p.args, ...(p.rest ?? [])];
  switch (cmd) {
    case 'put':
      return { request: { type: 'requestPut', value: putRequest(positional, p.flags, null) } };
    case 'get':
      return { request: { type: 'requestRange', value: getRequest(positional, p.flags) } };
    default:
      return { request: { type: 'requestDeleteRange', value: delRequest(positional, p.flags) } };
  }
}

export interface TxnScript {
  readonly compares: CompareInit[];
  readonly success: RequestOpInit[];
  readonly failure: RequestOpInit[];
}

/** Parses the whole input; running out of lines before a section's blank line is etcdctl's "EOF". */
export function parseTxnScript(input: string, onSection?: (section: 0 | 1 | 2) => void): TxnScript {
  // Only complete lines count: Go's ReadString('\n') fails at a last line without its newline.
  const lines = input.split('\n');
  lines.pop();
  let pos = 0;
  const section = <T>(n: 0 | 1 | 2, parse: (l: string) => T): T[] => {
    onSection?.(n);
    const out: T[] = [];
    while (true) {
      if (pos >= lines.length) throw new CtlError('EOF', Exit.invalidInput);
      const line = lines[pos++]!.trim();
      if (line === '') return out;
      out.push(parse(line));
    }
  };
  const compares = section(0, parseCompare);
  const success = section(1, parseRequest);
  const failure = section(2, parseRequest);
  return { compares, success, failure };
}
