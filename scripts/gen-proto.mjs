#!/usr/bin/env node
// Generates specialized TypeScript encoders and decoders from the .proto files in proto/ into
// src/api/proto/generated/ (committed). Handles the proto3 subset the etcd API uses: messages,
// nested messages and enums, enums, repeated fields (packed and unpacked on decode, packed on
// encode), oneof, bytes, string, bool, int32/uint32/int64/uint64, and services.
//
// 64-bit integers become bigint, or number with `[jstype = JS_NUMBER]` (range-checked on decode).
//
//   node scripts/gen-proto.mjs            regenerate src/api/proto/generated
//   node scripts/gen-proto.mjs --out DIR  write elsewhere (the test compares the two)
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const protoDir = join(root, 'proto');
const outArg = process.argv.indexOf('--out');
const outDir = outArg >= 0 ? resolve(process.argv[outArg + 1]) : join(root, 'src/api/proto/generated');

// ---------------------------------------------------------------------------------------------
// Parsing.

function tokenize(text, file) {
  const tokens = [];
  const re = /\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_][A-Za-z0-9_.]*|-?\d+|[{}[\]()<>;=,.]/gy;
  let m;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    m = re.exec(text);
    if (m === null) throw new Error(`${file}: cannot parse near "${text.slice(pos, pos + 20)}"`);
    pos = re.lastIndex;
    const t = m[0];
    if (/^\s/.test(t) || t.startsWith('//') || t.startsWith('/*')) continue;
    tokens.push(t);
  }
  return tokens;
}

function parseFile(file) {
  const toks = tokenize(readFileSync(file, 'utf8'), file);
  let i = 0;
  const peek = () => toks[i];
  const next = () => toks[i++];
  const expect = (t) => {
    const got = next();
    if (got !== t) throw new Error(`${file}: expected "${t}", got "${got}" (token ${i})`);
  };
  const skipOptionBody = () => {
    // option x = value;  (value may be an aggregate in braces)
    let depth = 0;
    for (;;) {
      const t = next();
      if (t === '{') depth++;
      if (t === '}') depth--;
      if (t === ';' && depth === 0) return;
    }
  };
  const parseFieldOptions = () => {
    const opts = {};
    if (peek() !== '[') return opts;
    next();
    for (;;) {
      const name = next();
      expect('=');
      opts[name] = next();
      const t = next();
      if (t === ']') break;
      if (t !== ',') throw new Error(`${file}: bad field options`);
    }
    return opts;
  };
  const result = { file, package: '', imports: [], messages: [], enums: [], services: [] };

  function parseEnum(scope) {
    const name = next();
    expect('{');
    const values = [];
    while (peek() !== '}') {
      const t = next();
      if (t === 'option' || t === 'reserved') {
        skipOptionBody();
        continue;
      }
      expect('=');
      const number = Number(next());
      parseFieldOptions();
      expect(';');
      values.push({ name: t, number });
    }
    expect('}');
    return { name, fullName: `${scope}.${name}`, values };
  }

  function parseMessage(scope) {
    const name = next();
    const fullName = `${scope}.${name}`;
    const msg = { name, fullName, fields: [], oneofs: [], messages: [], enums: [] };
    expect('{');
    const parseField = (oneof) => {
      let label = '';
      let type = next();
      if (type === 'repeated' || type === 'optional') {
        label = type;
        type = next();
      }
      if (type === 'map') throw new Error(`${file}: map fields are not supported`);
      const fname = next();
      expect('=');
      const number = Number(next());
      const options = parseFieldOptions();
      expect(';');
      if (label === 'optional') throw new Error(`${file}: proto3 optional is not supported (${fname})`);
      msg.fields.push({ name: fname, number, type, repeated: label === 'repeated', options, oneof });
    };
    while (peek() !== '}') {
      const t = peek();
      if (t === 'message') {
        next();
        msg.messages.push(parseMessage(fullName));
      } else if (t === 'enum') {
        next();
        msg.enums.push(parseEnum(fullName));
      } else if (t === 'oneof') {
        next();
        const oname = next();
        msg.oneofs.push(oname);
        expect('{');
        while (peek() !== '}') parseField(oname);
        expect('}');
      } else if (t === 'option' || t === 'reserved' || t === 'extensions') {
        next();
        skipOptionBody();
      } else if (t === ';') {
        next();
      } else {
        parseField(undefined);
      }
    }
    expect('}');
    return msg;
  }

  while (i < toks.length) {
    const t = next();
    if (t === 'syntax') {
      expect('=');
      const v = next();
      if (v !== '"proto3"') throw new Error(`${file}: only proto3 is supported`);
      expect(';');
    } else if (t === 'package') {
      result.package = next();
      expect(';');
    } else if (t === 'import') {
      let p = next();
      if (p === 'public' || p === 'weak') p = next();
      result.imports.push(p.slice(1, -1));
      expect(';');
    } else if (t === 'option') {
      skipOptionBody();
    } else if (t === 'message') {
      result.messages.push(parseMessage(`.${result.package}`));
    } else if (t === 'enum') {
      result.enums.push(parseEnum(`.${result.package}`));
    } else if (t === 'service') {
      const name = next();
      const methods = [];
      expect('{');
      while (peek() !== '}') {
        const kw = next();
        if (kw === 'option') {
          skipOptionBody();
          continue;
        }
        if (kw !== 'rpc') throw new Error(`${file}: expected rpc, got ${kw}`);
        const mname = next();
        expect('(');
        let reqStream = false;
        if (peek() === 'stream') {
          next();
          reqStream = true;
        }
        const req = next();
        expect(')');
        expect('returns');
        expect('(');
        let resStream = false;
        if (peek() === 'stream') {
          next();
          resStream = true;
        }
        const res = next();
        expect(')');
        if (peek() === '{') {
          next();
          while (peek() !== '}') skipOptionBody();
          next();
        }
        if (peek() === ';') next();
        methods.push({ name: mname, req, res, reqStream, resStream });
      }
      expect('}');
      result.services.push({ name, methods });
    } else if (t === ';') {
      // empty statement
    } else {
      throw new Error(`${file}: unexpected "${t}"`);
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Type registry and names.

const SCALARS = {
  bool: { ts: 'boolean', zero: 'false', wire: 0 },
  string: { ts: 'string', zero: "''", wire: 2 },
  bytes: { ts: 'Uint8Array', zero: 'EMPTY_BYTES', wire: 2 },
  int32: { ts: 'number', zero: '0', wire: 0 },
  uint32: { ts: 'number', zero: '0', wire: 0 },
  int64: { ts: 'bigint', zero: '0n', wire: 0 },
  uint64: { ts: 'bigint', zero: '0n', wire: 0 },
};

function walkProtos(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walkProtos(p, out);
    else if (name.endsWith('.proto')) out.push(p);
  }
  return out;
}

const files = walkProtos(protoDir).map(parseFile);
/** fullName -> { kind: 'message' | 'enum', def, file, tsName } */
const types = new Map();

function tsNameOf(fullName, pkg) {
  return fullName.slice(pkg.length + 2).replace(/\./g, '_');
}

function moduleOf(file) {
  return file.package.replace(/\./g, '-');
}

for (const f of files) {
  const addMsg = (m) => {
    types.set(m.fullName, { kind: 'message', def: m, file: f, tsName: tsNameOf(m.fullName, f.package) });
    m.messages.forEach(addMsg);
    m.enums.forEach((e) => types.set(e.fullName, { kind: 'enum', def: e, file: f, tsName: tsNameOf(e.fullName, f.package) }));
  };
  f.messages.forEach(addMsg);
  f.enums.forEach((e) => types.set(e.fullName, { kind: 'enum', def: e, file: f, tsName: tsNameOf(e.fullName, f.package) }));
}

/** Resolves a type reference the way protoc does: innermost scope outwards. */
function resolveType(ref, scope) {
  if (ref.startsWith('.')) return types.get(ref);
  const parts = scope.split('.');
  while (parts.length > 0) {
    const candidate = `${parts.join('.')}.${ref}`;
    if (types.has(candidate)) return types.get(candidate);
    parts.pop();
  }
  return types.get(`.${ref}`);
}

/** protoc's JSON name: underscores dropped, the letter after each one capitalized. */
function camel(name) {
  return name.replace(/_([a-zA-Z0-9])/g, (_, c) => c.toUpperCase()).replace(/_/g, '');
}

function pascal(name) {
  const c = camel(name);
  return c[0].toUpperCase() + c.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Code generation.

function fieldInfo(field, msg, file) {
  const scalar = SCALARS[field.type];
  if (scalar !== undefined) {
    let ts = scalar.ts;
    let zero = scalar.zero;
    let kind = field.type;
    if ((field.type === 'int64' || field.type === 'uint64') && field.options.jstype === 'JS_NUMBER') {
      ts = 'number';
      zero = '0';
      kind = `${field.type}-number`;
    }
    return { kind, ts, initTs: ts, zero, wire: scalar.wire, packable: field.type !== 'string' && field.type !== 'bytes' };
  }
  const t = resolveType(field.type, msg.fullName);
  if (t === undefined) throw new Error(`${file.file}: unknown type ${field.type} in ${msg.fullName}`);
  const local = t.file === file;
  const ref = (n) => (local ? n : `${moduleAlias(t.file)}.${n}`);
  if (t.kind === 'enum') return { kind: 'enum', ts: ref(t.tsName), initTs: ref(t.tsName), zero: '0', wire: 0, packable: true, type: t };
  return { kind: 'message', ts: ref(t.tsName), initTs: ref(`${t.tsName}Init`), zero: 'undefined', wire: 2, packable: false, type: t, ref };
}

function moduleAlias(file) {
  return moduleOf(file).replace(/-/g, '_');
}

function writeScalar(kind, expr) {
  switch (kind) {
    case 'bool':
      return `w.bool(${expr})`;
    case 'string':
      return `w.string(${expr})`;
    case 'bytes':
      return `w.bytes(${expr})`;
    case 'int32':
    case 'enum':
      return `w.int32(${expr})`;
    case 'uint32':
      return `w.uint32(${expr})`;
    case 'int64':
    case 'uint64':
      return `w.int64Bigint(${expr})`;
    case 'int64-number':
    case 'uint64-number':
      return `w.int64Number(${expr})`;
  }
  throw new Error(`no writer for ${kind}`);
}

function readScalar(kind) {
  switch (kind) {
    case 'bool':
      return 'r.bool()';
    case 'string':
      return 'r.string()';
    case 'bytes':
      return 'r.bytes()';
    case 'int32':
    case 'enum':
      return 'r.int32()';
    case 'uint32':
      return 'r.uint32()';
    case 'int64':
      return 'r.int64Bigint()';
    case 'uint64':
      return 'r.uint64Bigint()';
    case 'int64-number':
      return 'r.int64Number()';
    case 'uint64-number':
      return 'r.uint64Number()';
  }
  throw new Error(`no reader for ${kind}`);
}

function isDefault(kind, expr) {
  switch (kind) {
    case 'bool':
      return `!${expr}`;
    case 'string':
      return `${expr} === ''`;
    case 'bytes':
      return `${expr}.length === 0`;
    case 'int64':
    case 'uint64':
      return `${expr} === 0n`;
    default:
      return `${expr} === 0`;
  }
}

function genMessage(msg, file, out) {
  const tsName = types.get(msg.fullName).tsName;
  const fields = msg.fields.map((f) => ({ ...f, info: fieldInfo(f, msg, file), prop: camel(f.name) }));
  const byNumber = [...fields].sort((a, b) => a.number - b.number);
  const plain = fields.filter((f) => f.oneof === undefined);
  const oneofs = msg.oneofs.map((o) => ({ name: o, prop: camel(o), members: fields.filter((f) => f.oneof === o) }));

  // Types.
  out.push(`/** ${msg.fullName.slice(1)} */`);
  if (fields.length === 0) {
    out.push(`export type ${tsName} = Record<string, never>;`);
    out.push(`export type ${tsName}Init = Record<string, never>;`);
    out.push('');
  }
  if (fields.length > 0) out.push(`export interface ${tsName} {`);
  for (const f of plain) {
    const t = f.info.kind === 'message' ? (f.repeated ? `${f.info.ts}[]` : `${f.info.ts} | undefined`) : f.repeated ? `${f.info.ts}[]` : f.info.ts;
    out.push(`  ${f.prop}: ${t};`);
  }
  for (const o of oneofs) {
    out.push(`  ${o.prop}: ${tsName}_${pascal(o.name)} | undefined;`);
  }
  if (fields.length > 0) {
    out.push('}');
    out.push('');
    out.push(`/** What encode${tsName} takes: every field optional (proto3 defaults). */`);
    out.push(`export interface ${tsName}Init {`);
  }
  for (const f of plain) {
    const t = f.repeated ? `readonly ${f.info.initTs}[]` : f.info.initTs;
    out.push(`  ${f.prop}?: ${t} | undefined;`);
  }
  for (const o of oneofs) out.push(`  ${o.prop}?: ${tsName}_${pascal(o.name)}Init | undefined;`);
  if (fields.length > 0) {
    out.push('}');
    out.push('');
  }
  for (const o of oneofs) {
    out.push(`export type ${tsName}_${pascal(o.name)} =`);
    o.members.forEach((m, k) => out.push(`  | { readonly type: '${m.prop}'; readonly value: ${m.info.ts} }${k === o.members.length - 1 ? ';' : ''}`));
    out.push('');
    out.push(`export type ${tsName}_${pascal(o.name)}Init =`);
    o.members.forEach((m, k) => out.push(`  | { readonly type: '${m.prop}'; readonly value: ${m.info.initTs} }${k === o.members.length - 1 ? ';' : ''}`));
    out.push('');
  }

  // Writer.
  out.push(`export function write${tsName}(${byNumber.length === 0 ? '_w' : 'w'}: ProtoWriter, ${byNumber.length === 0 ? '_m' : 'm'}: ${tsName}Init): void {`);
  for (const f of byNumber) {
    const tagLen = f.number * 8 + 2;
    const tagWire = f.number * 8 + f.info.wire;
    if (f.oneof !== undefined) {
      const o = oneofs.find((x) => x.name === f.oneof);
      out.push(`  if (m.${o.prop}?.type === '${f.prop}') {`);
      if (f.info.kind === 'message') {
        out.push(`    w.uint32(${tagLen});`);
        out.push(`    const mark = w.beginLength();`);
        out.push(`    ${f.info.ref('write' + f.info.type.tsName)}(w, m.${o.prop}.value);`);
        out.push(`    w.endLength(mark);`);
      } else {
        out.push(`    w.uint32(${tagWire});`);
        out.push(`    ${writeScalar(f.info.kind, `m.${o.prop}.value`)};`);
      }
      out.push('  }');
      continue;
    }
    const v = `m.${f.prop}`;
    if (f.repeated) {
      if (f.info.kind === 'message') {
        out.push(`  if (${v} !== undefined) {`);
        out.push(`    for (const x of ${v}) {`);
        out.push(`      w.uint32(${tagLen});`);
        out.push(`      const mark = w.beginLength();`);
        out.push(`      ${f.info.ref('write' + f.info.type.tsName)}(w, x);`);
        out.push(`      w.endLength(mark);`);
        out.push('    }');
        out.push('  }');
      } else if (f.info.packable) {
        out.push(`  if (${v} !== undefined && ${v}.length > 0) {`);
        out.push(`    w.uint32(${tagLen});`);
        out.push(`    const mark = w.beginLength();`);
        out.push(`    for (const x of ${v}) ${writeScalar(f.info.kind, 'x')};`);
        out.push(`    w.endLength(mark);`);
        out.push('  }');
      } else {
        out.push(`  if (${v} !== undefined) {`);
        out.push(`    for (const x of ${v}) {`);
        out.push(`      w.uint32(${tagWire});`);
        out.push(`      ${writeScalar(f.info.kind, 'x')};`);
        out.push('    }');
        out.push('  }');
      }
      continue;
    }
    if (f.info.kind === 'message') {
      out.push(`  if (${v} !== undefined) {`);
      out.push(`    w.uint32(${tagLen});`);
      out.push(`    const mark = w.beginLength();`);
      out.push(`    ${f.info.ref('write' + f.info.type.tsName)}(w, ${v});`);
      out.push(`    w.endLength(mark);`);
      out.push('  }');
    } else {
      out.push(`  if (${v} !== undefined && !(${isDefault(f.info.kind, v)})) {`);
      out.push(`    w.uint32(${tagWire});`);
      out.push(`    ${writeScalar(f.info.kind, v)};`);
      out.push('  }');
    }
  }
  out.push('}');
  out.push('');
  out.push(`export function encode${tsName}(m: ${tsName}Init): Uint8Array {`);
  out.push('  const w = sharedWriter;');
  out.push('  w.reset();');
  out.push(`  write${tsName}(w, m);`);
  out.push('  return w.finish();');
  out.push('}');
  out.push('');

  // Reader.
  out.push(`export function read${tsName}(r: ProtoReader, end: number, depth: number): ${tsName} {`);
  out.push(`  if (depth > MESSAGE_DEPTH_MAX) throw tooDeep('${msg.fullName.slice(1)}');`);
  const inits = [];
  for (const f of plain) {
    inits.push(`${f.prop}: ${f.repeated ? '[]' : f.info.zero}`);
  }
  for (const o of oneofs) inits.push(`${o.prop}: undefined`);
  out.push(`  const m: ${tsName} = { ${inits.join(', ')} }${fields.length === 0 ? ' as ' + tsName : ''};`);
  out.push('  while (r.pos < end) {');
  out.push('    const tag = r.tag();');
  out.push('    const wire = tag & 7;');
  out.push('    switch (tag >>> 3) {');
  for (const f of byNumber) {
    out.push(`      case ${f.number}: {`);
    const target = f.oneof !== undefined ? undefined : `m.${f.prop}`;
    const o = f.oneof !== undefined ? oneofs.find((x) => x.name === f.oneof) : undefined;
    if (f.info.kind === 'message') {
      out.push(`        if (wire !== 2) throw wrongWireType('${msg.fullName.slice(1)}', ${f.number}, wire);`);
      out.push('        const e = r.lengthEnd();');
      const read = `${f.info.ref('read' + f.info.type.tsName)}(r, e, depth + 1)`;
      if (f.repeated) out.push(`        ${target}.push(${read});`);
      else if (o !== undefined) out.push(`        m.${o.prop} = { type: '${f.prop}', value: ${read} };`);
      else out.push(`        ${target} = ${read};`);
      out.push('        r.pos = e;');
    } else if (f.repeated && f.info.packable) {
      out.push('        if (wire === 2) {');
      out.push('          const e = r.lengthEnd();');
      out.push(`          while (r.pos < e) ${target}.push(${readScalar(f.info.kind)});`);
      out.push(`          if (r.pos !== e) throw wrongWireType('${msg.fullName.slice(1)}', ${f.number}, wire);`);
      out.push(`        } else if (wire === ${f.info.wire}) {`);
      out.push(`          ${target}.push(${readScalar(f.info.kind)});`);
      out.push(`        } else throw wrongWireType('${msg.fullName.slice(1)}', ${f.number}, wire);`);
    } else {
      out.push(`        if (wire !== ${f.info.wire}) throw wrongWireType('${msg.fullName.slice(1)}', ${f.number}, wire);`);
      if (f.repeated) out.push(`        ${target}.push(${readScalar(f.info.kind)});`);
      else if (o !== undefined) out.push(`        m.${o.prop} = { type: '${f.prop}', value: ${readScalar(f.info.kind)} };`);
      else out.push(`        ${target} = ${readScalar(f.info.kind)};`);
    }
    out.push('        break;');
    out.push('      }');
  }
  out.push('      default:');
  out.push('        r.skip(wire);');
  out.push('    }');
  out.push('  }');
  out.push(`  if (r.pos !== end) throw new DecodeError('${msg.fullName.slice(1)}: field overruns the message');`);
  out.push('  return m;');
  out.push('}');
  out.push('');
  out.push(`/** Decodes ${msg.fullName.slice(1)}; bytes fields are views into \`buf\`. Throws DecodeError. */`);
  out.push(`export function decode${tsName}(buf: Uint8Array): ${tsName} {`);
  out.push('  const r = new ProtoReader(buf);');
  out.push(`  return read${tsName}(r, buf.length, 0);`);
  out.push('}');
  out.push('');

  for (const e of msg.enums) genEnum(e, file, out);
  for (const m of msg.messages) genMessage(m, file, out);
}

function genEnum(e, file, out) {
  const tsName = types.get(e.fullName).tsName;
  out.push(`/** ${e.fullName.slice(1)}: proto3 enums are open, so a decoded value may be outside this list. */`);
  out.push(`export const ${tsName} = {`);
  for (const v of e.values) out.push(`  ${v.name}: ${v.number},`);
  out.push('} as const;');
  out.push(`export type ${tsName} = number;`);
  out.push('');
}

function genService(svc, file, out) {
  out.push(`/** Methods of ${file.package}.${svc.name}. */`);
  out.push(`export const ${svc.name}Service = {`);
  for (const m of svc.methods) {
    const req = resolveType(m.req, `.${file.package}`);
    const res = resolveType(m.res, `.${file.package}`);
    const ref = (t, n) => (t.file === file ? n : `${moduleAlias(t.file)}.${n}`);
    out.push(`  ${m.name}: {`);
    out.push(`    path: '/${file.package}.${svc.name}/${m.name}',`);
    out.push(`    requestStream: ${m.reqStream},`);
    out.push(`    responseStream: ${m.resStream},`);
    out.push(`    encodeRequest: ${ref(req, 'encode' + req.tsName)},`);
    out.push(`    decodeRequest: ${ref(req, 'decode' + req.tsName)},`);
    out.push(`    encodeResponse: ${ref(res, 'encode' + res.tsName)},`);
    out.push(`    decodeResponse: ${ref(res, 'decode' + res.tsName)},`);
    out.push('  },');
  }
  out.push('} as const;');
  out.push('');
}

function genFile(file) {
  const body = [];
  for (const e of file.enums) genEnum(e, file, body);
  for (const m of file.messages) genMessage(m, file, body);
  for (const s of file.services) genService(s, file, body);
  const text = body.join('\n');
  const used = (name) => new RegExp(`\\b${name}\\b`).test(text);
  const out = [];
  const rel = relative(root, file.file);
  out.push(`// Generated by scripts/gen-proto.mjs from ${rel}. Do not edit: change the .proto and regenerate.`);
  if (used('DecodeError')) out.push("import { DecodeError } from '../../../core/errors.js';");
  const wireNames = ['EMPTY_BYTES', 'MESSAGE_DEPTH_MAX', 'ProtoReader', 'ProtoWriter', 'sharedWriter', 'tooDeep', 'wrongWireType'].filter(used);
  const typeOnly = new Set(['ProtoWriter']);
  out.push(`import { ${wireNames.map((n) => (typeOnly.has(n) && !new RegExp(`new ${n}\\b`).test(text) ? `type ${n}` : n)).join(', ')} } from '../wire.js';`);
  for (const imp of file.imports) {
    const target = files.find((f) => relative(protoDir, f.file) === imp);
    if (target === undefined) throw new Error(`${rel}: import ${imp} not found`);
    if (used(moduleAlias(target))) out.push(`import * as ${moduleAlias(target)} from './${moduleOf(target)}.js';`);
  }
  out.push('');
  return out.join('\n') + text + '\n';
}

// The field tables the JSON mapping (src/api/proto/json.ts, used by the HTTP gateway) walks: for
// every message its fields with proto name, TS property, kind, and the referenced type; for every
// enum its value names.
function genJsonSchema() {
  const out = [];
  out.push('// Generated by scripts/gen-proto.mjs from proto/. Do not edit: change the .proto and regenerate.');
  out.push("import type { JsonSchema } from '../json-schema-types.js';");
  out.push('');
  out.push('export const JSON_SCHEMA: JsonSchema = {');
  out.push('  messages: {');
  const names = [...types.keys()].sort();
  for (const name of names) {
    const t = types.get(name);
    if (t.kind !== 'message') continue;
    const fields = t.def.fields.map((f) => {
      const info = fieldInfo(f, t.def, t.file);
      const ref = info.type === undefined ? '' : `, type: '${info.type.def.fullName.slice(1)}'`;
      const oneof = f.oneof === undefined ? '' : `, oneof: '${camel(f.oneof)}'`;
      return `      { name: '${f.name}', prop: '${camel(f.name)}', kind: '${info.kind}', repeated: ${f.repeated}${ref}${oneof} },`;
    });
    out.push(`    '${name.slice(1)}': [`);
    out.push(...fields);
    out.push('    ],');
  }
  out.push('  },');
  out.push('  enums: {');
  for (const name of names) {
    const t = types.get(name);
    if (t.kind !== 'enum') continue;
    out.push(`    '${name.slice(1)}': { ${t.def.values.map((v) => `${v.name}: ${v.number}`).join(', ')} },`);
  }
  out.push('  },');
  out.push('};');
  return out.join('\n') + '\n';
}

mkdirSync(outDir, { recursive: true });
const written = [];
writeFileSync(join(outDir, 'json-schema.ts'), genJsonSchema());
written.push('json-schema.ts');
for (const f of files) {
  const name = `${moduleOf(f)}.ts`;
  writeFileSync(join(outDir, name), genFile(f));
  written.push(name);
}
if (outArg < 0) console.log(`generated ${written.join(', ')} in ${relative(root, outDir) || dirname(outDir)}`);
