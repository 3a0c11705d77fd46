#!/usr/bin/env node
// Fails on a runtime import cycle in src/ and on an import that breaks the layering of DESIGN.md.
// Type-only imports (`import type`) are erased at compile time and are not counted as cycles, but
// they must respect the layering too.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname, 'src');

/** Which top-level packages each package may import. `*` means any; absent means only itself and core. */
const allowed = {
  core: [],
  env: ['core'],
  consensus: ['core', 'env'],
  raft: ['core', 'env', 'consensus'],
  paxos: ['core', 'env', 'consensus'],
  wal: ['core', 'env', 'consensus'],
  storage: ['core', 'env', 'consensus'],
  kv: ['core', 'env', 'consensus'],
  check: ['core', 'env', 'consensus', 'raft', 'paxos', 'kv', 'wal', 'storage'],
  transport: ['core', 'env', 'consensus'],
  sim: ['core', 'env', 'consensus', 'raft', 'paxos', 'kv', 'wal', 'storage', 'check', 'client', 'api'],
  api: ['core', 'env', 'consensus', 'kv'],
  client: ['core', 'env', 'api'],
  lb: ['core', 'env', 'api', 'client'],
  server: ['*'],
  chaos: ['*'],
  bench: ['*'],
  cli: ['*'],
};
/** Never imported from these, whoever asks (except the packages that are the real world). */
const realWorldOnly = ['server', 'cli'];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const files = walk(root);
const importRe = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm;
const graph = new Map();
const problems = [];

const pkgOf = (file) => {
  const rel = relative(root, file).split('/');
  if (rel[0] === 'env' && rel[1] === 'node') return 'env/node';
  return rel.length === 1 ? '(root)' : rel[0];
};

for (const file of files) {
  const src = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of src.matchAll(importRe)) {
    const typeOnly = Boolean(m[2]);
    let target = resolve(dirname(file), m[3]).replace(/\.js$/, '.ts');
    if (!target.endsWith('.ts')) target += '.ts';
    const from = pkgOf(file);
    const to = pkgOf(target);
    const isTest = file.endsWith('.test.ts');
    if (from !== to && to !== 'core' && to !== '(root)' && from !== '(root)' && !isTest) {
      const fromTop = from.split('/')[0];
      const toTop = to.split('/')[0];
      const rule = allowed[fromTop];
      const ok =
        rule === undefined
          ? false
          : rule.includes('*') || rule.includes(toTop) || (fromTop === toTop);
      const realOk = to === 'env/node' ? ['env', 'server', 'cli', 'chaos', 'bench', 'transport', 'api', 'lb', 'client'].includes(fromTop) : true;
      const worldOk = realWorldOnly.includes(toTop) ? ['server', 'cli', 'chaos', 'bench'].includes(fromTop) : true;
      if (!ok || !realOk || !worldOk) {
        problems.push(`layering: ${relative(root, file)} (${from}) imports ${relative(root, target)} (${to})`);
      }
    }
    if (!typeOnly) deps.push(target);
  }
  graph.set(file, deps);
}

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let index = 0;
const stack = [];
const onStack = new Set();
const idx = new Map();
const low = new Map();
const cycles = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(comp);
  }
}
for (const v of graph.keys()) if (!idx.has(v)) strong(v);

for (const c of cycles) problems.push(`import cycle: ${c.map((f) => relative(root, f)).join(' -> ')}`);
if (problems.length > 0) {
  for (const p of problems) console.error(p);
  console.error(`${problems.length} import problem(s)`);
  process.exit(1);
}
console.log(`imports ok: ${files.length} files, no cycles, layering respected`);
