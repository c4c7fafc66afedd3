/** An in-memory SoqlDataSource for the unit tests: a few standard objects shaped like the emulator's. */
import type { SoqlDataSource, SoqlFieldInfo, SoqlObjectInfo } from '../../src/emulator/soql/types.js';

const system: SoqlFieldInfo[] = [
  { name: 'Id', type: 'id' },
  { name: 'IsDeleted', type: 'boolean' },
  { name: 'CreatedDate', type: 'datetime' },
  { name: 'LastModifiedDate', type: 'datetime' },
  { name: 'SystemModstamp', type: 'datetime' },
  { name: 'OwnerId', type: 'reference', referenceTo: ['User'], relationshipName: 'Owner' },
];

export const OBJECTS: SoqlObjectInfo[] = [
  {
    name: 'Account',
    fields: [
      ...system,
      { name: 'Name', type: 'string' },
      { name: 'Industry', type: 'picklist' },
      { name: 'NumberOfEmployees', type: 'int' },
      { name: 'AnnualRevenue', type: 'currency' },
      { name: 'Description', type: 'textarea' },
      { name: 'BillingAddress', type: 'address' },
      { name: 'Tags__c', type: 'multipicklist' },
      { name: 'Active__c', type: 'boolean' },
      { name: 'SLAExpirationDate__c', type: 'date' },
      { name: 'ParentId', type: 'reference', referenceTo: ['Account'], relationshipName: 'Parent' },
    ],
    childRelationships: [
      { relationshipName: 'Contacts', childSObject: 'Contact', field: 'AccountId' },
      { relationshipName: 'Cases', childSObject: 'Case', field: 'AccountId' },
    ],
  },
  {
    name: 'Contact',
    fields: [
      ...system,
      { name: 'FirstName', type: 'string' },
      { name: 'LastName', type: 'string' },
      { name: 'Email', type: 'email' },
      { name: 'AccountId', type: 'reference', referenceTo: ['Account'], relationshipName: 'Account' },
    ],
  },
  {
    name: 'Case',
    fields: [
      ...system.filter((f) => f.name !== 'OwnerId'),
      { name: 'OwnerId', type: 'reference', referenceTo: ['Group', 'User'], relationshipName: 'Owner' },
      { name: 'Subject', type: 'string' },
      { name: 'AccountId', type: 'reference', referenceTo: ['Account'], relationshipName: 'Account' },
    ],
  },
  {
    name: 'User',
    fields: [
      { name: 'Id', type: 'id' },
      { name: 'Name', type: 'string' },
      { name: 'IsDeleted', type: 'boolean' },
    ],
  },
  {
    name: 'Group',
    fields: [
      { name: 'Id', type: 'id' },
      { name: 'Name', type: 'string' },
    ],
  },
];

export type Rows = Record<string, Record<string, unknown>[]>;

export function memorySource(data: Rows, now = new Date('2024-03-15T12:00:00.000Z')): SoqlDataSource {
  return {
    describe: (name) => OBJECTS.find((o) => o.name.toLowerCase() === name.toLowerCase()),
    rows: (object, { includeDeleted }) => (data[object] ?? []).filter((r) => includeDeleted || r['IsDeleted'] !== true),
    byId: (id) => {
      for (const [object, rows] of Object.entries(data)) {
        const row = rows.find((r) => r['Id'] === id);
        if (row) return { object, row };
      }
      return undefined;
    },
    now: () => now,
  };
}

/** 18-character ids with the right key prefix; the suffix is not a real checksum, which SOQL does not verify. */
export function id(prefix: string, n: number): string {
  return `${prefix}${String(n).padStart(12, '0')}AAA`;
}
