/**
 * The hosted connect page: server-rendered HTML with plain forms, reached through a session's
 * `connectUrl`. No API key: the link carries the session's own token, which works once; the
 * browser trades it for a cookie scoped to the session's pages and is sent to the same URL
 * without it, so the token leaves the address bar, the history and any Referer at once.
 */
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { CreateConnectSessionSchema, authorizeUrlOf, connectSessionView, pagePlace, sessionPlace } from '../api/connect-sessions.js';
import { ForcehookError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { SecretBox } from '../core/secrets.js';
import { assertAllowedUrl } from '../net/egress.js';
import type { SalesforceEgress } from '../net/salesforce-egress.js';
import type { ConnectSessionRecord } from '../state/records.js';
import type { ServiceStore } from '../state/store.js';
import type { Html } from './html.js';
import { sendPage, type Brand } from './layout.js';
import type { Choice } from '../salesforce/catalog.js';
import { mappingChoiceView, messageView, outcomeView, startView, type FieldErrors, type StartValues } from './views.js';

export interface ConnectPageDeps {
  box: SecretBox;
  store: ServiceStore;
  egress: SalesforceEgress;
  allowPrivateNetworks: boolean;
  logger: Logger;
  brand: Brand;
  loginUrls: { production: string; sandbox: string };
  publicUrl: () => string;
  loaded?: () => boolean;
  now?: () => number;
  /** The mapping step: the org's objects and fields to choose from, and saving a choice as the API does. */
  mappings?: {
    objects(connectionId: string): Promise<Choice[]>;
    fields(connectionId: string, object: string): Promise<{ object: string; fields: Choice[] }>;
    save(connectionId: string, name: string, body: { object: string; fields: Record<string, string> }): Promise<unknown>;
  };
}

const COOKIE = 'forcehook_connect';
const TokenSchema = z.object({ s: z.string().min(1) });

const blank = (v: unknown): unknown => (typeof v === 'string' ? (v.trim() === '' ? undefined : v.trim()) : v);

/** The start form, checked with the API's own rules for the same values (same messages). */
export const StartFormSchema = z.object({
  environment: z.enum(['production', 'sandbox', 'mydomain'], { error: 'choose Production, Sandbox or My Domain' }),
  loginUrl: z.preprocess(blank, CreateConnectSessionSchema.shape.loginUrl),
  clientId: z.preprocess(blank, z.string().min(1).max(512).optional()),
  clientSecret: z.preprocess(blank, z.string().min(1).max(512).optional()),
});

function cookieOf(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

export function connectPageRouter(deps: ConnectPageDeps): Router {
  const r = Router();
  const now = () => deps.now?.() ?? Date.now();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  const page = (res: Response, title: string, body: Html, status = 200) => sendPage(res, deps.brand, title, body, status);

  const tokenFits = (id: string, token: string | undefined): boolean => {
    if (!token) return false;
    try {
      return TokenSchema.parse(JSON.parse(deps.box.open(token, pagePlace(id)))).s === id;
    } catch {
      return false;
    }
  };

  /** The session of a request whose browser holds its cookie; otherwise answers a page itself. */
  const sessionOf = (req: Request, res: Response): ConnectSessionRecord | undefined => {
    const id = String(req.params.id);
    if (deps.loaded && !deps.loaded()) {
      page(res, 'Try again shortly', messageView('Try again shortly', 'The service is starting. Reload this page in a few seconds.'), 503);
      return undefined;
    }
    const s = deps.store.connectSession(id);
    if (!s || !tokenFits(id, cookieOf(req))) {
      page(res, 'Link not valid', messageView('This link is not valid', 'Open the link you were given again, or ask for a new one.'), 403);
      return undefined;
    }
    return s;
  };

  const continueUrl = (s: ConnectSessionRecord): string | undefined => {
    if (!s.returnUrl) return undefined;
    const u = new URL(s.returnUrl);
    const params: Record<string, string | undefined> =
      s.status === 'completed'
        ? { connectionId: s.connectionId, orgId: s.orgId, status: 'connected' }
        : { error: s.error ?? 'expired', error_description: s.errorDescription?.slice(0, 500) };
    for (const [k, v] of Object.entries({ ...params, connectSessionId: s.id })) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  };

  const needsUserApp = (s: ConnectSessionRecord) => !s.clientId;

  const showStart = (res: Response, s: ConnectSessionRecord, values: StartValues = {}, errors: FieldErrors = {}, status = 200) => {
    if (s.status !== 'pending' || connectSessionView(s, now()).status === 'expired') return showOutcome(res, s);
    page(
      res,
      'Connect your Salesforce org',
      startView(s, { brandName: deps.brand.name, loginUrls: deps.loginUrls, needsUserApp: needsUserApp(s), values, errors }),
      status,
    );
  };

  const showOutcome = (res: Response, s: ConnectSessionRecord) => {
    const view = connectSessionView(s, now());
    if (view.status === 'expired') {
      const back = continueUrl({ ...s, status: 'failed', error: 'expired' });
      page(
        res,
        'Link expired',
        messageView('This link expired', `Ask ${deps.brand.name} for a new one.`, back ? { href: back, label: 'Back' } : undefined),
        410,
      );
      return;
    }
    if (s.status === 'pending') {
      page(res, 'Not finished', messageView('Not connected yet', 'The Salesforce step was not finished.', { href: `/connect/${s.id}`, label: 'Start again' }));
      return;
    }
    const next = nextMapping(s);
    page(
      res,
      s.status === 'completed' ? 'Connected' : 'Not connected',
      outcomeView(s, {
        brandName: deps.brand.name,
        continueUrl: continueUrl(s),
        mappingsUrl: next === undefined ? undefined : `/connect/${s.id}/mappings/${next}`,
      }),
    );
  };

  /** The first mapping the session asks for that the connection does not have yet. */
  const nextMapping = (s: ConnectSessionRecord): number | undefined => {
    if (s.status !== 'completed' || !s.connectionId || !deps.mappings) return undefined;
    const i = (s.mappings ?? []).findIndex((m) => !deps.store.mapping(s.connectionId!, m.name));
    return i < 0 ? undefined : i;
  };

  /** The mapping step's page: the objects, and the fields of the one chosen. */
  const showMapping = async (
    res: Response,
    s: ConnectSessionRecord,
    index: number,
    object: string | undefined,
    values: Record<string, string | undefined>,
    errors: Record<string, string | undefined>,
    status = 200,
  ) => {
    const m = s.mappings![index]!;
    const catalog = deps.mappings!;
    const objects = await catalog.objects(s.connectionId!);
    let fields: Choice[] | undefined;
    let chosen = object;
    if (chosen) {
      try {
        const described = await catalog.fields(s.connectionId!, chosen);
        chosen = described.object;
        fields = described.fields;
      } catch (err) {
        if (!(err instanceof ForcehookError) || err.retriable) throw err;
        errors = { ...errors, object: `the org has no object '${chosen}'` };
        chosen = undefined;
      }
    }
    page(
      res,
      'Choose fields',
      mappingChoiceView({ sessionId: s.id, index, count: s.mappings!.length, name: m.name, labels: m.labels, objects, object: chosen, fields, values, errors }),
      status,
    );
  };

  /** The session and mapping of a mapping-step request, or undefined when a page was answered instead. */
  const mappingOf = (req: Request, res: Response): { s: ConnectSessionRecord; index: number } | undefined => {
    const s = sessionOf(req, res);
    if (!s) return undefined;
    const index = Number(req.params.index);
    if (s.status !== 'completed' || !s.connectionId || !deps.mappings || !Number.isInteger(index) || !s.mappings?.[index]) {
      showOutcome(res, s);
      return undefined;
    }
    return { s, index };
  };

  const guarded =
    (fn: (req: Request, res: Response) => Promise<void> | void): RequestHandler =>
    async (req, res) => {
      try {
        await fn(req, res);
      } catch (err) {
        deps.logger.error({ err, path: req.path }, 'connect page failed');
        if (!res.headersSent) page(res, 'Something went wrong', messageView('Something went wrong', 'Reload the page to try again.'), 500);
      }
    };

  // The link: its token, once, for a cookie; then the same page without the token in the address.
  r.get(
    '/connect/:id',
    guarded(async (req, res) => {
      const id = String(req.params.id);
      const token = typeof req.query.token === 'string' ? req.query.token : undefined;
      if (token === undefined) {
        const s = sessionOf(req, res);
        if (s) showStart(res, s);
        return;
      }
      const s = deps.store.connectSession(id);
      if (!s || !tokenFits(id, token)) {
        page(res, 'Link not valid', messageView('This link is not valid', 'Open the link you were given again, or ask for a new one.'), 403);
        return;
      }
      if (s.pageOpenedAt && cookieOf(req) !== token) {
        page(res, 'Link used', messageView('This link was used already', `Each link opens once. Ask ${deps.brand.name} for a new one.`), 403);
        return;
      }
      if (!s.pageOpenedAt) await deps.store.putConnectSession({ ...s, pageOpenedAt: new Date(now()).toISOString() });
      res.cookie(COOKIE, token, {
        path: `/connect/${id}`,
        httpOnly: true,
        sameSite: 'lax',
        secure: new URL(deps.publicUrl()).protocol === 'https:',
        maxAge: Math.max(0, Date.parse(s.expiresAt) - now()) + 3_600_000,
      });
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.redirect(303, `/connect/${encodeURIComponent(id)}`);
    }),
  );

  r.post(
    '/connect/:id',
    form,
    guarded(async (req, res) => {
      const s = sessionOf(req, res);
      if (!s) return;
      if (s.status !== 'pending' || connectSessionView(s, now()).status === 'expired') return showOutcome(res, s);
      const raw = (req.body ?? {}) as Record<string, unknown>;
      const values: StartValues = {
        environment: typeof raw.environment === 'string' ? raw.environment : undefined,
        loginUrl: typeof raw.loginUrl === 'string' ? raw.loginUrl : undefined,
        clientId: typeof raw.clientId === 'string' ? raw.clientId : undefined,
      };
      const parsed = StartFormSchema.safeParse(s.allowUserOAuth ? raw : { ...raw, clientId: undefined, clientSecret: undefined });
      const errors: FieldErrors = {};
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const field = String(issue.path[0] ?? 'environment') as keyof FieldErrors;
          errors[field] ??= issue.message;
        }
        return showStart(res, s, values, errors, 400);
      }
      const f = parsed.data;
      if (f.environment === 'mydomain' && !f.loginUrl) errors.loginUrl = 'required for My Domain';
      if ((f.clientId === undefined) !== (f.clientSecret === undefined)) {
        errors[f.clientId === undefined ? 'clientId' : 'clientSecret'] = 'required with the other half of the OAuth app';
      } else if (needsUserApp(s) && !f.clientId) errors.clientId = 'required: enter your OAuth app';
      const loginUrl = f.environment === 'mydomain' ? f.loginUrl : deps.loginUrls[f.environment];
      if (loginUrl && !errors.loginUrl) {
        try {
          deps.egress.hosts.check(loginUrl, 'loginUrl');
          await assertAllowedUrl(loginUrl, { allowPrivate: deps.allowPrivateNetworks, field: 'loginUrl' });
        } catch (err) {
          if (!(err instanceof ForcehookError) || err.status !== 400) throw err;
          errors[f.environment === 'mydomain' ? 'loginUrl' : 'environment'] = err.message;
        }
      }
      if (Object.keys(errors).length > 0 || !loginUrl) return showStart(res, s, values, errors, 400);
      const latest = deps.store.connectSession(s.id) ?? s;
      const next: ConnectSessionRecord = {
        ...latest,
        loginUrl: new URL(loginUrl).origin,
        ...(f.clientId && f.clientSecret ? { clientId: f.clientId, clientSecret: deps.box.seal(f.clientSecret, sessionPlace(s.id, 'clientSecret')) } : {}),
        viaPage: true,
        updatedAt: new Date(now()).toISOString(),
      };
      // Durable before the browser leaves: the callback, on whichever instance, reads the app and login URL from it.
      await deps.store.putConnectSession(next);
      res.redirect(303, authorizeUrlOf(deps.box, next));
    }),
  );

  r.get(
    '/connect/:id/mappings/:index',
    guarded(async (req, res) => {
      const found = mappingOf(req, res);
      if (!found) return;
      const { s, index } = found;
      const m = s.mappings![index]!;
      const stored = deps.store.mapping(s.connectionId!, m.name);
      const asked = typeof req.query.object === 'string' && req.query.object.trim() ? req.query.object.trim() : undefined;
      const object = asked ?? stored?.object ?? m.object;
      const values = Object.fromEntries(m.labels.map((l) => [`field_${l}`, stored?.fields[l]]));
      const errors = typeof req.query.object === 'string' && !asked ? { object: 'choose an object' } : {};
      await showMapping(res, s, index, object, values, errors, asked === undefined && typeof req.query.object === 'string' ? 400 : 200);
    }),
  );

  r.post(
    '/connect/:id/mappings/:index',
    form,
    guarded(async (req, res) => {
      const found = mappingOf(req, res);
      if (!found) return;
      const { s, index } = found;
      const m = s.mappings![index]!;
      const raw = (req.body ?? {}) as Record<string, unknown>;
      const required = z.preprocess(blank, z.string({ error: 'required: choose one' }).min(1, 'required: choose one'));
      const schema = z.object({ object: required, ...Object.fromEntries(m.labels.map((l) => [`field_${l}`, required])) });
      const values = Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const object = typeof raw.object === 'string' && raw.object.trim() ? raw.object.trim() : undefined;
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const errors: Record<string, string> = {};
        for (const issue of parsed.error.issues) errors[String(issue.path[0])] ??= issue.message;
        return showMapping(res, s, index, object, values, errors, 400);
      }
      const data = parsed.data as Record<string, string>;
      try {
        await deps.mappings!.save(s.connectionId!, m.name, { object: data.object!, fields: Object.fromEntries(m.labels.map((l) => [l, data[`field_${l}`]!])) });
      } catch (err) {
        if (!(err instanceof ForcehookError) || err.status >= 500) throw err;
        // The API's message, on the field it names when it names one.
        const label = m.labels.find((l) => err.message.includes(`'${data[`field_${l}`]}'`));
        return showMapping(res, s, index, object, values, { [label ? `field_${label}` : 'object']: err.message }, err.status);
      }
      const next = nextMapping(s);
      res.redirect(303, next === undefined ? `/connect/${encodeURIComponent(s.id)}/done` : `/connect/${encodeURIComponent(s.id)}/mappings/${next}`);
    }),
  );

  r.get(
    '/connect/:id/done',
    guarded((req, res) => {
      const s = sessionOf(req, res);
      if (s) showOutcome(res, s);
    }),
  );
  return r;
}
