import { describe, expect, it } from 'vitest';
import { withMapped } from './mapped.js';
import type { StructuredEvent } from './types.js';

const event: StructuredEvent = {
  specversion: '1.0',
  id: 'e1',
  source: '/salesforce/00D000000000001AAA',
  type: 'salesforce.record.updated',
  data: { object: 'Invoice__c', record: { Amount__c: 50, Status__c: null }, changedFields: ['Amount__c', 'Status__c'] },
};

describe('withMapped', () => {
  it('adds {label: value} for the fields the change carries, matching names without case; null stays (a cleared field)', () => {
    const out = withMapped(event, { mapped: { amount: 'amount__c', status: 'Status__c', email: 'Customer_Email__c' } });
    expect((out.data as { mapped: unknown }).mapped).toEqual({ amount: 50, status: null });
  });

  it('leaves the event alone for a subscription without a mapping, and never changes the event it was given', () => {
    expect(withMapped(event, {})).toBe(event);
    withMapped(event, { mapped: { amount: 'Amount__c' } });
    expect((event.data as { mapped?: unknown }).mapped).toBeUndefined();
  });
});
