/**
 * The JSON gateway, as etcd's documentation uses it with curl: the same requests against a
 * three-member Bulwark and a three-member etcd 3.4, same status and same JSON once ids and terms
 * are normalized. Both clusters start empty and get the same writes in the same order.
 *
 * Runs once per consensus protocol (PROTOCOLS), each time against a fresh reference etcd.
 *
 * Skipped when the etcd 3.4 server is not installed (apt-get install -y etcd-server).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ETCD, normalize, startBulwark, startReferenceEtcd, type Target } from './twin.js';
import { PROTOCOLS } from '../cluster/harness.js';

const skip = ETCD === undefined ? 'etcd 3.4 not installed (apt-get install -y etcd-server)' : false;
const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface Answer {
  readonly status: number;
  readonly body: string;
}

async function post(t: Target, path: string, body: string, o: { streamMs?: number } = {}): Promise<Answer> {
  const ac = new AbortController();
  const timer = o.streamMs === undefined ? null : setTimeout(() => ac.abort(), o.streamMs);
  let text = '';
  let status = 0;
  try {
    const r = await fetch(`http://${t.endpoints[0]}${path}`, { method: 'POST', body, signal: ac.signal });
    status = r.status;
    const reader = r.body!.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
  return { status, body: text };
}

/** The JSON with ids, terms and lease ids normalized; leaves everything else exact. */
function norm(s: string): string {
  return normalize(s.replace(/"(cluster_id|member_id|raft_term|ID|lease|leader|memberID)":"\d+"/g, '"$1":"N"').replace(/"key":"[A-Za-z0-9+/=]{20,}"/g, '"key":"K"'));
}

for (const consensus of PROTOCOLS) describe(`JSON gateway: Bulwark (${consensus}) answers as etcd 3.4 does`, { skip }, () => {
  let bw: Target;
  let ref: Target;

  before(async () => {
    [bw, ref] = await Promise.all([startBulwark(consensus), startReferenceEtcd()]);
  });

  after(async () => {
    await Promise.all([bw?.close(), ref?.close()]);
  });

  const same = async (path: string, body: unknown, o: { streamMs?: number; project?: (s: string) => string } = {}): Promise<[Answer, Answer]> => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const [a, b] = await Promise.all([post(bw, path, text, o), post(ref, path, text, o)]);
    const p = o.project ?? ((s: string) => s);
    assert.equal(a.status, b.status, `${path} ${text}: HTTP status (Bulwark: ${a.body})`);
    assert.equal(p(norm(a.body)), p(norm(b.body)), `${path} ${text}: Bulwark's body (actual) differs from etcd's (expected)`);
    return [a, b];
  };

  test('kv: put, range with options, deleterange, txn, compaction, errors', async () => {
    await same('/v3/kv/put', { key: b64('foo'), value: b64('bar') });
    await same('/v3/kv/put', { key: b64('foo'), value: b64('baz'), prev_kv: true });
    await same('/v3/kv/put', { key: b64('fop'), value: b64('1') });
    await same('/v3/kv/range', { key: b64('foo') });
    await same('/v3/kv/range', { key: b64('fo'), range_end: b64('fp'), sort_order: 'DESCEND', sort_target: 'MOD' });
    await same('/v3/kv/range', { key: b64('fo'), range_end: b64('fp'), limit: 1, keys_only: true });
    await same('/v3/kv/range', { key: b64('fo'), range_end: b64('fp'), count_only: true });
    await same('/v3/kv/range', { key: b64('foo'), revision: '2' });
    await same('/v3/kv/range', { key: b64('foo'), revision: 100 });
    await same('/v3/kv/range', { key: b64('AA=='), rangeEnd: b64('\0'), serializable: true });
    await same('/v3/kv/txn', {
      compare: [{ target: 'VALUE', key: b64('foo'), value: b64('baz') }],
      success: [{ request_put: { key: b64('foo'), value: b64('qux'), prev_kv: true } }, { request_range: { key: b64('foo') } }],
      failure: [{ request_delete_range: { key: b64('foo') } }],
    });
    await same('/v3/kv/txn', { compare: [{ target: 'VERSION', key: b64('foo'), result: 'GREATER', version: '10' }], failure: [{ request_range: { key: b64('fop') } }] });
    await same('/v3/kv/deleterange', { key: b64('fop'), prev_kv: true });
    await same('/v3/kv/deleterange', { key: b64('nothing') });
    await same('/v3/kv/compaction', { revision: '3' });
    await same('/v3/kv/compaction', { revision: '3' });
    await same('/v3/kv/range', { key: b64('foo'), revision: '2' });
    await same('/v3/kv/put', { key: '', value: b64('x') });
    await same('/v3/kv/put', { key: b64('k'), value: b64('v'), lease: '12345' });
  });

  test('request encoding: both spellings, bad JSON, wrong types, bad base64, unknown enum names, empty body', async () => {
    await same('/v3/kv/range', { key: b64('foo'), keysOnly: true });
    await same('/v3/kv/range', 'garbage');
    await same('/v3/kv/range', { key: 1 });
    await same('/v3/kv/range', { key: b64('foo'), keys_only: 'true' });
    await same('/v3/kv/range', { key: '!!!' });
    await same('/v3/kv/range', { key: b64('foo'), limit: 1.5 });
    await same('/v3/kv/range', { key: b64('foo'), sort_order: 'UP' });
    await same('/v3/kv/range', { key: b64('foo'), unknown_field: 1 });
    await same('/v3/kv/range', [1]);
    await same('/v3/kv/range', '');
  });

  test('watch (streaming): from a revision, with prev_kv, progress, cancel, duplicate id, compacted', async () => {
    const lines = (s: string): string => s.trim().split('\n').sort().join('\n');
    await same('/v3/watch', { create_request: { key: b64('foo'), start_revision: '4', prev_kv: true } }, { streamMs: 1500 });
    // A watch from "now" (no history to replay), so the order of responses does not depend on
    // when each server replays history (etcd replays unsynced watchers every 100 ms).
    await same('/v3/watch', `${JSON.stringify({ create_request: { key: b64('foo') } })}${JSON.stringify({ progress_request: {} })}${JSON.stringify({ cancel_request: { watch_id: '0' } })}`, { streamMs: 1500 });
    await same('/v3/watch', `${JSON.stringify({ create_request: { key: b64('a'), watch_id: '5' } })}${JSON.stringify({ create_request: { key: b64('a'), watch_id: '5' } })}`, { streamMs: 1500, project: lines });
    await same('/v3/watch', { create_request: { key: b64('foo'), start_revision: '1' } }, { streamMs: 1500 });
  });

  test('lease: grant, keepalive, timetolive (and the kv/lease aliases), leases, revoke', async () => {
    await same('/v3/lease/grant', { TTL: 60, ID: 7 });
    await same('/v3/lease/keepalive', { ID: 7 });
    await same('/v3/kv/put', { key: b64('leased'), value: b64('v'), lease: 7 });
    await same('/v3/lease/timetolive', { ID: 7, keys: true }, { project: (s) => s.replace(/"TTL":"\d+"/, '"TTL":"T"') });
    await same('/v3/kv/lease/timetolive', { ID: 8 });
    await same('/v3/lease/leases', {});
    await same('/v3/kv/lease/leases', {});
    await same('/v3/lease/revoke', { ID: 7 });
    await same('/v3/kv/lease/revoke', { ID: 7 });
    await same('/v3/lease/keepalive', `${JSON.stringify({ ID: 7 })}${JSON.stringify({ ID: '8' })}`);
  });

  test('auth (disabled), maintenance, cluster', async () => {
    await same('/v3/auth/authenticate', { name: 'root', password: 'x' });
    await same('/v3/auth/enable', {});
    await same('/v3/auth/disable', {});
    await same('/v3/auth/user/list', {});
    await same('/v3/auth/role/list', {});
    await same('/v3/auth/user/get', { name: 'u' });
    await same('/v3/auth/role/get', { role: 'r' });
    await same('/v3/auth/user/delete', { name: 'u' });
    await same('/v3/auth/user/grant', { user: 'u', role: 'r' });
    await same('/v3/auth/role/revoke', { role: 'r' });
    await same('/v3/maintenance/alarm', {});
    await same('/v3/maintenance/defragment', {});
    await same('/v3/maintenance/status', {}, { project: (s) => s.replace(/"(dbSize|dbSizeInUse|raftIndex|raftAppliedIndex|raftTerm)":"\d+"/g, '"$1":"N"').replace(/,"dbSizeQuota":"\d+"/, '').replace(/"version":"[^"]+"/, '"version":"V"') });
    await same('/v3/maintenance/hash', {}, { project: (s) => s.replace(/"hash":\d+/, '"hash":H') });
    await same('/v3/cluster/member/list', {}, { project: (s) => s.replace(/"name":"m\d"/g, '"name":"M"') });
    await same('/v3/cluster/member/remove', { ID: '1' });
  });

  test('lock and election', async () => {
    await same('/v3/lock/lock', { name: b64('mylock') });
    await same('/v3/lock/unlock', { key: b64('nothing') });
    await same('/v3/lock/lock', { name: b64('l2'), lease: '99' });
    await same('/v3/election/leader', { name: b64('nobody') });
    await same('/v3/election/campaign', { name: b64('el'), value: b64('v1') });
    await same('/v3/election/leader', { name: b64('el') });
    await same('/v3/election/proclaim', { leader: { name: b64('el'), key: b64('x'), rev: '5', lease: '1' }, value: b64('v2') });
    await same('/v3/election/proclaim', { value: b64('v2') });
    await same('/v3/election/resign', { leader: { name: b64('el'), key: b64('x'), rev: '5', lease: '1' } });
    await same('/v3/election/observe', { name: b64('el') }, { streamMs: 1500 });
  });

  test('paths and methods', async () => {
    await same('/v3/kv/rangex', {});
    const [a, b] = await Promise.all([bw, ref].map((t) => fetch(`http://${t.endpoints[0]}/v3/kv/range`).then(async (r) => ({ status: r.status, body: await r.text() }))));
    assert.deepEqual(a, b);
    await same('/v3beta/kv/range', { key: b64('foo') });
  });
});
