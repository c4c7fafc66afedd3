import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForcehookError, TransientError } from '../core/errors.js';
import { startEmulator, type RunningEmulator } from '../emulator/server.js';
import { createObjectResolver } from './objects.js';
import { admin, apiCalls, newOrg, sessionFor, silent } from '../../testkit/source/polling.js';

let em: RunningEmulator;
beforeAll(async () => {
  em = await startEmulator({ port: 0, logger: silent });
});
afterAll(async () => {
  await em?.close();
});

const failure = async (p: Promise<unknown>): Promise<ForcehookError> => {
  try {
    await p;
  } catch (err) {
    if (err instanceof ForcehookError) return err;
    throw err;
  }
  throw new Error('expected a failure');
};

describe('checking a subscription against the org', () => {
  it("answers the org's spelling of the object and its fields, compound parts included", async () => {
    const creds = await newOrg(em.url);
    const session = sessionFor(creds);
    const resolve = createObjectResolver({ session: () => session });
    expect(await resolve('c1', 'lead')).toEqual({ object: 'Lead' });
    expect(await resolve('c1', 'INVOICE__C', ['status__c'])).toEqual({ object: 'Invoice__c', fields: ['Status__c'] });
    expect(await resolve('c1', 'Account', ['billingaddress', 'BillingAddress.City', 'billingcity'])).toEqual({
      object: 'Account',
      fields: ['BillingAddress', 'BillingAddress.City', 'BillingCity'],
    });
    // Describes are cached: asking again costs the org nothing.
    const before = await apiCalls(em.url, creds.orgId);
    await resolve('c1', 'Lead', ['Company']);
    expect((await apiCalls(em.url, creds.orgId)) - before).toBe(0);
  });

  it('refuses an object the org does not have and a field the object does not have, naming them (400)', async () => {
    const session = sessionFor(await newOrg(em.url));
    const resolve = createObjectResolver({ session: () => session });
    const noObject = await failure(resolve('c1', 'Shipment__c'));
    expect(noObject.status).toBe(400);
    expect(noObject.message).toMatch(/^body\.object: the org has no object 'Shipment__c'/);
    const noField = await failure(resolve('c1', 'Lead', ['Company', 'Compny']));
    expect(noField.status).toBe(400);
    expect(noField.message).toBe("body.fields: Lead has no field 'Compny'");
    expect((await failure(resolve('c1', 'Account', ['BillingAddress.']))).status).toBe(400);
  });

  it('answers 503 when the org cannot be asked and 409 when the connection needs re-authorization', async () => {
    const creds = await newOrg(em.url);
    const session = sessionFor(creds);
    const resolve = createObjectResolver({ session: () => session });
    await admin(em.url, 'POST', `/__emulator/orgs/${creds.orgId}/faults`, { kind: 'fail-requests', status: 503, count: 10 });
    const down = await failure(resolve('c1', 'Contact'));
    expect([down.status, down.retriable]).toEqual([503, true]);
    const reauth = createObjectResolver({
      session: () => {
        throw new TransientError('SALESFORCE_REAUTH_REQUIRED', 'connection c1 needs re-authorization');
      },
    });
    expect((await failure(reauth('c1', 'Lead'))).status).toBe(409);
  });
});
