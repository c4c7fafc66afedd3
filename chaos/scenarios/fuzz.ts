/**
 * 6. Bad input. (a) Property-based fuzzing (fast-check) of every `/v1` route (and the OAuth callback):
 * malformed and hostile bodies, ids, headers, huge strings, prototype-pollution keys → every answer a 4xx
 * (or 2xx when valid), never a 5xx, the instance (a child process) never crashes and still works afterwards.
 * (b) The normalizer: malformed and hostile CDC payloads injected through the emulator, then a valid change
 * made after the garbage must still arrive (no stuck subscriber).
 * (c) Attacks on a hosted service, each with the answer that stops it: a login URL aimed at the cloud metadata
 * address, a private network or a host that is not Salesforce's (SSRF); the same org connected a second time
 * (takeover); a forged and a replayed OAuth callback; a read key writing; a stranger's oversized body.
 */
import fc from 'fast-check';
import { API_TOKEN } from '../../testkit/api.js';
import { activity, childInstance, prefixFor, sleep, steadyOrg, verdict, type Ctx, type Instance, type Scenario } from '../lib.js';

const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '$where', 'valueOf'];
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '../../etc/passwd',
    '%2e%2e%2f',
    '<script>alert(1)</script>',
    "' OR 1=1 --",
    '${jndi:ldap://x}',
    'javascript:alert(1)',
    'http://169.254.169.254/latest',
    'file:///etc/passwd',
    '\ud800',
    'NaN',
    '-1',
    '1e309',
    '__proto__',
    'constructor',
  ),
  fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n)),
);
const scalar = fc.oneof(hostileString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const hostileObject: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...HOSTILE_KEYS)), tie('v'), { maxKeys: 6 }),
  ),
})).v;

function fieldsMutated(valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({ key: fc.constantFrom(...Object.keys(valid), ...HOSTILE_KEYS), value: fc.oneof(scalar, hostileObject) }).map(({ key, value }) => {
    const o: Record<string, unknown> = { ...valid };
    Object.defineProperty(o, key, { value, enumerable: true, configurable: true, writable: true });
    return o;
  });
}

/** Lone surrogates cannot be percent-encoded as UTF-8: send their (invalid) CESU bytes instead. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80' + encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''));
  }
}

interface Req {
  method: string;
  path: string;
  body?: string;
  headers: Record<string, string>;
}

function requests(
  ids: { connectionId: string; subscriptionId: string },
  validSub: Record<string, unknown>,
  validConn: Record<string, unknown>,
): fc.Arbitrary<Req> {
  const id = fc.oneof(
    fc.constant(ids.connectionId),
    fc.constant(ids.subscriptionId),
    hostileString.map((s) => enc(s)),
    fc.constantFrom('..', '%00', '%E0%A4%A', 'a/b', '%2F', '__proto__', 'constructor'),
  );
  const routes = fc.oneof(
    fc.constant({ method: 'GET', path: '/v1/connections' }),
    fc.constant({ method: 'POST', path: '/v1/connections' }),
    id.map((i) => ({ method: 'GET', path: `/v1/connections/${i}` })),
    // DELETE only on ids that are not the live ones: the service must still work afterwards
    hostileString.map((s) => ({ method: 'DELETE', path: `/v1/connections/${enc(s)}` })),
    fc.constant({ method: 'POST', path: '/v1/connect-sessions' }),
    fc.constant({ method: 'GET', path: '/v1/subscriptions' }),
    fc.constant({ method: 'POST', path: '/v1/subscriptions' }),
    id.map((i) => ({ method: 'GET', path: `/v1/subscriptions/${i}` })),
    hostileString.map((s) => ({ method: 'DELETE', path: `/v1/subscriptions/${enc(s)}` })),
    // Not on the live subscription: rotating its secret twice ends the one the receiver verifies with (as it should).
    hostileString.map((s) => ({ method: 'POST', path: `/v1/subscriptions/${enc(s)}/rotate-secret` })),
    id.map((i) => ({ method: 'POST', path: `/v1/subscriptions/${i}/redeliver` })),
    fc
      .dictionary(fc.constantFrom('code', 'state', 'error', 'error_description', '__proto__'), hostileString, { maxKeys: 3 })
      .map((q) => ({ method: 'GET', path: `/oauth/callback?${new URLSearchParams(q).toString()}` })),
    fc.constantFrom('PUT', 'PATCH', 'OPTIONS').map((m) => ({ method: m, path: '/v1/subscriptions' })),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    hostileObject.map((v) => JSON.stringify(v) ?? 'null'),
    fieldsMutated(validSub).map((v) => JSON.stringify(v)),
    fieldsMutated(validConn).map((v) => JSON.stringify(v)),
    fc.constantFrom(
      '{"dlq":true}',
      '{"from":"2020-01-01T00:00:00Z","to":"2030-01-01T00:00:00Z"}',
      '{"from":"x","to":1}',
      '{"__proto__":{"dlq":true}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      '{',
      '[',
      'null',
      '"',
      '{"a":' + '['.repeat(5000),
      '\u0000',
      '',
    ),
    hostileString,
  );
  const contentType = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=latin1',
    'multipart/form-data; boundary=x',
    '',
  );
  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constant('ok') },
    fc.constantFrom('', 'Bearer', 'Bearer x', 'Basic Zm9vOmJhcg==', 'Bearer ' + 'x'.repeat(10_000)),
  );
  return fc.record({ route: routes, body, contentType, auth }).map(({ route, body, contentType, auth }) => ({
    method: route.method,
    path: route.path,
    ...(body !== undefined && route.method !== 'GET' ? { body } : {}),
    headers: { ...(contentType ? { 'content-type': contentType } : {}), ...(auth === 'ok' ? {} : { authorization: auth }) },
  }));
}

/** Garbage shaped more or less like a CDC change event. */
const cdcGarbage: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  hostileObject.map((v) => ({ ChangeEventHeader: v })),
  fc
    .record(
      {
        entityName: fc.oneof(fc.constantFrom('Lead', 'Contact', 'Nope__c', ''), scalar),
        recordIds: fc.oneof(fc.array(fc.oneof(fc.constantFrom('00Q000000000001AAA', '00Qzz'), scalar), { maxLength: 4 }), scalar),
        changeType: fc.oneof(fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_OVERFLOW', 'BOGUS'), scalar),
        changeOrigin: scalar,
        transactionKey: scalar,
        sequenceNumber: scalar,
        commitTimestamp: fc.oneof(fc.integer(), fc.double(), scalar),
        commitNumber: scalar,
        commitUser: scalar,
        changedFields: fc.oneof(fc.array(scalar, { maxLength: 4 }), scalar),
        __proto__: hostileObject,
      },
      { requiredKeys: [] },
    )
    .chain((h) =>
      fc
        .dictionary(fc.oneof(fc.string(), fc.constantFrom(...HOSTILE_KEYS)), hostileObject, { maxKeys: 4 })
        .map((fields) => ({ ...fields, ChangeEventHeader: h })),
    ),
);

export const fuzz: Scenario = {
  name: 'fuzz',
  quick: true,
  async run(ctx: Ctx) {
    const prefix = prefixFor('fuzz');
    const svc: Instance = await childInstance(ctx, { prefix });
    const o = await steadyOrg(ctx, ctx.brokers, prefix, (...a) => svc.api(...a));
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);
    const statuses: Record<string, number> = {};
    const fiveHundreds: string[] = [];
    try {
      // (a) the API
      const validSub = { connectionId: o.connectionId, trigger: 'record.created', object: 'Lead', destination: { type: 'webhook', url: o.receiver.url } };
      const validConn = { loginUrl: o.org.loginUrl, clientId: o.org.clientId, clientSecret: o.org.clientSecret, refreshToken: 'x' };
      const reqs = fc.sample(requests({ connectionId: o.connectionId, subscriptionId: o.subscriptionIds[0]! }, validSub, validConn), {
        numRuns: ctx.quick ? 300 : 1_500,
        seed,
      });
      for (const r of reqs) {
        let status: number;
        try {
          const res = await fetch(`${svc.url}${r.path}`, {
            method: r.method,
            headers: { authorization: `Bearer ${API_TOKEN}`, ...r.headers },
            ...(r.body !== undefined ? { body: r.body } : {}),
            redirect: 'manual',
            signal: AbortSignal.timeout(20_000),
          });
          await res.arrayBuffer();
          status = res.status;
        } catch (err) {
          status = 0; // connection reset / timeout: as bad as a 500
          const cause = (err as { cause?: { code?: string; message?: string } }).cause;
          fiveHundreds.push(
            `${r.method} ${r.path.slice(0, 80)}: ${(err as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''} body=${(r.body ?? '').slice(0, 80)} headers=${JSON.stringify(r.headers).slice(0, 120)}`,
          );
        }
        statuses[String(status)[0] + 'xx'] = (statuses[String(status)[0] + 'xx'] ?? 0) + 1;
        if (status >= 500) fiveHundreds.push(`${status} ${r.method} ${r.path.slice(0, 80)} ${(r.body ?? '').slice(0, 120)}`);
        if (!svc.alive!()) throw new Error(`instance crashed after ${r.method} ${r.path.slice(0, 80)} ${(r.body ?? '').slice(0, 200)}`);
      }
      ctx.log(`fuzz: ${reqs.length} API requests (seed ${seed}): ${JSON.stringify(statuses)}`);

      // (b) the normalizer
      const garbage = fc.sample(cdcGarbage, { numRuns: ctx.quick ? 60 : 250, seed });
      let injected = 0;
      for (const payload of garbage) {
        const res = await fetch(`${ctx.emulator.url}/__emulator/orgs/${o.org.orgId}/changes`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ payload }),
        });
        await res.arrayBuffer();
        if (res.ok) injected++;
      }
      await sleep(2_000);
      for (const id of o.ledger.snapshot().keys()) o.ledger.exclude.add(id); // garbage that looks like changes is not expected
      o.ledger.expected.clear();
      await activity(ctx, o.org.orgId, 10, ['Lead'], ctx.quick ? 3 : 6);
      await sleep((ctx.quick ? 3 : 6) * 1000 + 500);
      const c = await o.ledger.settle(o.reader, o.receiver, 60_000);
      // (c) attacks
      const attacks = await attack(svc, o.org);
      ctx.log(`fuzz: attacks ${JSON.stringify(attacks)}`);
      const alive = svc.alive!();
      const v = verdict(c, { apiRequests: reqs.length, statuses, fiveHundreds: fiveHundreds.slice(0, 10), garbageInjected: injected, seed, alive, attacks });
      // Valid requests must have been answered as such: a fuzz that only ever met 401 tested nothing.
      v.ok &&= fiveHundreds.length === 0 && alive && (statuses['2xx'] ?? 0) > 0 && attacks.every((a) => a.stopped);
      return v;
    } finally {
      await svc.stop().catch(() => undefined);
      await o.close();
    }
  },
};

interface Attack {
  name: string;
  status: number;
  stopped: boolean;
}

/** Each attack and the status that shows it was stopped (and that it was not a 5xx). */
async function attack(svc: Instance, org: { loginUrl: string; clientId: string; clientSecret: string; refreshToken: string }): Promise<Attack[]> {
  const out: Attack[] = [];
  const call = async (name: string, expected: number[], method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${svc.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      redirect: 'manual',
    });
    const text = await res.text();
    out.push({ name, status: res.status, stopped: expected.includes(res.status) });
    return text;
  };
  const creds = { clientId: org.clientId, clientSecret: org.clientSecret, refreshToken: org.refreshToken };
  for (const loginUrl of ['http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/', 'https://login.salesforce.com.evil.example/', 'file:///etc/passwd']) {
    await call(`ssrf loginUrl ${loginUrl}`, [400], 'POST', '/v1/connections', { loginUrl, ...creds });
  }
  await call('org takeover: the same org connected again', [409], 'POST', '/v1/connections', { loginUrl: org.loginUrl, ...creds });
  await call('forged OAuth callback state', [400], 'GET', '/oauth/callback?state=forged&code=x');
  const session = JSON.parse(
    await call('connect session', [201], 'POST', '/v1/connect-sessions', {
      loginUrl: org.loginUrl,
      oauthApp: { clientId: org.clientId, clientSecret: org.clientSecret },
    }),
  ) as { authorizeUrl?: string };
  const state = session.authorizeUrl ? new URL(session.authorizeUrl).searchParams.get('state') : null;
  if (state) {
    await call('callback with a stolen state and a made-up code', [400, 502], 'GET', `/oauth/callback?state=${encodeURIComponent(state)}&code=made-up`);
    await call('the same callback replayed', [400], 'GET', `/oauth/callback?state=${encodeURIComponent(state)}&code=made-up`);
  }
  const key = JSON.parse(await call('read key created', [201], 'POST', '/v1/api-keys', { name: 'chaos-read', scopes: ['read'] })) as {
    key?: string;
    id?: string;
  };
  if (key.key) {
    const asReader = { authorization: `Bearer ${key.key}` };
    await call('read key writing a subscription', [403], 'POST', '/v1/subscriptions', { trigger: 'record.created' }, asReader);
    await call('read key deleting a connection', [403], 'DELETE', '/v1/connections/x', undefined, asReader);
    await call('read key making itself a key', [403], 'POST', '/v1/api-keys', { name: 'x', scopes: ['read', 'write'] }, asReader);
    await call('read key reading', [200], 'GET', '/v1/connections', undefined, asReader);
    await call('read key revoked', [204], 'DELETE', `/v1/api-keys/${key.id}`);
  }
  await call('a stranger posting a 2 MB body', [401], 'POST', '/v1/subscriptions', 'x'.repeat(2_000_000), {
    authorization: '',
    'content-type': 'application/json',
  });
  return out;
}
