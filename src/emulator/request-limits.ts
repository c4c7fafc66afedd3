/**
 * Salesforce's front end refuses a request whose URI, or URI and headers together, exceed 16,384 bytes:
 * 414 URI Too Long, 431 Request Header Fields Too Large, with the front end's own HTML page rather than a
 * REST error body (see README, Wide objects). The limit holds for every request line, so a SOQL query in a
 * GET is bounded by it; a query inside a composite request body is not.
 */
import type { NextFunction, Request, Response } from 'express';

export const REQUEST_LINE_MAX_BYTES = 16_384;
/** Node refuses headers past its own limit before any handler runs; it must be above Salesforce's. */
export const NODE_MAX_HEADER_BYTES = 4 * REQUEST_LINE_MAX_BYTES;

function badMessage(res: Response, status: number, reason: string): void {
  res.status(status).setHeader('Content-Type', 'text/html;charset=iso-8859-1');
  res.setHeader('Connection', 'close');
  res.end(`<h1>Bad Message ${status}</h1><pre>reason: ${reason}</pre>`);
}

export function requestLimits(req: Request, res: Response, next: NextFunction): void {
  const uri = Buffer.byteLength(req.originalUrl);
  if (uri > REQUEST_LINE_MAX_BYTES) return badMessage(res, 414, 'URI Too Long');
  let headers = 0;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers += Buffer.byteLength(req.rawHeaders[i]!) + Buffer.byteLength(req.rawHeaders[i + 1]!) + 4;
  if (uri + headers > REQUEST_LINE_MAX_BYTES) return badMessage(res, 431, 'Request Header Fields Too Large');
  next();
}
