/**
 * Text formats the client commands share with etcdctl, which is written in Go: Go's %q quoting,
 * encoding/json's output (HTML-safe strings, base64 bytes, 64-bit numbers written exactly, fields
 * in declaration order, omitempty), go-humanize's byte sizes, time.Duration's String, and the
 * right-aligned tables etcdctl draws.
 */

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Go's strconv.Quote of a byte string (`%q` of `string(b)`). */
export function goQuote(b: Uint8Array | string): string {
  const bytes = typeof b === 'string' ? new TextEncoder().encode(b) : b;
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      switch (c) {
        case 0x07:
          out += '\\a';
          break;
        case 0x08:
          out += '\\b';
          break;
        case 0x0c:
          out += '\\f';
          break;
        case 0x0a:
          out += '\\n';
          break;
        case 0x0d:
          out += '\\r';
          break;
        case 0x09:
          out += '\\t';
          break;
        case 0x0b:
          out += '\\v';
          break;
        case 0x22:
          out += '\\"';
          break;
        case 0x5c:
          out += '\\\\';
          break;
        default:
          out += c < 0x20 || c === 0x7f ? `\\x${c.toString(16).padStart(2, '0')}` : String.fromCharCode(c);
      }
      continue;
    }
    // A multi-byte sequence: printable runes as they are, invalid bytes as \x.
    const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    let rune: string | null = null;
    if (len > 1 && i + len <= bytes.length) {
      try {
        rune = decoder.decode(bytes.subarray(i, i + len));
      } catch {
        rune = null;
      }
    }
    if (rune === null || rune.length === 0) {
      out += `\\x${c.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    const cp = rune.codePointAt(0)!;
    if (/\p{L}|\p{M}|\p{N}|\p{P}|\p{S}|\u0020/u.test(rune)) out += rune;
    else out += cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
    i += len;
  }
  return out + '"';
}

/** Go's fmt of a []string with %v: "[a b c]". */
export function goStrings(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

/** Formats `x` with `digits` decimals the way Go does: exact decimal value, ties to even. */
export function goFixed(x: number, digits: number): string {
  const scale = 10 ** digits;
  const scaled = x * scale;
  const floor = Math.floor(scaled);
  if (scaled - floor === 0.5) {
    const even = floor % 2 === 0 ? floor : floor + 1;
    return (even / scale).toFixed(digits);
  }
  return x.toFixed(digits);
}

/** go-humanize's Bytes: SI units, "20 kB", "1.5 MB". */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? goFixed(val, 1) : goFixed(val, 0)} ${sizes[e]}`;
}

/** Go's time.Duration.String for a duration in milliseconds ("3.103849ms", "1.5s", "850µs"). */
export function goDuration(ms: number): string {
  const ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  const trim = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (ns < 1000) return `${ns}ns`;
  if (ns < 1_000_000) return `${trim((ns / 1000).toFixed(3))}µs`;
  if (ns < 1_000_000_000) return `${trim((ns / 1e6).toFixed(6))}ms`;
  let rest = ns;
  const h = Math.floor(rest / 3.6e12);
  rest -= h * 3.6e12;
  const m = Math.floor(rest / 6e10);
  rest -= m * 6e10;
  const s = trim((rest / 1e9).toFixed(9));
  return `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${s}s`;
}

/** %x of a uint64 (no padding); `width` pads with spaces as %16x does. */
export function hex(v: bigint, width = 0): string {
  return BigInt.asUintN(64, v).toString(16).padStart(width, ' ');
}

/** %016x of a lease or member id. */
export function hex16(v: bigint): string {
  return BigInt.asUintN(64, v).toString(16).padStart(16, '0');
}

// ---- encoding/json -----------------------------------------------------------------------------

/** A JSON value already encoded, or undefined for a field omitted by omitempty. */
export type Json = string | undefined;

/** A Go string as encoding/json writes it (HTML characters and line separators escaped). */
export function jStr(s: string, omitEmpty = true): Json {
  if (omitEmpty && s === '') return undefined;
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function jNum(n: number | bigint, omitEmpty = true): Json {
  if (omitEmpty && (n === 0 || n === 0n)) return undefined;
  return typeof n === 'bigint' ? n.toString() : String(n);
}

/** A uint64 field (member and cluster ids): the decoded bigint's unsigned value. */
export function jU64(n: bigint, omitEmpty = true): Json {
  return jNum(BigInt.asUintN(64, n), omitEmpty);
}

export function jBool(b: boolean, omitEmpty = true): Json {
  if (omitEmpty && !b) return undefined;
  return b ? 'true' : 'false';
}

/** []byte: base64. */
export function jBytes(b: Uint8Array, omitEmpty = true): Json {
  if (omitEmpty && b.length === 0) return undefined;
  return JSON.stringify(Buffer.from(b).toString('base64'));
}

/** A slice: omitted when empty with omitempty, `null` when empty without. */
export function jArr(items: readonly string[], omitEmpty = true): Json {
  if (items.length === 0) return omitEmpty ? undefined : 'null';
  return `[${items.join(',')}]`;
}

export function jObj(fields: readonly (readonly [string, Json])[]): string {
  return `{${fields
    .filter((f) => f[1] !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(',')}}`;
}

// ---- Tables ------------------------------------------------------------------------------------

/** A table as etcdctl draws it: upper-case centered headers, right-aligned cells, +---+ borders. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const heads = header.map((h) => h.toUpperCase());
  const widths = heads.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const center = (s: string, w: number): string => {
    const gap = w - s.length;
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + s + ' '.repeat(gap - left);
  };
  const out = [line, `|${heads.map((h, i) => ` ${center(h, widths[i]!)} `).join('|')}|`, line];
  for (const r of rows) out.push(`|${widths.map((w, i) => ` ${(r[i] ?? '').padStart(w)} `).join('|')}|`);
  out.push(line);
  return out.join('\n') + '\n';
}
