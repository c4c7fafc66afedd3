/**
 * HTTP glue of the REST API: version check, bearer session, the org's daily
 * API counter (`Sforce-Limit-Info` on every answer), injected faults, then
 * the route table.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Emulator } from '../emulator.js';
import versions from '../metadata/versions.json' with { type: 'json' };
import { errors, faultBody, SfApiError } from '../sf-errors.js';
import { callOptionsClient, parseVersion, type RestCall } from './call.js';
import { dispatch } from './dispatch.js';

const JSON_TYPE = 'application/json;charset=UTF-8';

function send(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status);
  if (status === 204 || body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', JSON_TYPE);
  res.end(JSON.stringify(body));
}

export function bearerToken(header: string | undefined): string | undefined {
  return /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(header ?? '')?.[1];
}

export interface RestRouterOptions {
  streamingClients?: (orgId: string) => number;
}

export function restRouter(em: Emulator, opts: RestRouterOptions = {}): Router {
  const r = express.Router();
  const listVersions = (_req: Request, res: Response): void => send(res, 200, versions);
  r.get(['/services/data', '/services/data/'], listVersions);

  r.use('/services/data/:version', express.json({ limit: '20mb', type: () => true }));

  r.all(['/services/data/:version', '/services/data/:version/*splat'], async (req, res) => {
    const version = parseVersion(String(req.params.version));
    if (!version) return send(res, 404, errors.notFoundResource().body);
    const grant = em.tokens.validateAccess(bearerToken(req.get('authorization')));
    const org = grant && em.org(grant.orgId);
    // A session used at an instance the org has left is as invalid as an expired one.
    if (!org || !em.servesAt(org, req.get('host'))) return send(res, 401, errors.invalidSession().body, { 'WWW-Authenticate': 'Token' });
    const now = em.clock.now();
    const counted = org.api.tryCount(now);
    const limitHeader = (): Record<string, string> => ({ 'Sforce-Limit-Info': `api-usage=${org.api.used(em.clock.now())}/${org.api.limit}` });
    if (!counted) return send(res, 403, errors.requestLimitExceeded().body, limitHeader());
    if (org.faults.slowCount > 0) {
      org.faults.slowCount--;
      await new Promise((resolve) => setTimeout(resolve, org.faults.slowMs));
    }
    if (org.faults.failCount > 0) {
      org.faults.failCount--;
      const err = faultBody(org.faults.failStatus);
      const extra: Record<string, string> = err.status === 401 ? { 'WWW-Authenticate': 'Token' } : {};
      return send(res, err.status, err.body, { ...limitHeader(), ...extra });
    }
    const path = req.path.replace(/^\/services\/data\/[^/]+\/?/, '');
    const call: RestCall = {
      em,
      org,
      version,
      method: req.method,
      segments: path.split('/').filter(Boolean).map(decodeURIComponent),
      query: new URL(req.originalUrl, 'http://emulator.invalid').searchParams,
      body: req.body,
      header: (name) => req.get(name),
      client: callOptionsClient(req.get('sforce-call-options')),
    };
    try {
      const result = dispatch(call, opts.streamingClients);
      send(res, result.status, result.body, { ...limitHeader(), ...(result.headers ?? {}) });
    } catch (err) {
      if (err instanceof SfApiError) return send(res, err.status, err.body, limitHeader());
      em.logger.error({ err, path: req.path }, 'emulator REST handler failed');
      send(
        res,
        500,
        [
          {
            errorCode: 'UNKNOWN_EXCEPTION',
            message: 'An unexpected error occurred. Please include this ErrorId if you contact support: 1838137264-12345 (-1883764224)',
          },
        ],
        limitHeader(),
      );
    }
  });

  // Malformed JSON bodies: Salesforce answers with Jackson's parser message.
  r.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!req.path.startsWith('/services/data/')) return next(err);
    const message = err instanceof Error ? err.message : String(err);
    send(res, 400, [{ message: `Unexpected character: ${message} at [line:1, column:1]`, errorCode: 'JSON_PARSER_ERROR' }]);
  });
  return r;
}
