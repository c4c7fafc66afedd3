import type { RawAggregate, RawCond, RawOperand, RawPath, RawQuery, RawValue } from './ast.js';
import { NO_SUCH_COLUMN_HINT, NO_SUCH_OBJECT_HINT, NO_SUCH_RELATIONSHIP_HINT, SoqlError, caretMessage } from './errors.js';
import type { SyntaxTree } from './parser.js';
import { parseInstant } from './dates.js';
import type { AggOutItem, AggSpec, Cond, Domain, FieldPath, Hop, Literal, Operand, Order, OutNode, ParsedQuery } from './query.js';
import type { SoqlDataSource, SoqlFieldType, SoqlObjectInfo } from './types.js';

const ID_RE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

export function domainOf(type: SoqlFieldType): Domain {
  switch (type) {
    case 'id':
    case 'reference':
      return 'id';
    case 'string':
    case 'textarea':
    case 'picklist':
    case 'email':
    case 'phone':
    case 'url':
      return 'string';
    case 'multipicklist':
      return 'multi';
    case 'boolean':
      return 'boolean';
    case 'int':
    case 'double':
    case 'currency':
    case 'percent':
      return 'number';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    default:
      return 'other';
  }
}

/** Type names as Salesforce spells them in "must be of type ..." messages. */
const TYPE_WORD: Partial<Record<SoqlFieldType, string>> = {
  boolean: 'boolean',
  int: 'integer',
  double: 'double',
  currency: 'currency',
  percent: 'percent',
  date: 'date',
  datetime: 'dateTime',
};

const eq = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Splits a multipicklist value the way Salesforce stores it ('a;b'), for set comparison. */
export function multiSet(v: string): string[] {
  return v
    .split(';')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
    .sort();
}

/** LIKE reads the raw literal: an escaped `\%` or `\_` is a literal character, a bare one a wildcard. */
export function likeRegex(raw: string): RegExp {
  let re = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const e = raw[++i]!;
      const lit = ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' } as Record<string, string>)[e.toLowerCase()] ?? e;
      re += lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    } else if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'i');
}

interface Scope {
  info: SoqlObjectInfo;
  /** Names a field path may start with and that mean "this object": the object name, its alias, a relationship name. */
  selfNames: string[];
}

export class Resolver {
  constructor(
    private readonly tree: SyntaxTree,
    private readonly source: SoqlDataSource,
  ) {}

  private fail(code: SoqlError['errorCode'], pos: number, body: string): SoqlError {
    return new SoqlError(code, caretMessage(this.tree.text, pos, body));
  }

  private describe(name: string, pos: number): SoqlObjectInfo {
    const info = this.source.describe(name);
    if (!info) throw this.fail('INVALID_TYPE', pos, `sObject type '${name}' is not supported. ${NO_SUCH_OBJECT_HINT}`);
    return info;
  }

  top(): ParsedQuery {
    const q = this.tree.query;
    const info = this.describe(q.from.parts.join('.'), q.from.pos);
    if (q.from.parts.length > 1)
      throw this.fail('INVALID_TYPE', q.from.pos, `sObject type '${q.from.parts.join('.')}' is not supported. ${NO_SUCH_OBJECT_HINT}`);
    return this.query(q, { info, selfNames: [info.name, ...(q.alias ? [q.alias] : [])] }, true);
  }

  private query(q: RawQuery, scope: Scope, top: boolean): ParsedQuery {
    const out: ParsedQuery = {
      text: this.tree.text,
      object: scope.info.name,
      isCount: false,
      isAggregate: false,
      fields: [],
      orderBy: [],
    };
    if (q.limit !== undefined) out.limit = q.limit;
    if (q.offset !== undefined) out.offset = q.offset;

    const countItem = q.select.find((s) => s.kind === 'agg' && s.fn === 'COUNT' && s.arg === null);
    if (countItem) {
      if (q.select.length > 1 || !top) {
        const other = q.select.find((s) => s !== countItem)!;
        throw this.fail('MALFORMED_QUERY', 'pos' in other ? other.pos : other.path.pos, 'COUNT() must be the only element in the SELECT list.');
      }
      out.isCount = true;
    }
    const hasAgg = q.select.some((s) => s.kind === 'agg' && s.arg !== null) || q.groupBy.length > 0;
    if (hasAgg && !out.isCount) out.isAggregate = true;

    if (out.isAggregate) {
      const groupBy = q.groupBy.map((p) => this.path(p, scope));
      const items: AggOutItem[] = [];
      let expr = 0;
      for (const s of q.select) {
        if (s.kind === 'agg') {
          items.push({ kind: 'agg', key: s.alias ?? `expr${expr++}`, spec: this.aggSpec(s, scope) });
        } else if (s.kind === 'field') {
          const path = this.path(s.path, scope);
          if (!groupBy.some((g) => samePath(g, path))) {
            throw this.fail('MALFORMED_QUERY', s.path.pos, `Field must be grouped or aggregated: ${path.field.name}`);
          }
          items.push({ kind: 'group', key: path.field.name, path });
        } else {
          throw this.fail('MALFORMED_QUERY', s.pos, 'Field must be grouped or aggregated');
        }
      }
      out.aggregate = { items, groupBy };
      if (q.having) out.aggregate.having = this.cond(q.having, scope);
    } else if (!out.isCount) {
      for (const s of q.select) {
        if (s.kind === 'field') {
          this.insert(out.fields, this.path(s.path, scope), s.path, false);
        } else if (s.kind === 'fields') {
          if (s.which !== 'STANDARD' && (q.limit === undefined || q.limit > 200)) {
            throw this.fail('MALFORMED_QUERY', s.pos, 'The SOQL FIELDS function must have a LIMIT of at most 200');
          }
          for (const f of scope.info.fields) {
            const custom = f.name.endsWith('__c');
            if (s.which === 'ALL' || (s.which === 'CUSTOM') === custom) {
              this.insert(out.fields, { hops: [], field: f, domain: domainOf(f.type) }, { parts: [f.name], pos: s.pos }, true);
            }
          }
        } else if (s.kind === 'subquery') {
          out.fields.push(this.childQuery(s.query, scope));
        }
      }
    }
    if (q.where) out.where = this.cond(q.where, scope);
    out.orderBy = q.orderBy.map((o): Order => ({ operand: this.operand(o.operand, scope), desc: o.desc, nullsFirst: o.nullsFirst ?? !o.desc }));
    return out;
  }

  private childQuery(q: RawQuery, parent: Scope): OutNode {
    const parts = q.from.parts;
    const relName = parts.length === 2 && parent.selfNames.some((n) => eq(n, parts[0]!)) ? parts[1]! : parts.join('.');
    const rel = parts.length <= 2 ? parent.info.childRelationships?.find((r) => eq(r.relationshipName, relName)) : undefined;
    if (!rel) {
      throw this.fail('INVALID_TYPE', q.from.pos, `Didn't understand relationship '${relName}' in FROM part of query call. ${NO_SUCH_RELATIONSHIP_HINT}`);
    }
    const info = this.describe(rel.childSObject, q.from.pos);
    const scope: Scope = { info, selfNames: [info.name, rel.relationshipName, ...(q.alias ? [q.alias] : [])] };
    return { kind: 'child', key: rel.relationshipName, childObject: info.name, fkField: rel.field, query: this.query(q, scope, false) };
  }

  /** Merges parent paths into one nested object per relationship, placed where the relationship is first named. */
  private insert(nodes: OutNode[], path: FieldPath, raw: RawPath, lenient: boolean): void {
    let level = nodes;
    for (const hop of path.hops) {
      let node = level.find((n): n is Extract<OutNode, { kind: 'parent' }> => n.kind === 'parent' && n.key === hop.relName);
      if (!node) {
        node = { kind: 'parent', key: hop.relName, hop, children: [] };
        level.push(node);
      }
      level = node.children;
    }
    if (level.some((n) => n.kind === 'field' && n.key === path.field.name)) {
      if (lenient) return;
      throw this.fail('MALFORMED_QUERY', raw.pos, `duplicate field selected: ${raw.parts.join('.')}`);
    }
    level.push({ kind: 'field', key: path.field.name, field: path.field });
  }

  private path(raw: RawPath, scope: Scope): FieldPath {
    let parts = raw.parts;
    if (parts.length > 1 && scope.selfNames.some((n) => eq(n, parts[0]!))) parts = parts.slice(1);
    let info = scope.info;
    const hops: Hop[] = [];
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      const ref = info.fields.find((f) => f.relationshipName !== undefined && eq(f.relationshipName, part) && f.referenceTo?.length);
      if (!ref) {
        throw this.fail('INVALID_FIELD', raw.pos, `Didn't understand relationship '${part}' in field path. ${NO_SUCH_RELATIONSHIP_HINT}`);
      }
      const targets = ref.referenceTo!;
      // Polymorphic lookups (Owner, Who, What): a field is looked up on each possible target in turn.
      const next = parts[i + 1]!;
      const last = i === parts.length - 2;
      let target: SoqlObjectInfo | undefined;
      for (const t of targets) {
        const d = this.source.describe(t);
        if (!d) continue;
        target ??= d;
        if (!last || d.fields.some((f) => eq(f.name, next))) {
          target = d;
          break;
        }
      }
      if (!target) throw this.fail('INVALID_FIELD', raw.pos, `Didn't understand relationship '${part}' in field path. ${NO_SUCH_RELATIONSHIP_HINT}`);
      hops.push({ refField: ref, relName: ref.relationshipName!, polymorphic: targets.length > 1 });
      info = target;
    }
    const name = parts[parts.length - 1]!;
    const field = info.fields.find((f) => eq(f.name, name));
    if (!field) throw this.fail('INVALID_FIELD', raw.pos, `No such column '${name}' on entity '${info.name}'. ${NO_SUCH_COLUMN_HINT}`);
    return { hops, field, domain: domainOf(field.type) };
  }

  private aggSpec(a: RawAggregate, scope: Scope): AggSpec {
    return { fn: a.fn, arg: a.arg ? this.path(a.arg, scope) : null };
  }

  private operand(o: RawOperand, scope: Scope): Operand {
    if (o.kind === 'field') {
      const path = this.path(o.path, scope);
      return { kind: 'field', path, domain: path.domain };
    }
    const spec = this.aggSpec(o, scope);
    const domain: Domain = spec.fn === 'MIN' || spec.fn === 'MAX' ? (spec.arg?.domain ?? 'number') : 'number';
    return { kind: 'agg', spec, domain };
  }

  private cond(c: RawCond, scope: Scope): Cond {
    switch (c.kind) {
      case 'and':
      case 'or':
        return { kind: c.kind, items: c.items.map((i) => this.cond(i, scope)) };
      case 'not':
        return { kind: 'not', item: this.cond(c.item, scope) };
      case 'cmp': {
        const left = this.operand(c.left, scope);
        if ((left.domain === 'boolean' || left.domain === 'multi') && c.op !== '=' && c.op !== '!=') {
          throw this.fail('INVALID_QUERY_FILTER_OPERATOR', opPos(c.left), `invalid operator on ${left.domain === 'multi' ? 'multipicklist' : 'boolean'} field`);
        }
        return { kind: 'cmp', left, op: c.op, value: this.literal(left, c.value) };
      }
      case 'in': {
        const left = this.operand(c.left, scope);
        if (c.subquery) {
          const sub = this.semiJoin(c.subquery);
          return { kind: 'in', left, negated: c.negated, values: [], subquery: sub };
        }
        return { kind: 'in', left, negated: c.negated, values: c.values.map((v) => this.literal(left, v)) };
      }
      case 'like': {
        const left = this.operand(c.left, scope);
        if (left.domain !== 'string' && left.domain !== 'multi') {
          throw this.fail(
            'INVALID_QUERY_FILTER_OPERATOR',
            opPos(c.left),
            `invalid operator on ${left.kind === 'field' ? left.path.field.type : 'aggregate'} field`,
          );
        }
        if (c.value.kind !== 'string') this.literal(left, c.value);
        return { kind: 'like', left, regex: likeRegex(c.value.kind === 'string' ? c.value.raw : '') };
      }
      case 'includes': {
        const left = this.operand(c.left, scope);
        if (left.domain !== 'multi') {
          throw this.fail('INVALID_QUERY_FILTER_OPERATOR', opPos(c.left), 'includes or excludes operator only valid on multipicklist field');
        }
        const sets = c.values.map((v) => {
          const lit = this.literal(left, v);
          return lit.kind === 'value' ? multiSet(String(lit.v)) : [];
        });
        return { kind: 'includes', left, negated: c.negated, sets };
      }
    }
  }

  /** `Id IN (SELECT AccountId FROM Contact)`: a separate top-level query on another object, selecting one id field. */
  private semiJoin(q: RawQuery): ParsedQuery {
    const info = this.describe(q.from.parts.join('.'), q.from.pos);
    const sub = this.query(q, { info, selfNames: [info.name, ...(q.alias ? [q.alias] : [])] }, false);
    const only = sub.fields[0];
    if (sub.fields.length !== 1 || only?.kind !== 'field' || domainOf(only.field.type) !== 'id') {
      throw this.fail('MALFORMED_QUERY', q.pos, 'semi join sub-selects can only select id fields');
    }
    return sub;
  }

  private literal(left: Operand, v: RawValue): Literal {
    if (v.kind === 'null') return { kind: 'null' };
    const name = left.kind === 'field' ? left.path.field.name : left.spec.fn;
    const type = left.kind === 'field' ? left.path.field.type : 'double';
    const mismatch = (word: string, quoted: boolean): SoqlError =>
      this.fail(
        'INVALID_FIELD',
        v.pos,
        `value of filter criterion for field '${name}' must be of type ${word} and should ${quoted ? '' : 'not '}be enclosed in quotes`,
      );
    switch (left.domain) {
      case 'string':
      case 'multi':
        if (v.kind !== 'string') throw mismatch('string', true);
        return { kind: 'value', v: v.value };
      case 'id':
        if (v.kind !== 'string' || !ID_RE.test(v.value)) {
          const shown = v.kind === 'string' ? v.value : this.tree.text.slice(v.pos).split(/[\s,)]/)[0];
          throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', `invalid ID field: ${shown}`);
        }
        return { kind: 'value', v: v.value };
      case 'boolean':
        if (v.kind !== 'boolean') throw mismatch('boolean', false);
        return { kind: 'value', v: v.value };
      case 'number':
        if (v.kind !== 'number') throw mismatch(TYPE_WORD[type] ?? 'double', false);
        return { kind: 'value', v: v.value };
      case 'date':
        if (v.kind === 'date') return { kind: 'value', v: v.value };
        if (v.kind === 'dateLiteral') return v.n === undefined ? { kind: 'range', name: v.name } : { kind: 'range', name: v.name, n: v.n };
        throw mismatch('date', false);
      case 'datetime': {
        if (v.kind === 'datetime') return { kind: 'value', v: parseInstant(v.value)! };
        if (v.kind === 'dateLiteral') return v.n === undefined ? { kind: 'range', name: v.name } : { kind: 'range', name: v.name, n: v.n };
        throw mismatch('dateTime', false);
      }
      default:
        throw this.fail('INVALID_FIELD', v.pos, `field '${name}' can not be filtered in query call`);
    }
  }
}

function opPos(o: RawOperand): number {
  return o.kind === 'field' ? o.path.pos : o.pos;
}

function samePath(a: FieldPath, b: FieldPath): boolean {
  return a.field.name === b.field.name && a.hops.length === b.hops.length && a.hops.every((h, i) => h.refField.name === b.hops[i]!.refField.name);
}
