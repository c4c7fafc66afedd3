/**
 * Compound fields. CDC nests them (`"BillingAddress": {"City": "Paris"}`, `"Name": {"LastName": "Doe"}`)
 * and names changed components `BillingAddress.City`; the REST API, which polling reads and which users
 * write SOQL and formulas against, exposes the same values as flat fields (`BillingCity`, `LastName`).
 *
 * Decision: `record` uses the REST names, because consumers map records to their own systems by the
 * field names they see in Salesforce setup, and because a polled record then looks exactly like a streamed
 * one. `changedFields` keeps Salesforce's change-event names (`BillingAddress.City`): that is the documented
 * CDC vocabulary, and it keeps "which compound changed" visible. Polled changes are translated to the same
 * vocabulary (`toChangeEventName`), and the subscription matcher accepts either spelling.
 */

const ADDRESS_COMPONENTS = [
  'Street',
  'City',
  'State',
  'PostalCode',
  'Country',
  'StateCode',
  'CountryCode',
  'Latitude',
  'Longitude',
  'GeocodeAccuracy',
] as const;
const NAME_COMPONENTS = ['Salutation', 'FirstName', 'MiddleName', 'LastName', 'Suffix', 'InformalName'] as const;
const STANDARD_ADDRESS_PREFIXES = ['Billing', 'Shipping', 'Mailing', 'Other', 'PersonMailing', 'PersonOther'] as const;

/** Objects whose unprefixed `Address` / `Name` are compounds (Lead.City, Contact.FirstName, ...). */
const PLAIN_ADDRESS_OBJECTS = new Set(['lead', 'user', 'organization']);
const PERSON_NAME_OBJECTS = new Set(['lead', 'contact', 'account', 'user', 'individual']);

/**
 * REST name of one component of a compound field, or undefined when we do not know the convention
 * (the caller keeps such values nested rather than guess a name).
 */
export function flatFieldName(compound: string, component: string): string | undefined {
  if (compound === 'Name') return component;
  // Custom address / geolocation fields: Location__c.Latitude -> Location__Latitude__s.
  if (compound.endsWith('__c')) return `${compound.slice(0, -3)}__${component}__s`;
  if (compound.endsWith('Address')) return `${compound.slice(0, -'Address'.length)}${component}`;
  return undefined;
}

/** CDC change-event name of a REST field (`BillingCity` -> `BillingAddress.City`) when it is a component. */
export function toChangeEventName(object: string, field: string): string {
  const custom = /^(.+)__(Street|City|State|PostalCode|Country|StateCode|CountryCode|Latitude|Longitude|GeocodeAccuracy)__s$/.exec(field);
  if (custom) return `${custom[1]}__c.${custom[2]}`;
  for (const prefix of STANDARD_ADDRESS_PREFIXES) {
    if (!field.startsWith(prefix)) continue;
    const rest = field.slice(prefix.length);
    if ((ADDRESS_COMPONENTS as readonly string[]).includes(rest)) return `${prefix}Address.${rest}`;
  }
  const obj = object.toLowerCase();
  if (PLAIN_ADDRESS_OBJECTS.has(obj) && (ADDRESS_COMPONENTS as readonly string[]).includes(field)) return `Address.${field}`;
  if (PERSON_NAME_OBJECTS.has(obj) && (NAME_COMPONENTS as readonly string[]).includes(field)) return `Name.${field}`;
  return field;
}

/**
 * The REST-style name a change-event field name refers to, for matching: `BillingAddress.City` ->
 * `BillingCity`; plain names are returned as they are.
 */
export function flatNameOfChangedField(changed: string): string {
  const dot = changed.indexOf('.');
  if (dot < 0) return changed;
  return flatFieldName(changed.slice(0, dot), changed.slice(dot + 1)) ?? changed;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Flattens the compound fields of a CDC body into REST names. Components whose naming convention we do
 * not know stay nested under their compound name, so no value is lost.
 */
export function flattenCompounds(body: Record<string, unknown>): Record<string, unknown> {
  const out: [string, unknown][] = [];
  for (const [key, value] of Object.entries(body)) {
    if (!isPlainObject(value)) {
      out.push([key, value]);
      continue;
    }
    const unknown: [string, unknown][] = [];
    for (const [component, v] of Object.entries(value)) {
      const flat = flatFieldName(key, component);
      if (flat === undefined) unknown.push([component, v]);
      else out.push([flat, v]);
    }
    if (unknown.length > 0) out.push([key, Object.fromEntries(unknown)]);
  }
  // fromEntries defines own properties, so a hostile "__proto__" key cannot reach the prototype.
  return Object.fromEntries(out);
}
