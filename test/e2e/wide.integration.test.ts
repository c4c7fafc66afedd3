/**
 * An object of 800 fields, 120 of them formulas: too wide for one GET (414) and too complex for one
 * query (QUERY_TOO_COMPLICATED). Polling and a GAP_OVERFLOW reconcile still read every field of every
 * change, and the connection shows no warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { uniquePrefix } from '../../testkit/kafka/brokers.js';
import { adminCall, createOrg, orgUser, readEvents, startTestEmulator, startTestService, waitUntil, type TestService } from '../../testkit/service.js';

const pad = (i: number): string => String(i).padStart(4, '0');
const plain = Array.from({ length: 680 }, (_, i) => ({ name: `Wide_Plain_Field_${pad(i)}__c`, type: 'text' }));
const formulas = Array.from({ length: 120 }, (_, i) => ({ name: `Wide_Formula_${pad(i)}__c`, type: 'text', formula: `Wide_Plain_Field_${pad(i)}__c` }));
const wideObject = { name: 'Wide__c', fields: [...plain, ...formulas] };

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});

interface ConnectionView {
  subscriber: string;
  objects: { object: string; mode: string }[];
  warnings: { code: string; message: string }[];
}

async function connect(svc: TestService, org: { loginUrl: string; clientId: string; clientSecret: string; refreshToken: string }): Promise<string> {
  const c = await svc.api<{ id: string }>('POST', '/v1/connections', {
    loginUrl: org.loginUrl,
    clientId: org.clientId,
    clientSecret: org.clientSecret,
    refreshToken: org.refreshToken,
  });
  for (const trigger of ['record.created', 'record.updated']) {
    await svc.api('POST', '/v1/subscriptions', {
      connectionId: c.body.id,
      trigger,
      object: 'Wide__c',
      destination: { type: 'webhook', url: 'http://127.0.0.1:9/h' },
    });
  }
  return c.body.id;
}

const view = async (svc: TestService, id: string): Promise<ConnectionView> => (await svc.api<ConnectionView>('GET', `/v1/connections/${id}`)).body;

describe('wide objects', () => {
  it('polling reads every field of an 800-field object with 120 formulas', async () => {
    const prefix = uniquePrefix('wide-poll');
    const org = await createOrg(emulator.url, { cdcEntities: [], customObjects: [wideObject] });
    const svc = await startTestService({ prefix });
    const reader = await readEvents(prefix);
    try {
      const id = await connect(svc, org);
      await waitUntil(async () => (await view(svc, id)).objects.some((o) => o.object === 'Wide__c' && o.mode === 'polling'), 20_000, 'polling mode');
      const user = orgUser(org);
      const rec = (await user
        .sobject('Wide__c')
        .create({ Wide_Plain_Field_0000__c: 'first', Wide_Plain_Field_0119__c: 'formula source', Wide_Plain_Field_0679__c: 'last' })) as { id: string };
      await reader.waitFor((e) => e.some((x) => x.type === 'salesforce.record.created' && x.subject === rec.id), 30_000, 'polled create');
      const created = reader.events.find((x) => x.type === 'salesforce.record.created' && x.subject === rec.id)!;
      expect(created.data.detectedBy).toBe('polling');
      expect(created.data.record).toMatchObject({
        Wide_Plain_Field_0000__c: 'first',
        Wide_Plain_Field_0679__c: 'last',
        Wide_Formula_0119__c: 'formula source',
        Wide_Formula_0000__c: 'first',
      });
      for (const f of [...plain, ...formulas]) expect(created.data.record, f.name).toHaveProperty(f.name);

      // A later second: within the create's second the row would still read as its creation.
      const second = Math.floor(emulator.emulator.clock.now() / 1000);
      await waitUntil(() => Math.floor(emulator.emulator.clock.now() / 1000) > second, 5_000, 'the next second');
      await user.sobject('Wide__c').update({ Id: rec.id, Wide_Plain_Field_0500__c: 'changed', Wide_Plain_Field_0100__c: 'feeds a formula' });
      await reader.waitFor((e) => e.some((x) => x.type === 'salesforce.record.updated' && x.subject === rec.id), 30_000, 'polled update');
      const updated = reader.events.find((x) => x.type === 'salesforce.record.updated' && x.subject === rec.id)!;
      expect(updated.data.changedFields).toContain('Wide_Plain_Field_0500__c');
      // The formula's value is in the record, but it is not listed as changed: change events never carry it.
      expect(updated.data.changedFields).toContain('Wide_Plain_Field_0100__c');
      expect(updated.data.changedFields).not.toContain('Wide_Formula_0100__c');
      expect(updated.data.record).toMatchObject({
        Wide_Plain_Field_0500__c: 'changed',
        Wide_Formula_0100__c: 'feeds a formula',
        Wide_Formula_0119__c: 'formula source',
      });
      expect((await view(svc, id)).warnings).toEqual([]);
    } finally {
      await reader.stop();
      await svc.stop();
    }
  }, 120_000);

  it('a GAP_OVERFLOW reconcile of the wide object reads every field, within the URI limit', async () => {
    const prefix = uniquePrefix('wide-reconcile');
    const org = await createOrg(emulator.url, { cdcEntities: ['Wide__c'], customObjects: [wideObject] });
    const svc = await startTestService({ prefix });
    const reader = await readEvents(prefix);
    try {
      const id = await connect(svc, org);
      await waitUntil(
        async () => {
          const v = await view(svc, id);
          return v.subscriber === 'running' && v.objects.some((o) => o.object === 'Wide__c' && o.mode === 'cdc');
        },
        20_000,
        'cdc mode, stream live',
      );
      const user = orgUser(org);
      const rec = (await user.sobject('Wide__c').create({ Wide_Plain_Field_0007__c: 'seven', Wide_Plain_Field_0679__c: 'last' })) as { id: string };
      await reader.waitFor((e) => e.some((x) => x.subject === rec.id && x.data.detectedBy === 'cdc'), 20_000, 'streamed create');
      const streamed = reader.events.find((x) => x.subject === rec.id && x.data.detectedBy === 'cdc')!;
      // Change events carry stored values only: no formula field.
      expect(streamed.data.record).not.toHaveProperty('Wide_Formula_0007__c');

      // A field set to null: the change event leaves it out of its body (current Streaming API guide) and
      // names it in changedFields; the event still says it is null.
      await user.sobject('Wide__c').update({ Id: rec.id, Wide_Plain_Field_0679__c: null });
      await reader.waitFor((e) => e.some((x) => x.type === 'salesforce.record.updated' && x.subject === rec.id), 20_000, 'streamed update');
      const nulled = reader.events.find((x) => x.type === 'salesforce.record.updated' && x.subject === rec.id)!;
      expect(nulled.data.changedFields).toContain('Wide_Plain_Field_0679__c');
      expect(nulled.data.record).toHaveProperty('Wide_Plain_Field_0679__c', null);

      await adminCall(emulator.url, 'POST', `/__emulator/orgs/${org.orgId}/changes`, {
        payload: {
          ChangeEventHeader: {
            entityName: 'Wide__c',
            recordIds: [rec.id],
            changeType: 'GAP_OVERFLOW',
            changeOrigin: '',
            transactionKey: 'overflow-wide',
            sequenceNumber: 1,
            commitTimestamp: Date.now(),
            commitNumber: 1,
            commitUser: org.orgId,
            changedFields: [],
          },
        },
      });
      await reader.waitFor((e) => e.some((x) => x.subject === rec.id && x.data.detectedBy === 'reconcile'), 30_000, 'reconciled');
      const reconciled = reader.events.find((x) => x.subject === rec.id && x.data.detectedBy === 'reconcile')!;
      // The same instant in the same form, whichever way it was read.
      expect(reconciled.data.record['LastModifiedDate']).toBe(nulled.data.record['LastModifiedDate']);
      expect(reconciled.data.record).toMatchObject({ Wide_Plain_Field_0007__c: 'seven', Wide_Plain_Field_0679__c: null, Wide_Formula_0007__c: 'seven' });
      for (const f of [...plain, ...formulas]) expect(reconciled.data.record, f.name).toHaveProperty(f.name);
      expect((await view(svc, id)).warnings).toEqual([]);
    } finally {
      await reader.stop();
      await svc.stop();
    }
  }, 120_000);
});
