/**
 * CDC channel names. Standard objects: `/data/<Entity>ChangeEvent`; custom
 * objects drop the `c` of `__c`: `Invoice__c` → `/data/Invoice__ChangeEvent`.
 */
export function changeEventName(object: string): string {
  return object.endsWith('__c') ? `${object.slice(0, -1)}ChangeEvent` : `${object}ChangeEvent`;
}

export function channelFor(object: string): string {
  return `/data/${changeEventName(object)}`;
}

/** `AccountChangeEvent` → `Account`, `Invoice__ChangeEvent` → `Invoice__c`. */
export function objectForChangeEvent(name: string): string | undefined {
  if (!name.endsWith('ChangeEvent')) return undefined;
  const base = name.slice(0, -'ChangeEvent'.length);
  return base.endsWith('__') ? `${base}c` : base;
}
