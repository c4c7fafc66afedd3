import type { Request } from 'express';
import type { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { fromZodError } from './errors.js';

/** Parses the request body with `schema`; a failure is a 400 naming the field. */
export function parseBody<S extends z.ZodType>(req: Request, schema: S): z.output<S> {
  if (req.body === undefined) throw new ValidationError('body: a JSON object is required (Content-Type: application/json)');
  const parsed = schema.safeParse(req.body);
  if (!parsed.success) throw fromZodError(parsed.error, 'body');
  return parsed.data;
}

export function parseQuery<S extends z.ZodType>(req: Request, schema: S): z.output<S> {
  const parsed = schema.safeParse(req.query);
  if (!parsed.success) throw fromZodError(parsed.error, 'query');
  return parsed.data;
}
