/** A base port for `bulwark up` (member i serves on base + 10000·i and peers on that + 1), all below 32768. */
import * as net from 'node:net';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export async function freeBasePort(members = 3): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 10000 + Math.floor(Math.random() * (32767 - 10000 * members - 10000));
    const ports = Array.from({ length: members }, (_, i) => [base + 10000 * i, base + 10000 * i + 1]).flat();
    let ok = true;
    for (const p of ports) if (!(ok = await portFree(p))) break;
    if (ok) return base;
  }
  throw new Error('no free base port for bulwark up');
}
