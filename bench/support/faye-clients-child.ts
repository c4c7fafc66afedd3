/**
 * The streaming clients of the emulator-scale bench, in a process of their own:
 * one bare faye client per org (long-polling only, as Salesforce offers), each
 * subscribed to /data/ChangeEvents, counting what arrives and how long after the
 * change's commitTimestamp. Driven over IPC by bench/emulator-scale.ts.
 */
import { createRequire } from 'node:module';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const faye: any = createRequire(import.meta.url)('faye');

interface OrgRef {
  orgId: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

const clients: { disconnect(): unknown }[] = [];
let connected = 0;
let received = 0;
let latencies: number[] = [];
const errors: string[] = [];

async function accessToken(url: string, org: OrgRef): Promise<string> {
  const res = await fetch(`${url}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: org.refreshToken, client_id: org.clientId, client_secret: org.clientSecret }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token for ${org.orgId}: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

async function open(url: string, org: OrgRef): Promise<void> {
  const token = await accessToken(url, org);
  const client = new faye.Client(`${url}/cometd/59.0`);
  client.disable('websocket');
  client.disable('in-process');
  client.setHeader('Authorization', `OAuth ${token}`);
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client
      .subscribe('/data/ChangeEvents', (msg: { payload?: { ChangeEventHeader?: { commitTimestamp?: number } } }) => {
        received++;
        const ts = msg.payload?.ChangeEventHeader?.commitTimestamp;
        if (typeof ts === 'number') latencies.push(Date.now() - ts);
      })
      .then(
        () => {
          connected++;
          resolve();
        },
        (err: unknown) => reject(new Error(`subscribe ${org.orgId}: ${JSON.stringify(err)}`)),
      );
  });
}

process.on('message', (m: { id: string; op: string; url?: string; orgs?: OrgRef[]; concurrency?: number }) => {
  const reply = (result: unknown) => process.send!({ id: m.id, result });
  const fail = (err: unknown) => process.send!({ id: m.id, error: String(err) });
  if (m.op === 'open') {
    const queue = [...m.orgs!];
    const worker = async () => {
      for (let org = queue.shift(); org; org = queue.shift()) {
        try {
          await open(m.url!, org);
        } catch (err) {
          if (errors.length < 20) errors.push(String(err));
        }
      }
    };
    const started = Date.now();
    void Promise.all(Array.from({ length: m.concurrency ?? 50 }, worker)).then(() => reply({ connected, errors, ms: Date.now() - started }), fail);
  } else if (m.op === 'reset') {
    received = 0;
    latencies = [];
    reply({ ok: true });
  } else if (m.op === 'cpu') {
    reply(process.cpuUsage());
  } else if (m.op === 'report') {
    reply({ connected, received, errors, latencies, memory: process.memoryUsage() });
  } else {
    fail(`unknown op ${m.op}`);
  }
});

const close = () => {
  for (const c of clients) {
    try {
      c.disconnect();
    } catch {
      // closing anyway
    }
  }
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', close);
process.on('disconnect', close);
process.send!({ event: 'ready' });
