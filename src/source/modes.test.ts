import type { Connection } from 'jsforce';
import { describe, expect, it } from 'vitest';
import { cdcSelectedObjects } from './modes.js';

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
