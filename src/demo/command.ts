import { randomBytes } from 'node:crypto';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { printReady, untilSignal } from '../cli/args.js';
import { acquireBroker } from '../kafka/broker.js';
import { startEmulator } from '../emulator/server.js';
import { startService } from '../service/service.js';
import { startReceiver, type ReceivedDelivery } from './receiver.js';

const SUBSCRIPTIONS = [
  { trigger: 'record.created', object: 'Lead' },
  { trigger: 'record.updated', object: 'Lead' },
  { trigger: 'record.deleted', object: 'Lead' },
  { trigger: 'campaign_member.added' },
  { trigger: 'campaign_opportunity.added' },
] as const;

const DEMO_ORG = { rotateRefreshTokens: true };

const ACTIVITY = { perSecond: 2, objects: ['Lead', 'Account', 'Opportunity', 'CampaignMember'] };

function line(d: ReceivedDelivery): string {
  const t = new Date().toISOString().slice(11, 19);
  if (!d.event) return `${t}  ✗ unreadable delivery on ${d.path}: ${d.error ?? ''}`;
  const data = d.event.data ?? {};
  const changed = Array.isArray(data.changedFields) && data.changedFields.length > 0 ? `  changed: ${(data.changedFields as string[]).join(', ')}` : '';
  const campaign = data.campaignId ? `  campaign ${String(data.campaignId)}` : '';
  const sig = d.verified ? '✓' : `✗ signature: ${d.error ?? 'invalid'}`;
  return `${t}  ${sig} ${d.event.type.replace('salesforce.', '').padEnd(27)} ${String(data.object ?? '').padEnd(14)} ${d.event.subject ?? ''}${changed}${campaign}  (${String(data.detectedBy ?? '')})`;
}

/**
 * `forcehook demo` (npm start): a broker, an emulated org with live activity,
 * the service, subscriptions for all five triggers and a receiver that
 * verifies and prints every webhook. Everything it starts, it stops on Ctrl-C.
 */
export async function runDemoCommand(argv: string[]): Promise<void> {
  if (argv.length > 0) throw new Error(`--: demo takes no arguments, got '${argv.join(' ')}'`);
  // The demo's own lines are the show; the components' logs stay out of it unless asked for.
  const quiet = createLogger({ level: process.env.LOG_LEVEL ?? 'silent' });
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    out('forcehook demo: starting a Kafka broker (first run fetches Apache Kafka from Maven Central)...');
    // Stopped by stopAll, last: the service stops first, against a broker still there.
    const broker = await acquireBroker({ logger: quiet, stopOnSignal: false });
    stops.push(() => broker.stop());
    const emulator = await startEmulator({ port: 0, logger: quiet });
    stops.push(() => emulator.close());
    // The strict path is the everyday one: each refresh answers a new refresh token and retires the used one
    // (stamps are whole seconds on every emulated org).
    const org = (await (
      await fetch(`${emulator.url}/__emulator/orgs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(DEMO_ORG) })
    ).json()) as Record<string, string>;

    const apiToken = randomBytes(18).toString('base64url');
    const config = loadConfig({
      env: {},
      overrides: {
        kafka: { brokers: broker.brokers.split(','), topicPrefix: `demo-${randomBytes(3).toString('hex')}` },
        http: { port: Number(process.env.FORCEHOOK_HTTP_PORT ?? 0) },
        apiToken,
        secretKey: randomBytes(32).toString('base64'),
        allowPrivateNetworks: true,
        // The emulator answers on loopback over http.
        salesforceHosts: ['127.0.0.1'],
        pollIntervalS: 5,
        logLevel: 'warn',
      },
    });
    const service = await startService({ config, logger: quiet });
    // Bounded all the same: a broker that died on its own leaves the Kafka clients retrying.
    stops.push(() => within(service.stop(), SERVICE_STOP_MS));
    await service.loaded;

    const receiver = await startReceiver((d) => out(line(d)));
    stops.push(() => receiver.close());
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${service.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as T;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const connection = await api<{ id: string; orgId: string }>('POST', '/v1/connections', {
      loginUrl: org.loginUrl,
      clientId: org.clientId,
      clientSecret: org.clientSecret,
      refreshToken: org.refreshToken,
    });
    for (const s of SUBSCRIPTIONS) {
      const path = `/hooks/${s.trigger}${'object' in s ? `/${s.object}` : ''}`;
      const sub = await api<{ id: string; secret: string }>('POST', '/v1/subscriptions', {
        connectionId: connection.id,
        ...s,
        destination: { type: 'webhook', url: `${receiver.url}${path}` },
      });
      receiver.setSecret(path, sub.secret);
    }
    await fetch(`${emulator.url}/__emulator/orgs/${org.orgId}/activity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ACTIVITY),
    });

    printReady({ url: service.url, brokers: broker.brokers, emulator: emulator.url, receiver: receiver.url });
    out('');
    out(`  kafka     ${broker.brokers} (${broker.kind}); events on ${config.kafka.topicPrefix}.events`);
    out(`  emulator  ${emulator.url}  org ${org.orgId}, ${ACTIVITY.perSecond} changes/s on ${ACTIVITY.objects.join(', ')}; refresh tokens rotated on each use`);
    out(`  service   ${service.url}  (Authorization: Bearer ${apiToken})`);
    // A one-time link: the page trades its token for the key, so the key is in no URL or browser history.
    out(`  console   ${service.consoleLoginUrl(apiToken)}  (opens signed in; the link works once, for 10 minutes)`);
    out(`  receiver  ${receiver.url}/hooks  verifies Standard Webhooks signatures`);
    out(`  following ${SUBSCRIPTIONS.map((s) => s.trigger + ('object' in s ? ` ${s.object}` : '')).join(', ')}`);
    out('  Ctrl-C stops everything.');
    out('');
    await untilSignal();
    // Stay the owner of the signal while stopping: a second Ctrl-C must not end the process
    // with Node's default before the broker is down.
    const holdSignal = (): void => undefined;
    process.on('SIGINT', holdSignal);
    process.on('SIGTERM', holdSignal);
    out('stopping...');
  } finally {
    await stopAll();
  }
  out('stopped.');
  // Everything started above is stopped (the broker's JVM has exited). A Kafka client retry
  // timer that outlived its client must not keep the terminal waiting after Ctrl-C:
  // unref'd, this fires only if something else still holds the event loop.
  setTimeout(() => process.exit(), 1_000).unref();
}

const SERVICE_STOP_MS = 15_000;

/** Settles when `p` does or after `ms`, whichever comes first; never rejects, leaves no timer behind. */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}
