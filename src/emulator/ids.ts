/**
 * Salesforce record ids: 15 case-sensitive characters (3-char key prefix,
 * 2-char instance, 1 reserved, 9 base-62 digits) plus the 3-character
 * case-safe suffix that lets case-insensitive systems tell ids apart.
 */
import { idSuffix } from '../events/salesforce-id.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_RE = /^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$/;

export function to18(id: string): string {
  return id.length === 18 ? id : id + idSuffix(id);
}

/** The 18-char form of `id` if it is a well-formed 15- or 18-char id with a correct suffix. */
export function normalizeId(id: unknown): string | undefined {
  if (typeof id !== 'string' || !ID_RE.test(id)) return undefined;
  const id15 = id.slice(0, 15);
  const full = id15 + idSuffix(id15);
  if (id.length === 18 && id !== full) return undefined;
  return full;
}

export function keyPrefixOf(id: string): string {
  return id.slice(0, 3);
}

function base62(n: number, width: number): string {
  let s = '';
  let v = n;
  for (let i = 0; i < width; i++) {
    s = BASE62[v % 62] + s;
    v = Math.floor(v / 62);
  }
  return s;
}

/**
 * Ids come from one process-wide counter so that they are unique across the
 * orgs of an emulator, as real ids are unique across orgs. The instance part
 * ("Rm") is constant and arbitrary.
 */
let counter = 1;
export function newId(keyPrefix: string): string {
  return to18(`${keyPrefix}Rm0${base62(counter++, 9)}`);
}

/** Ids are opaque to clients; query locators reuse the record-id format. */
export function newLocatorId(): string {
  return newId('01g');
}
