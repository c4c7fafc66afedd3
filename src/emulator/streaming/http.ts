import type { Request, Response } from 'express';
import { processBatch } from './batch.js';
import type { CometdContext } from './context.js';
import * as E from './errors.js';
import { base, send, type Msg } from './wire.js';

const MAX_REQUEST_BYTES = 32_768;
const MIN_API_VERSION = 37;

function versionOf(req: Request): string | undefined {
  const fromParams = (req.params as Record<string, string | undefined> | undefined)?.['version'];
  if (fromParams) return fromParams;
  return /\/cometd\/([^/?]+)/.exec(req.originalUrl ?? req.url)?.[1];
}

function readBody(req: Request): Promise<unknown> {
  if (req.body !== undefined && (typeof req.body !== 'object' || req.body === null || Object.keys(req.body).length > 0 || Array.isArray(req.body))) {
    return Promise.resolve(req.body);
  }
  if (req.readableEnded) return Promise.resolve(req.body);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', () => resolve(undefined));
  });
}

/** The HTTP entry: the request's size and API version, its body as Bayeux messages, then the batch. */
export function cometdHandler(ctx: CometdContext): (req: Request, res: Response) => void {
  return (req, res) => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > MAX_REQUEST_BYTES) {
      send(res, [JSON.stringify({ error: E.REQUEST_TOO_LARGE, successful: false })], 413);
      return;
    }
    const version = versionOf(req);
    const versionError = !version ? E.VERSION_MANDATORY : !/^\d+\.\d+$/.test(version) || Number(version) < MIN_API_VERSION ? E.VERSION_UNSUPPORTED : undefined;
    readBody(req).then(
      (body) => {
        const messages = Array.isArray(body) ? body : body !== null && typeof body === 'object' ? [body] : null;
        if (!messages || messages.length === 0) {
          send(res, [JSON.stringify({ error: '400::Invalid message', successful: false })], 400);
          return;
        }
        if (versionError) {
          send(
            res,
            messages.map((m) => JSON.stringify({ ...base((m ?? {}) as Msg, String((m as Msg)?.['channel'] ?? '')), error: versionError, successful: false })),
            400,
          );
          return;
        }
        processBatch(ctx, messages, req, res);
      },
      (err: unknown) => {
        ctx.log?.warn({ err }, 'streaming request failed');
        if (!res.headersSent) res.status(500).end();
      },
    );
  };
}
