import type { ForcehookEvent } from '../src/events/schema.js';

/** For tests: one valid event, a Lead created in an org. */
export const TEST_ORG = '00D000000000001AAA';
export const TEST_LEAD = '00Q000000000001AAA';
export const leadCreatedEvent: ForcehookEvent = {
  specversion: '1.0',
  id: '2f1c6a0e-5b0a-4c55-9d7e-0d7a5f0e9b11',
  source: `/salesforce/${TEST_ORG}`,
  type: 'salesforce.record.created',
  subject: TEST_LEAD,
  time: '2030-01-01T00:00:00.000Z',
  datacontenttype: 'application/json',
  data: {
    orgId: TEST_ORG,
    connectionId: 'c1',
    object: 'Lead',
    recordId: TEST_LEAD,
    changeType: 'CREATE',
    changedFields: [],
    record: { LastName: 'L' },
    detectedBy: 'cdc',
    commitTimestamp: 1,
  },
};
