/**
 * Query-safe field lists for wide objects. Salesforce refuses a query two ways when it selects too much:
 * a request URI past 16,384 bytes answers 414 (a GET carries the SOQL in its query string), and a statement
 * that grows past 100,000 characters once Salesforce expands it answers QUERY_TOO_COMPLICATED (each formula
 * field becomes its compiled SQL, up to 5,000 characters; each currency field a format call around its name).
 *
 * So an object's fields are split into chunks, each small enough for both limits however the query is
 * sent, and the chunks are read separately and joined by Id. Every chunk carries the join key and
 * SystemModstamp, so rows read by different queries can be told apart when the record changed between them.
 */
export const URI_MAX_BYTES = 16_384;
export const SOQL_MAX_CHARS = 100_000;
/** Salesforce compiles a formula to at most this many characters; the describe does not say how many. */
export const FORMULA_COMPILED_MAX_CHARS = 5_000;

export interface PlanField {
  name: string;
  type?: string;
  /** A formula field (the describe's `calculated`). */
  calculated?: boolean;
}

export interface PlanLimits {
  /** URL-encoded characters the field list of one query may take: the rest of the URI is path and WHERE. */
  listUriChars: number;
  /** Expanded characters the field list of one query may take: the rest of the statement is its clauses. */
  listExpandedChars: number;
}

/**
 * The other parts of the longest query sent: a by-id query of 200 ids takes about 6,200 URL-encoded
 * characters (`'<18>'` and `, ` escaped), the path and clauses well under 1,000.
 */
export const DEFAULT_PLAN_LIMITS: PlanLimits = {
  listUriChars: URI_MAX_BYTES - 8_192,
  listExpandedChars: SOQL_MAX_CHARS - 10_000,
};

/** Present in every chunk: the join key and the version of the row each query saw. */
export const CHUNK_KEYS = ['Id', 'SystemModstamp'] as const;

const SEPARATOR_URI = encodeURIComponent(', ').length;

export function uriCost(name: string): number {
  return encodeURIComponent(name).length + SEPARATOR_URI;
}

export function expandedCost(f: PlanField): number {
  const base = f.name.length + 2;
  if (f.calculated) return base + FORMULA_COMPILED_MAX_CHARS;
  if (f.type === 'currency') return base + f.name.length + 8;
  return base;
}

/**
 * Splits `fields` into chunks within `limits`, each field into the first chunk with room for it in both
 * measures (so formula fields, heavy in one, share chunks with plain ones, heavy in the other). Each chunk
 * keeps the order given; `first` names fields the first query must read (what the cursor and the
 * classification of a row need); every chunk holds CHUNK_KEYS. A narrow object is one chunk: the list as given.
 */
export function planFieldChunks(fields: readonly PlanField[], limits: PlanLimits = DEFAULT_PLAN_LIMITS, first: readonly string[] = []): string[][] {
  const isKey = (f: PlanField): boolean => (CHUNK_KEYS as readonly string[]).includes(f.name);
  const keys = fields.filter(isKey);
  const keyUri = keys.reduce((n, f) => n + uriCost(f.name), 0);
  const keyExpanded = keys.reduce((n, f) => n + expandedCost(f), 0);
  const chunks: Array<{ names: string[]; uri: number; expanded: number }> = [];
  const open = (): (typeof chunks)[number] => {
    const c = { names: keys.map((k) => k.name), uri: keyUri, expanded: keyExpanded };
    chunks.push(c);
    return c;
  };
  const head = open();
  head.names = [];
  const index = new Map(fields.map((f, i) => [f.name, i]));
  const wanted = (f: PlanField): boolean => first.includes(f.name);
  // What the first query must read, then formula fields (they fill the expanded measure), then the plain
  // fields into the URI room left.
  const order = [
    ...fields.filter(wanted),
    ...fields.filter((f) => !wanted(f) && f.calculated === true),
    ...fields.filter((f) => !wanted(f) && f.calculated !== true),
  ];
  for (const f of order) {
    const u = uriCost(f.name);
    const e = expandedCost(f);
    if (isKey(f)) {
      // Already counted in every chunk; the first one lists it where the caller ordered it.
      head.names.push(f.name);
      continue;
    }
    const fits = (c: (typeof chunks)[number]): boolean => c.uri + u <= limits.listUriChars && c.expanded + e <= limits.listExpandedChars;
    const c = wanted(f) ? head : (chunks.find(fits) ?? open());
    c.names.push(f.name);
    c.uri += u;
    c.expanded += e;
  }
  return chunks.map((c) => c.names.sort((a, b) => index.get(a)! - index.get(b)!));
}
