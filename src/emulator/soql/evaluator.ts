import { dateLiteralRange, dayString, parseDate, parseInstant } from './dates.js';
import type { AggSpec, Cond, Domain, FieldPath, Literal, Operand, Order, OutNode, ParsedQuery } from './query.js';
import { multiSet } from './resolve.js';
import type { SoqlDataSource, SoqlResult } from './types.js';

type Row = Record<string, unknown>;
type Subject = { row: Row } | { group: Row[] };
type Norm = string | number | boolean | null;

interface Ctx {
  source: SoqlDataSource;
  now: Date;
  version: string;
  includeDeleted: boolean;
  semiJoins: Map<ParsedQuery, Set<Norm>>;
  childIndex: Map<OutNode, Map<Norm, Row[]>>;
}

export function execute(q: ParsedQuery, source: SoqlDataSource, opts: { apiVersion: string; includeDeleted: boolean }): SoqlResult {
  const ctx: Ctx = {
    source,
    now: source.now(),
    version: opts.apiVersion.startsWith('v') ? opts.apiVersion : `v${opts.apiVersion}`,
    includeDeleted: opts.includeDeleted,
    semiJoins: new Map(),
    childIndex: new Map(),
  };
  const rows = filtered(q, ctx);
  if (q.isCount) return { totalSize: window(rows, q).length, records: [] };
  if (q.isAggregate) return aggregate(q, rows, ctx);
  const page = window(
    sorted(rows, q.orderBy, ctx, (r) => ({ row: r })),
    q,
  );
  return { totalSize: page.length, records: page.map((r) => build(r, q.object, q.fields, ctx)) };
}

function filtered(q: ParsedQuery, ctx: Ctx): Row[] {
  const out: Row[] = [];
  for (const row of ctx.source.rows(q.object, { includeDeleted: ctx.includeDeleted })) {
    // Belt and braces: a recycled row must never leak into `query`, whatever the data source does with the flag.
    if (!ctx.includeDeleted && row['IsDeleted'] === true) continue;
    if (!q.where || test(q.where, { row }, ctx)) out.push(row);
  }
  return out;
}

function window<T>(items: T[], q: ParsedQuery): T[] {
  const start = q.offset ?? 0;
  return items.slice(start, q.limit === undefined ? undefined : start + q.limit);
}

function sorted<T>(items: T[], orderBy: Order[], ctx: Ctx, subject: (t: T) => Subject): T[] {
  if (orderBy.length === 0) return items;
  const keyed = items.map((item) => ({
    item,
    keys: orderBy.map((o) => norm(o.operand.domain, operandValue(o.operand, subject(item), ctx))),
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < orderBy.length; i++) {
      const o = orderBy[i]!;
      const x = a.keys[i]!;
      const y = b.keys[i]!;
      if (x === null && y === null) continue;
      if (x === null) return o.nullsFirst ? -1 : 1;
      if (y === null) return o.nullsFirst ? 1 : -1;
      const c = compare(x, y);
      if (c !== 0) return o.desc ? -c : c;
    }
    return 0;
  });
  return keyed.map((k) => k.item);
}

function compare(a: Exclude<Norm, null>, b: Exclude<Norm, null>): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Brings a stored value and a literal into one comparable form: strings lower-cased (Salesforce compares text
 * case-insensitively), ids cut to their 15-character case-sensitive key, datetimes to instants. Salesforce stores no
 * empty strings, so '' is null.
 */
export function norm(domain: Domain, v: unknown): Norm {
  if (v === null || v === undefined) return null;
  switch (domain) {
    case 'string':
      return v === '' ? null : String(v).toLowerCase();
    case 'multi': {
      const s = multiSet(String(v)).join(';');
      return s === '' ? null : s;
    }
    case 'id': {
      const s = String(v);
      return s === '' ? null : s.length === 18 ? s.slice(0, 15) : s;
    }
    case 'boolean':
      return v === true || v === 'true';
    case 'number': {
      const n = typeof v === 'number' ? v : Number(v);
      return Number.isNaN(n) ? null : n;
    }
    case 'date':
      return parseDate(v) ?? null;
    case 'datetime':
      return typeof v === 'number' ? v : (parseInstant(v) ?? null);
    default:
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

function pathValue(path: FieldPath, row: Row, ctx: Ctx): unknown {
  let cur: Row = row;
  for (const hop of path.hops) {
    const id = cur[hop.refField.name];
    if (typeof id !== 'string' || id === '') return null;
    const parent = ctx.source.byId(id);
    if (!parent) return null;
    cur = parent.row;
  }
  return cur[path.field.name] ?? null;
}

function operandValue(op: Operand, subject: Subject, ctx: Ctx): unknown {
  if (op.kind === 'agg') return aggValue(op.spec, 'row' in subject ? [subject.row] : subject.group, ctx);
  const row = 'row' in subject ? subject.row : subject.group[0];
  return row ? pathValue(op.path, row, ctx) : null;
}

function aggValue(spec: AggSpec, rows: Row[], ctx: Ctx): unknown {
  if (!spec.arg) return rows.length;
  const arg = spec.arg;
  const raw = rows.map((r) => pathValue(arg, r, ctx)).filter((v) => v !== null && v !== undefined && v !== '');
  switch (spec.fn) {
    case 'COUNT':
      return raw.length;
    case 'COUNT_DISTINCT':
      return new Set(raw.map((v) => norm(arg.domain, v))).size;
    case 'SUM':
    case 'AVG': {
      const nums = raw.map(Number).filter((n) => !Number.isNaN(n));
      if (nums.length === 0) return null;
      const sum = nums.reduce((a, b) => a + b, 0);
      return spec.fn === 'SUM' ? sum : sum / nums.length;
    }
    case 'MIN':
    case 'MAX': {
      let best: unknown = null;
      let bestKey: Norm = null;
      for (const v of raw) {
        const k = norm(arg.domain, v);
        if (k === null) continue;
        const c = bestKey === null ? 0 : compare(k, bestKey);
        if (bestKey === null || (spec.fn === 'MIN' ? c < 0 : c > 0)) {
          best = v;
          bestKey = k;
        }
      }
      return best;
    }
  }
}

function test(c: Cond, subject: Subject, ctx: Ctx): boolean {
  switch (c.kind) {
    case 'and':
      return c.items.every((i) => test(i, subject, ctx));
    case 'or':
      return c.items.some((i) => test(i, subject, ctx));
    case 'not':
      return !test(c.item, subject, ctx);
    case 'cmp':
      return compareTo(c.left.domain, operandValue(c.left, subject, ctx), c.op, c.value, ctx);
    case 'in': {
      const v = operandValue(c.left, subject, ctx);
      let hit: boolean;
      if (c.subquery) {
        hit = semiJoin(c.subquery, ctx).has(norm(c.left.domain, v));
      } else {
        hit = c.values.some((lit) => compareTo(c.left.domain, v, '=', lit, ctx));
      }
      return c.negated ? !hit : hit;
    }
    case 'like': {
      const v = operandValue(c.left, subject, ctx);
      return typeof v === 'string' && v !== '' && c.regex.test(v);
    }
    case 'includes': {
      const v = operandValue(c.left, subject, ctx);
      const have = typeof v === 'string' ? multiSet(v) : [];
      const hit = c.sets.some((set) => set.length > 0 && set.every((x) => have.includes(x)));
      return c.negated ? !hit : hit;
    }
  }
}

/** SOQL's null rules: `!=` matches null fields, every other operator needs a value. */
function compareTo(domain: Domain, raw: unknown, op: string, lit: Literal, ctx: Ctx): boolean {
  const v = norm(domain, raw);
  if (lit.kind === 'null') {
    if (op === '=') return v === null;
    if (op === '!=') return v !== null;
    return false;
  }
  if (lit.kind === 'range') {
    const r = dateLiteralRange(lit.name, lit.n, ctx.now);
    const [start, end] = domain === 'date' ? [dayString(r.start), dayString(r.end)] : [r.start, r.end];
    if (v === null) return op === '!=';
    const inside = compare(v, start) >= 0 && compare(v, end) < 0;
    switch (op) {
      case '=':
        return inside;
      case '!=':
        return !inside;
      case '<':
        return compare(v, start) < 0;
      case '<=':
        return compare(v, end) < 0;
      case '>':
        return compare(v, end) >= 0;
      default:
        return compare(v, start) >= 0;
    }
  }
  const l = norm(domain, lit.v);
  if (v === null || l === null) return op === '!=' ? v !== l : false;
  const c = compare(v, l);
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

function semiJoin(sub: ParsedQuery, ctx: Ctx): Set<Norm> {
  let set = ctx.semiJoins.get(sub);
  if (!set) {
    const node = sub.fields[0];
    set = new Set();
    if (node?.kind === 'field') {
      for (const row of window(filtered(sub, { ...ctx, includeDeleted: false }), sub)) set.add(norm('id', row[node.field.name]));
    }
    set.delete(null);
    ctx.semiJoins.set(sub, set);
  }
  return set;
}

function build(row: Row, object: string, nodes: OutNode[], ctx: Ctx, shownType = object): Row {
  const rec: Row = {
    attributes: { type: shownType, url: `/services/data/${ctx.version}/sobjects/${object}/${String(row['Id'] ?? '')}` },
  };
  for (const node of nodes) {
    switch (node.kind) {
      case 'field':
        rec[node.key] = row[node.field.name] ?? null;
        break;
      case 'parent': {
        const id = row[node.hop.refField.name];
        const parent = typeof id === 'string' && id !== '' ? ctx.source.byId(id) : undefined;
        // A polymorphic parent (Case.Owner: User or Queue) is typed 'Name' (query-relationship-parent-and-child.json).
        rec[node.key] = parent ? build(parent.row, parent.object, node.children, ctx, node.hop.polymorphic ? 'Name' : parent.object) : null;
        break;
      }
      case 'child': {
        const children = childRows(node, norm('id', row['Id']), ctx);
        // An empty child relationship is null, not an empty QueryResult (query-subquery-null.json).
        rec[node.key] =
          children.length === 0
            ? null
            : { totalSize: children.length, done: true, records: children.map((c) => build(c, node.childObject, node.query.fields, ctx)) };
        break;
      }
    }
  }
  return rec;
}

function childRows(node: Extract<OutNode, { kind: 'child' }>, parentKey: Norm, ctx: Ctx): Row[] {
  let index = ctx.childIndex.get(node);
  if (!index) {
    index = new Map();
    for (const r of filtered(node.query, ctx)) {
      const k = norm('id', r[node.fkField]);
      if (k === null) continue;
      const list = index.get(k);
      if (list) list.push(r);
      else index.set(k, [r]);
    }
    ctx.childIndex.set(node, index);
  }
  const rows = index.get(parentKey) ?? [];
  return window(
    sorted(rows, node.query.orderBy, ctx, (r) => ({ row: r })),
    node.query,
  );
}

function aggregate(q: ParsedQuery, rows: Row[], ctx: Ctx): SoqlResult {
  const spec = q.aggregate!;
  let groups: Row[][];
  if (spec.groupBy.length === 0) {
    groups = [rows];
  } else {
    const byKey = new Map<string, Row[]>();
    for (const r of rows) {
      const key = JSON.stringify(spec.groupBy.map((p) => norm(p.domain, pathValue(p, r, ctx))));
      const g = byKey.get(key);
      if (g) g.push(r);
      else byKey.set(key, [r]);
    }
    groups = [...byKey.values()];
  }
  if (spec.having) groups = groups.filter((g) => test(spec.having!, { group: g }, ctx));
  const page = window(
    sorted(groups, q.orderBy, ctx, (g) => ({ group: g })),
    q,
  );
  const records = page.map((g) => {
    const rec: Row = { attributes: { type: 'AggregateResult' } };
    for (const item of spec.items) {
      rec[item.key] = item.kind === 'agg' ? aggValue(item.spec, g, ctx) : g[0] ? pathValue(item.path, g[0], ctx) : null;
    }
    return rec;
  });
  return { totalSize: records.length, records };
}
