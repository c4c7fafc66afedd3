import express, { type Express, type RequestHandler, type Router } from 'express';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../observability/metrics.js';
import { apiAuth, metricsAuth, type ApiKeyLookup } from './auth.js';
import { errorHandler, notFound } from './errors.js';

export interface HttpAppOptions {
  /** The admin key: every scope, and API key management. */
  apiToken: string;
  /** API keys from the state (revoked ones disappear from it on every instance). */
  apiKeys?: ApiKeyLookup;
  /** When set, /metrics needs it as a bearer token. */
  metricsToken?: string;
  bodyLimit: string;
  logger: Logger;
  metrics: Metrics;
  /** Resolves true when the instance can serve (Kafka answers, state loaded). */
  ready: () => Promise<boolean>;
  /** The OpenAPI document served at /openapi.json (the API layer builds it from its schemas); without it, 404. */
  openapi?: () => unknown;
  /** Routers (and guards) mounted under /v1, behind the bearer token, in order. */
  v1?: (Router | RequestHandler)[];
  /** Routers mounted at the root without auth and without a body parser (e.g. the OAuth callback, a GET). */
  public?: Router[];
}

export function createHttpApp(opts: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((req, res, next) => {
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? (res.statusCode === 404 ? 'unmatched' : req.baseUrl || req.path);
      opts.metrics.httpRequests.inc({ route: String(route), status: `${Math.floor(res.statusCode / 100)}xx` });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await opts.ready().catch(() => false);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready' });
  });
  app.get('/metrics', metricsAuth(opts.metricsToken), async (_req, res) => {
    res.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  // Built on first request: the document is static, but converting every schema costs a few ms at start.
  let openapi: string | undefined;
  const buildOpenApi = opts.openapi;
  if (buildOpenApi) {
    app.get('/openapi.json', (_req, res) => {
      openapi ??= JSON.stringify(buildOpenApi());
      res.type('application/json').send(openapi);
    });
  }

  // Public routers get no body parser: mounted at the root, a parser there would run for every
  // request, /v1 included, and answer 400/413 to a stranger's body before the bearer token is checked.
  for (const r of opts.public ?? []) app.use(r);
  const json = express.json({ limit: opts.bodyLimit, type: ['application/json', 'application/*+json'] });
  const v1 = express.Router();
  // Scopes are checked here, before routing: a read key's write is a 403 on every path, known or not.
  v1.use(apiAuth({ adminToken: opts.apiToken, ...(opts.apiKeys ? { keys: opts.apiKeys } : {}) }), json);
  for (const r of opts.v1 ?? []) v1.use(r);
  app.use('/v1', v1);

  app.use(notFound);
  app.use(errorHandler(opts.logger));
  return app;
}
