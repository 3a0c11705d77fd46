import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { after, test } from 'node:test';
import { socketOwner } from './socket-owner.js';
import { TcpProxy, type LinkFault, type ProxyDirection } from './tcp-proxy.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A server that records what it receives and answers each chunk with "ack:<chunk>". */
async function echoServer(): Promise<{ port: number; received: () => string }> {
  let got = '';
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => {
      got += d.toString();
      s.write(`ack:${d.toString()}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as net.AddressInfo).port, received: () => got };
}

async function connect(port: number): Promise<{ socket: net.Socket; received: () => string }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  let got = '';
  socket.on('data', (d) => (got += d.toString()));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  cleanups.push(() => void socket.destroy());
  return { socket, received: () => got };
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('setMode: blackhole holds bytes until pass (the first version of the API)', async () => {
  const server = await echoServer();
  const proxy = new TcpProxy({ target: { host: '127.0.0.1', port: server.port } });
  const port = await proxy.start();
  cleanups.push(() => proxy.stop());
  const c = await connect(port);
  c.socket.write('one');
  await until(() => c.received() === 'ack:one', 'the first answer');
  proxy.setMode({ type: 'blackhole' });
  c.socket.write('two');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(server.received(), 'one', 'nothing passes a blackhole');
  proxy.setMode({ type: 'pass' });
  await until(() => c.received() === 'ack:oneack:two', 'the held bytes after healing');
});

test('faults per direction: the answers are cut while requests still pass', async () => {
  const server = await echoServer();
  let backward: LinkFault = { type: 'blackhole' };
  const proxy = new TcpProxy({
    target: { host: '127.0.0.1', port: server.port },
    faultFor: (_c, d: ProxyDirection) => (d === 'backward' ? backward : { type: 'pass' }),
  });
  const port = await proxy.start();
  cleanups.push(() => proxy.stop());
  const c = await connect(port);
  c.socket.write('hello');
  await until(() => server.received() === 'hello', 'the request to pass');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(c.received(), '', 'the answer is held');
  backward = { type: 'pass' };
  proxy.refresh();
  await until(() => c.received() === 'ack:hello', 'the answer after healing');
});

test('delay with jitter and loss keeps the byte order, and takes at least the delay', async () => {
  const server = await echoServer();
  const proxy = new TcpProxy({
    target: { host: '127.0.0.1', port: server.port },
    faultFor: (_c, d) => (d === 'forward' ? { type: 'delay', delayMs: 40, jitterMs: 30, lossPercent: 30, retransmitMs: 50 } : { type: 'pass' }),
    random: (() => {
      let x = 1;
      return () => ((x = (x * 48271) % 2147483647) / 2147483647);
    })(),
  });
  const port = await proxy.start();
  cleanups.push(() => proxy.stop());
  const c = await connect(port);
  const t0 = Date.now();
  const parts = Array.from({ length: 30 }, (_, i) => `<${i}>`);
  for (const p of parts) {
    c.socket.write(p);
    await new Promise((r) => setTimeout(r, 2));
  }
  await until(() => server.received().length === parts.join('').length, 'every part', 10_000);
  assert.equal(server.received(), parts.join(''), 'order kept');
  assert.ok(Date.now() - t0 >= 40, 'delayed');
});

test('a reset fault breaks the connection', async () => {
  const server = await echoServer();
  const proxy = new TcpProxy({ target: { host: '127.0.0.1', port: server.port } });
  const port = await proxy.start();
  cleanups.push(() => proxy.stop());
  const c = await connect(port);
  const closed = new Promise<void>((r) => c.socket.once('close', () => r()));
  proxy.setMode({ type: 'delay', delayMs: 0, resetPercent: 100 });
  c.socket.write('x');
  await closed;
  assert.equal(proxy.connections().length, 0);
});

test('the dialer of a connection is identified by the process that holds its socket', async () => {
  const server = await echoServer();
  let seen: string | null | undefined;
  const pids = new Map<number, string>();
  const proxy: TcpProxy = new TcpProxy({
    target: { host: '127.0.0.1', port: server.port },
    identify: async (s): Promise<string | null> => socketOwner({ dialerPort: s.remotePort ?? 0, listenPort: proxy.port, candidates: pids }),
    faultFor: (c) => {
      seen = c.dialer;
      return { type: 'pass' };
    },
  });
  await proxy.start();
  cleanups.push(() => proxy.stop());
  // A child process dials the proxy, sends a line and waits for the answer.
  const child = spawn(process.execPath, ['-e', `const s=require('net').connect(${proxy.port},'127.0.0.1',()=>s.write('hi'));s.on('data',()=>{s.end();process.exit(0)});setTimeout(()=>process.exit(2),10000)`], { stdio: 'ignore' });
  cleanups.push(() => void child.kill('SIGKILL'));
  pids.set(child.pid!, 'child-member');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.equal(code, 0, 'the child got its answer through the proxy');
  if (process.platform === 'linux') assert.equal(seen, 'child-member', 'the proxy knew who dialed');
  // Our own connection belongs to no candidate.
  const c = await connect(proxy.port);
  c.socket.write('me');
  await until(() => c.received() === 'ack:me', 'our answer');
  assert.equal(seen, null);
});
