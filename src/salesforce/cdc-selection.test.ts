import type { Connection } from 'jsforce';
import { describe, expect, it } from 'vitest';
import { cdcSelectedObjects, readStreamingAccess } from './cdc-selection.js';

const conn = (answer: Promise<unknown>) => ({ tooling: { query: () => answer } }) as unknown as Connection;

describe('reading the CDC selection', () => {
  it('maps the selected change events to objects', async () => {
    const rows = { records: [{ SelectedEntity: 'LeadChangeEvent' }, { SelectedEntity: 'Invoice__ChangeEvent' }] };
    expect([...(await cdcSelectedObjects(conn(Promise.resolve(rows))))].sort()).toEqual(['invoice__c', 'lead']);
  });

  it('gives up on a read that never answers, with a retriable timeout', async () => {
    await expect(cdcSelectedObjects(conn(new Promise(() => undefined)), 50)).rejects.toMatchObject({ code: 'TIMEOUT', retriable: true });
  });
});

/** A jsforce error as it carries Salesforce's errorCode. */
const sfError = (errorCode: string, message: string) => Object.assign(new Error(message), { name: errorCode, errorCode });

function org(answers: { permissions: () => Promise<unknown>; selection: () => Promise<unknown> }) {
  let toolingCalls = 0;
  const c = {
    query: () => answers.permissions(),
    tooling: { query: () => (toolingCalls++, answers.selection()) },
  } as unknown as Connection;
  return { c, toolingCalls: () => toolingCalls };
}

const selected = () => Promise.resolve({ records: [{ SelectedEntity: 'LeadChangeEvent' }] });
const perms = (viewSetup: boolean, viewAllData: boolean) => () =>
  Promise.resolve({ records: [{ PermissionsViewSetup: viewSetup, PermissionsViewAllData: viewAllData }] });

describe('reading what the org will stream to the connecting user', () => {
  it('all granted: the selection, nothing missing', async () => {
    const a = await readStreamingAccess(org({ permissions: perms(true, true), selection: selected }).c);
    expect([...a.selection!]).toEqual(['lead']);
    expect([...a.missing]).toEqual([]);
  });

  it('without View All Data: the selection and the missing permission', async () => {
    const a = await readStreamingAccess(org({ permissions: perms(true, false), selection: selected }).c);
    expect([...a.selection!]).toEqual(['lead']);
    expect([...a.missing]).toEqual(['view_all_data']);
  });

  it('without View Setup: no selection, and the Tooling API is not asked', async () => {
    const o = org({ permissions: perms(false, true), selection: selected });
    const a = await readStreamingAccess(o.c);
    expect(a.selection).toBeUndefined();
    expect([...a.missing]).toEqual(['view_setup']);
    expect(o.toolingCalls()).toBe(0);
  });

  it('a Tooling refusal means View Setup is missing even where the permissions cannot be read', async () => {
    const refusal = () => Promise.reject(sfError('INVALID_TYPE', "sObject type 'PlatformEventChannelMember' is not supported."));
    const a = await readStreamingAccess(
      org({ permissions: () => Promise.reject(sfError('INVALID_TYPE', "sObject type 'UserPermissionAccess' is not supported.")), selection: refusal }).c,
    );
    expect(a.selection).toBeUndefined();
    expect([...a.missing]).toEqual(['view_setup']);
  });

  it('a failure worth retrying is thrown, not taken for a missing permission', async () => {
    const down = () => Promise.reject(sfError('SERVER_UNAVAILABLE', 'Server temporarily unavailable.'));
    await expect(readStreamingAccess(org({ permissions: perms(true, true), selection: down }).c)).rejects.toThrow(/unavailable/);
    await expect(readStreamingAccess(org({ permissions: down, selection: selected }).c)).rejects.toThrow(/unavailable/);
  });
});
