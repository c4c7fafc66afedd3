import { Worker } from 'node:worker_threads';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../../testkit/emulator/streaming.js';

/**
 * Scale at the streaming layer: 2,000 orgs, each with one live long-polling
 * client, and 2,000 change events a second in aggregate. Clients are raw Bayeux loops
 * (faye would add its own per-client cost to the measurement).
 */
// The full load (STREAMING_SCALE_ORGS=2000 STREAMING_SCALE_RATE=2000) takes the two
// cores of a CI box for half a minute; the default run is a tenth of it.
const ORGS = Number(process.env['STREAMING_SCALE_ORGS'] ?? 200);
const RATE = Number(process.env['STREAMING_SCALE_RATE'] ?? 200);
const SECONDS = 3;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Message = any;

const CLIENT_LOOPS = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const { url, sessions } = workerData;
const target = new URL(url + '/cometd/59.0');
let pending = [];
setInterval(() => { if (pending.length) { parentPort.postMessage({ lat: pending }); pending = []; } }, 20);
function post(s, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), authorization: 'OAuth ' + s.token, cookie: s.cookie } },
      (res) => { let b = ''; res.setEncoding('utf8'); res.on('data', (c) => (b += c)); res.on('end', () => resolve(JSON.parse(b))); });
    req.on('error', reject);
    req.end(data);
  });
}
for (const s of sessions) (async () => {
  let id = 10;
  for (;;) {
    const body = await post(s, [{ channel: '/meta/connect', clientId: s.clientId, connectionType: 'long-polling', id: String(id++) }]);
    const now = Date.now();
    for (const m of body) {
      if (m.data) pending.push(now - m.data.payload.sentAt);
      else if (m.successful === false) parentPort.postMessage({ error: m.error });
    }
  }
})().catch((e) => parentPort.postMessage({ error: String(e) }));
`;

describe('streaming scale', () => {
  let h: Harness;
  const dispatcher = new Agent({ connections: null, keepAliveTimeout: 30_000 });
  beforeAll(async () => {
    h = await startHarness({ connectTimeoutMs: 5000 });
  });
  afterAll(async () => {
    await h.close();
    await dispatcher.close();
  });

  it(`${ORGS} orgs with a live client each take ${RATE} events/s`, async () => {
    const post = async (body: Message[], token: string, cookie?: string) => {
      const res = await fetch(`${h.url}/cometd/59.0`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `OAuth ${token}`, ...(cookie ? { cookie } : {}) },
        body: JSON.stringify(body),
        // @ts-expect-error undici's fetch accepts a dispatcher
        dispatcher,
      });
      return {
        cookie: res.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; '),
        body: (await res.json()) as Message[],
      };
    };

    const orgs = Array.from({ length: ORGS }, (_, i) => `00D${String(i).padStart(12, '0')}AAA`);
    for (const [i, org] of orgs.entries()) h.addOrg(org, `tok-${i}`);
    const heapBefore = process.memoryUsage().heapUsed;
    const sessions: { token: string; cookie: string; clientId: string }[] = [];
    for (let i = 0; i < ORGS; i += 100) {
      const batch = await Promise.all(
        orgs.slice(i, i + 100).map(async (_, j) => {
          const token = `tok-${i + j}`;
          const hs = await post([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }], token);
          const clientId = hs.body[0].clientId as string;
          await post(
            [{ channel: '/meta/subscribe', clientId, subscription: '/data/ChangeEvents', id: '2', ext: { replay: { '/data/ChangeEvents': -1 } } }],
            token,
            hs.cookie,
          );
          return { token, cookie: hs.cookie, clientId };
        }),
      );
      sessions.push(...batch);
    }
    const heapPerClient = (process.memoryUsage().heapUsed - heapBefore) / ORGS;
    expect(h.server.stats(orgs[0]!).streamingClients).toBe(1);

    // The clients poll from a worker thread, as a separate service would from its own process,
    // so the measurement is the emulator's event loop and not the test client's.
    const worker = new Worker(CLIENT_LOOPS, { eval: true, workerData: { url: h.url, sessions } });
    let received = 0;
    const latencies: number[] = [];
    const errors: string[] = [];
    worker.on('message', (m: { lat?: number[]; error?: string }) => {
      if (m.lat) {
        received += m.lat.length;
        latencies.push(...m.lat);
      }
      if (m.error) errors.push(m.error);
    });
    await new Promise((r) => setTimeout(r, 1000));

    const total = RATE * SECONDS;
    const started = Date.now();
    let sent = 0;
    const perTick = RATE / 100;
    while (sent < total) {
      for (let k = 0; k < perTick && sent < total; k++, sent++) {
        const org = orgs[sent % ORGS]!;
        h.publish(org, 'Account', { sentAt: Date.now() });
      }
      const due = started + (sent / RATE) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
    }
    const publishSeconds = (Date.now() - started) / 1000;
    const deadline = Date.now() + 30_000;
    while (received < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await worker.terminate();
    expect(errors).toEqual([]);

    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
    console.log(
      JSON.stringify({
        orgs: ORGS,
        events: total,
        publishSeconds,
        received,
        latencyMs: { p50: p(0.5), p99: p(0.99), max: latencies[latencies.length - 1] },
        heapDeltaPerClientBytesInclTestClientNoGc: Math.round(heapPerClient),
      }),
    );
    expect(received).toBe(total);
  }, 120_000);
});
