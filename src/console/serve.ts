import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { z } from 'zod';
import { UnauthorizedError } from '../core/errors.js';
import { parseBody } from '../http/validate.js';
import type { ConsoleLogins } from './logins.js';

/**
 * Where the console's bundle is: `npm run build:console` (vite) writes it to
 * `dist/console-app/`, from the sources in `console/`. From `src/console/` in a
 * checkout and from `dist/console/` in the image alike, that is two folders up.
 */
export const CONSOLE_BUNDLE_DIR = fileURLToPath(new URL('../../dist/console-app/', import.meta.url));

/** The console's own rules: scripts, styles and requests to this origin only; never framed. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const LoginSchema = z.object({ token: z.string().min(1).max(200) }).strict();

/**
 * `GET /console`: the operator console, static files built at build time (no
 * CDN, nothing fetched at run time). It calls the `/v1` API with the key the
 * operator signs in with, so it can do exactly what that key can.
 */
export function consoleRouter(deps: { logins: ConsoleLogins; bundleDir?: string }): Router {
  const dir = deps.bundleDir ?? CONSOLE_BUNDLE_DIR;
  const r = Router();
  r.use('/console', (_req, res, next) => {
    res.set({ 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });
    next();
  });
  r.post('/console/login', express.json({ limit: '1kb' }), (req, res) => {
    const { token } = parseBody(req, LoginSchema);
    const key = deps.logins.redeem(token);
    if (!key) throw new UnauthorizedError('this sign-in link was used already or has expired; sign in with an API key');
    res.json({ key });
  });
  r.get('/console', (_req, res) => {
    if (!existsSync(`${dir}/index.html`)) {
      res.status(503).type('text/plain').send('The console is not built: run `npm run build:console` (npm start and the Docker image build it).\n');
      return;
    }
    res.sendFile('index.html', { root: dir });
  });
  r.use('/console', express.static(dir, { index: false, fallthrough: true }));
  return r;
}
