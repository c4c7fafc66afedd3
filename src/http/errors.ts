import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { ForcehookError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** Turns the first zod issue into a 400 that names the failing field. */
export function fromZodError(err: ZodError, where = 'body'): ValidationError {
  const issue = err.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : undefined;
  const message = field ? `${where}.${field}: ${issue!.message}` : `${where}: ${issue?.message ?? 'invalid'}`;
  return new ValidationError(
    message,
    err.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.path}` } } satisfies ErrorBody);
};

/**
 * The one place where errors become HTTP answers. Body-parser failures are the
 * client's fault (400/413), never a 500; unknown errors are logged with their
 * stack and answered without internals.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const e = classify(err);
    if (e.status >= 500) logger.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return;
    const body: ErrorBody = { error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } };
    res.status(e.status).json(body);
  };
}

function classify(err: unknown): { status: number; code: string; message: string; details?: unknown } {
  if (err instanceof ZodError) return classify(fromZodError(err));
  if (err instanceof ForcehookError) {
    return { status: err.status, code: err.code, message: err.message, details: err.details };
  }
  const type = (err as { type?: unknown })?.type;
  const status = (err as { status?: unknown })?.status;
  if (type === 'entity.parse.failed') return { status: 400, code: 'VALIDATION', message: 'body: not valid JSON' };
  if (type === 'entity.too.large') return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'body: too large' };
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return { status: 415, code: 'VALIDATION', message: 'body: unsupported encoding' };
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, code: 'VALIDATION', message: (err as Error).message ?? 'bad request' };
  }
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}
