/**
 * Managed Kafka needs TLS and SASL. `forcehook kafka --tls --sasl-scram USER:PASSWORD`
 * starts a local broker that requires both (a certificate it makes, SCRAM-SHA-512),
 * and the service reaches it with `KAFKA_SSL`, `KAFKA_SSL_CA_FILE` and `KAFKA_SASL_*`:
 * a change in the org arrives at a webhook through it. Wrong credentials stop
 * `forcehook serve` with one clear line instead of a retry storm.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { spawnForcehook, type Spawned } from '../../testkit/process.js';
import { API_TOKEN, createOrg, orgUser, SECRET_KEY, startTestEmulator, startTestService, waitUntil, type TestService } from '../../testkit/service.js';
import { startReceiver, type Receiver } from '../../testkit/receiver.js';

const USER = 'forcehook';
const PASSWORD = 'correct horse battery';

let broker: Spawned;
let brokers: string;
let caFile: string;
let emulator: RunningEmulator;
let svc: TestService | undefined;
let rx: Receiver | undefined;

beforeAll(async () => {
  broker = await spawnForcehook(['kafka', '--port', '0', '--tls', '--sasl-scram', `${USER}:${PASSWORD}`], {}, 120_000);
  brokers = String(broker.ready.brokers);
  caFile = String(broker.ready.caFile);
  emulator = await startTestEmulator();
}, 180_000);

afterAll(async () => {
  await rx?.close();
  await svc?.stop();
  await emulator?.close();
  await broker?.kill('SIGTERM');
});

const secured = (password: string): Record<string, string> => ({
  KAFKA_SSL: 'true',
  KAFKA_SSL_CA_FILE: caFile,
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: USER,
  KAFKA_SASL_PASSWORD: password,
});

describe('Kafka over TLS and SASL/SCRAM', () => {
  it('the broker says how to reach it: SASL_SSL and the CA of its certificate', () => {
    expect(broker.ready).toMatchObject({ event: 'ready', securityProtocol: 'SASL_SSL' });
    expect(caFile).toMatch(/\.pem$/);
  });

  it('the service follows an org and delivers its change through a broker that requires TLS and SCRAM', async () => {
    const org = await createOrg(emulator.url);
    svc = await startTestService({ prefix: uniquePrefix('tls'), brokers: [brokers], env: secured(PASSWORD) });
    rx = await startReceiver();
    const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    expect(c.status).toBe(201);
    const sub = await svc.api<{ secret: string }>('POST', '/v1/subscriptions', {
      connectionId: c.body.id,
      trigger: 'record.created',
      object: 'Lead',
      destination: { type: 'webhook', url: rx.url },
    });
    expect(sub.status).toBe(201);
    rx.secrets = [sub.body.secret];
    await waitUntil(
      async () => {
        const r = await svc!.api<{ subscriber: string; objects: { object: string; mode: string }[] }>('GET', `/v1/connections/${c.body.id}`);
        return r.body.subscriber === 'running' && r.body.objects.some((o) => o.object === 'Lead' && o.mode === 'cdc');
      },
      30_000,
      'Lead followed by cdc',
    );
    const lead = await orgUser(org).sobject('Lead').create({ LastName: 'Lovelace', Company: 'Analytical Engines' });
    await waitUntil(() => rx!.received.some((x) => x.event.subject === lead.id), 30_000, 'the webhook');
    expect(rx.invalid).toEqual([]);
  });

  it('wrong credentials: forcehook serve exits with one clear line, no retry storm', async () => {
    const started = Date.now();
    const serve = await spawnForcehook(['serve'], {
      KAFKA_BROKERS: brokers,
      ...secured('not the password'),
      FORCEHOOK_API_TOKEN: API_TOKEN,
      FORCEHOOK_SECRET_KEY: SECRET_KEY,
      FORCEHOOK_HTTP_PORT: '0',
      FORCEHOOK_TOPIC_PREFIX: uniquePrefix('tls-wrong'),
      LOG_LEVEL: 'info',
    });
    const code = await serve.exited;
    const took = Date.now() - started;
    const logs = [...serve.lines, ...serve.stderr].flatMap((l) => {
      try {
        return [JSON.parse(l) as { level?: number; msg?: string }];
      } catch {
        return [];
      }
    });
    const errors = logs.filter((l) => (l.level ?? 0) >= 50);
    console.log(`[wrong credentials] exit ${code} after ${took} ms; error lines: ${errors.map((e) => e.msg).join(' | ')}`);
    expect(code).toBe(1);
    expect(took).toBeLessThan(30_000);
    expect(errors.filter((e) => /Kafka refused this client/.test(e.msg ?? ''))).toHaveLength(1);
    expect(logs.filter((l) => /waiting for Kafka/.test(l.msg ?? ''))).toHaveLength(0);
    // The client library's own account of the refusal is a warning: the line above is the one to act on.
    expect(errors).toHaveLength(1);
  });
});
