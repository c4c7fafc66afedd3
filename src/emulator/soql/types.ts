export type SoqlFieldType =
  | 'id'
  | 'reference'
  | 'string'
  | 'textarea'
  | 'picklist'
  | 'multipicklist'
  | 'email'
  | 'phone'
  | 'url'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'address'
  | 'location';

export interface SoqlFieldInfo {
  /** Canonical case, e.g. 'LastName'. */
  name: string;
  type: SoqlFieldType;
  referenceTo?: string[];
  /** e.g. 'Account' for AccountId. */
  relationshipName?: string;
}

export interface SoqlObjectInfo {
  /** Canonical, e.g. 'Account'. */
  name: string;
  fields: SoqlFieldInfo[];
  childRelationships?: { relationshipName: string; childSObject: string; field: string }[];
}

export interface SoqlDataSource {
  /** Receives the name as written in the query; returns undefined if unknown. */
  describe(objectName: string): SoqlObjectInfo | undefined;
  /** Rows keyed by canonical field names; datetimes as '2024-01-02T03:04:05.000+0000', dates 'YYYY-MM-DD'. */
  rows(objectName: string, opts: { includeDeleted: boolean }): Iterable<Record<string, unknown>>;
  /** For parent relationship traversal (Contact.Account.Name). */
  byId(id: string): { object: string; row: Record<string, unknown> } | undefined;
  /** The emulator's movable clock, for TODAY, LAST_N_DAYS:n, ... */
  now(): Date;
}

export interface SoqlResult {
  totalSize: number;
  records: Record<string, unknown>[];
}
