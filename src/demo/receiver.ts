import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTP } from 'cloudevents';
import { Webhook } from 'standardwebhooks';

export interface ReceivedDelivery {
  path: string;
  verified: boolean;
  event: { id: string; type: string; subject?: string; data?: Record<string, unknown> } | undefined;
  error?: string;
}

/**
 * The webhook receiver a customer would run: it verifies each request's
 * Standard Webhooks signature with the secret of the subscription it was
 * registered for, then parses the CloudEvent with the SDK.
 */
export async function startReceiver(
  onDelivery: (d: ReceivedDelivery) => void,
): Promise<{ url: string; setSecret(path: string, secret: string): void; close(): Promise<void> }> {
  const secrets = new Map<string, Webhook>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0]!;
      const wh = secrets.get(path);
      let verified = false;
      let error: string | undefined;
      try {
        if (!wh) throw new Error('no secret for this path');
        wh.verify(body, req.headers as Record<string, string>);
        verified = true;
      } catch (err) {
        error = (err as Error).message;
      }
      let event: ReceivedDelivery['event'];
      try {
        const ce = HTTP.toEvent({ headers: req.headers as Record<string, string>, body });
        const one = Array.isArray(ce) ? ce[0] : ce;
        event = one ? { id: one.id, type: one.type, subject: one.subject, data: one.data as Record<string, unknown> } : undefined;
      } catch (err) {
        error ??= (err as Error).message;
      }
      res.statusCode = verified ? 204 : 401;
      res.end();
      onDelivery({ path, verified, event, ...(error ? { error } : {}) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setSecret: (path, secret) => secrets.set(path, new Webhook(secret)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
