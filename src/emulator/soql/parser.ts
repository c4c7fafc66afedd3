import type { AggregateFn, CompareOp, RawAggregate, RawCond, RawOperand, RawOrder, RawPath, RawQuery, RawSelectItem, RawValue } from './ast.js';
import { SoqlError, caretMessage } from './errors.js';
import { DATE_LITERALS } from './dates.js';
import { tokenize, type Token } from './tokenizer.js';

/** Words that end a field list or expression; a field named like one of them is a syntax error in Salesforce too. */
const RESERVED = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'NULL',
  'TRUE',
  'FALSE',
  'ORDER',
  'GROUP',
  'BY',
  'HAVING',
  'LIMIT',
  'OFFSET',
  'WITH',
  'FOR',
  'USING',
  'INCLUDES',
  'EXCLUDES',
  'ASC',
  'DESC',
  'NULLS',
  'TYPEOF',
]);
const AGGREGATES = new Set<string>(['COUNT', 'COUNT_DISTINCT', 'SUM', 'AVG', 'MIN', 'MAX']);

export interface SyntaxTree {
  text: string;
  query: RawQuery;
}

export function parseSyntax(text: string): SyntaxTree {
  const toks = tokenize(text);
  const p = new Parser(text, toks);
  const query = p.query(true);
  return { text, query };
}

const MAX_NESTING = 200;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly text: string,
    private readonly toks: Token[],
  ) {}

  private peek(k = 0): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private isKw(t: Token, kw: string): boolean {
    return t.kind === 'ident' && t.text.toUpperCase() === kw;
  }
  private acceptKw(kw: string): boolean {
    if (this.isKw(this.peek(), kw)) {
      this.i++;
      return true;
    }
    return false;
  }
  private expectKw(kw: string): void {
    if (!this.acceptKw(kw)) throw this.unexpected();
  }
  private isPunct(t: Token, p: string): boolean {
    return t.kind === 'punct' && t.text === p;
  }
  private acceptPunct(p: string): boolean {
    if (this.isPunct(this.peek(), p)) {
      this.i++;
      return true;
    }
    return false;
  }
  private expectPunct(p: string): void {
    if (!this.acceptPunct(p)) throw this.unexpected();
  }

  unexpected(t: Token = this.peek()): SoqlError {
    const idx = this.toks.indexOf(t);
    // A wrong first token gets no caret block (error-MALFORMED_QUERY.json: "unexpected token: SELEKT").
    if (idx === 0) return new SoqlError('MALFORMED_QUERY', `unexpected token: ${t.text}`);
    const shown = t.kind === 'eof' ? '<EOF>' : `'${t.text}'`;
    return new SoqlError('MALFORMED_QUERY', caretMessage(this.text, t.pos, `unexpected token: ${shown}`));
  }

  query(top: boolean): RawQuery {
    const pos = this.peek().pos;
    this.expectKw('SELECT');
    const select: RawSelectItem[] = [this.selectItem(top)];
    while (this.acceptPunct(',')) select.push(this.selectItem(top));
    this.expectKw('FROM');
    const from = this.path();
    const q: RawQuery = { select, from, groupBy: [], orderBy: [], pos };
    const a = this.peek();
    if (a.kind === 'ident' && !RESERVED.has(a.text.toUpperCase())) {
      q.alias = a.text;
      this.i++;
    }
    if (this.acceptKw('USING')) {
      this.expectKw('SCOPE');
      if (this.peek().kind !== 'ident') throw this.unexpected();
      this.next();
    }
    if (this.acceptKw('WHERE')) q.where = this.condition();
    if (this.acceptKw('WITH')) {
      // WITH SECURITY_ENFORCED / USER_MODE / SYSTEM_MODE only change sharing and FLS, which the emulator does not model.
      if (this.peek().kind !== 'ident' || RESERVED.has(this.peek().text.toUpperCase())) throw this.unexpected();
      this.next();
    }
    if (this.acceptKw('GROUP')) {
      this.expectKw('BY');
      q.groupBy.push(this.path());
      while (this.acceptPunct(',')) q.groupBy.push(this.path());
      if (this.acceptKw('HAVING')) q.having = this.condition();
    }
    if (this.acceptKw('ORDER')) {
      this.expectKw('BY');
      q.orderBy.push(this.orderItem());
      while (this.acceptPunct(',')) q.orderBy.push(this.orderItem());
    }
    if (this.acceptKw('LIMIT')) q.limit = this.integer();
    if (this.acceptKw('OFFSET')) q.offset = this.integer();
    if (top && this.acceptKw('FOR')) {
      const t = this.peek();
      if (!['VIEW', 'REFERENCE', 'UPDATE'].some((k) => this.isKw(t, k))) throw this.unexpected();
      this.next();
    }
    if (top && this.peek().kind !== 'eof') throw this.unexpected();
    return q;
  }

  private integer(): number {
    const t = this.peek();
    if (t.kind !== 'number' || t.text.includes('.')) throw this.unexpected();
    this.next();
    return Number(t.text);
  }

  private path(): RawPath {
    const t = this.peek();
    if (t.kind !== 'ident' || RESERVED.has(t.text.toUpperCase())) throw this.unexpected();
    this.next();
    const parts = [t.text];
    while (this.isPunct(this.peek(), '.')) {
      this.next();
      const u = this.peek();
      if (u.kind !== 'ident') throw this.unexpected();
      this.next();
      parts.push(u.text);
    }
    return { parts, pos: t.pos };
  }

  private isCall(): boolean {
    return this.peek().kind === 'ident' && this.isPunct(this.peek(1), '(');
  }

  private aggregate(): RawAggregate {
    const t = this.next();
    const fn = t.text.toUpperCase();
    if (!AGGREGATES.has(fn)) throw this.unexpected(t);
    this.expectPunct('(');
    let arg: RawPath | null = null;
    if (!this.isPunct(this.peek(), ')')) arg = this.path();
    else if (fn !== 'COUNT') throw this.unexpected();
    this.expectPunct(')');
    return { kind: 'agg', fn: fn as AggregateFn, arg, pos: t.pos };
  }

  private selectItem(top: boolean): RawSelectItem {
    const t = this.peek();
    if (top && this.isPunct(t, '(') && this.isKw(this.peek(1), 'SELECT')) {
      this.next();
      const query = this.query(false);
      this.expectPunct(')');
      return { kind: 'subquery', query, pos: t.pos };
    }
    if (this.isCall()) {
      if (this.isKw(t, 'FIELDS')) {
        this.next();
        this.next();
        const w = this.peek();
        const which = w.kind === 'ident' ? w.text.toUpperCase() : '';
        if (which !== 'ALL' && which !== 'STANDARD' && which !== 'CUSTOM') throw this.unexpected();
        this.next();
        this.expectPunct(')');
        return { kind: 'fields', which, pos: t.pos };
      }
      const agg = this.aggregate();
      const a = this.peek();
      if (a.kind === 'ident' && !RESERVED.has(a.text.toUpperCase())) {
        agg.alias = a.text;
        this.next();
      }
      return agg;
    }
    return { kind: 'field', path: this.path() };
  }

  private orderItem(): RawOrder {
    const operand: RawOperand = this.isCall() ? this.aggregate() : { kind: 'field', path: this.path() };
    let desc = false;
    if (this.acceptKw('DESC')) desc = true;
    else this.acceptKw('ASC');
    const o: RawOrder = { operand, desc };
    if (this.acceptKw('NULLS')) {
      if (this.acceptKw('FIRST')) o.nullsFirst = true;
      else if (this.acceptKw('LAST')) o.nullsFirst = false;
      else throw this.unexpected();
    }
    return o;
  }

  /** SOQL refuses to mix AND and OR at one level without parentheses; Salesforce reports the second connective. */
  private condition(): RawCond {
    const first = this.term();
    const t = this.peek();
    const conn = this.isKw(t, 'AND') ? 'AND' : this.isKw(t, 'OR') ? 'OR' : undefined;
    if (!conn) return first;
    const items = [first];
    while (this.acceptKw(conn)) items.push(this.term());
    const other = conn === 'AND' ? 'OR' : 'AND';
    if (this.isKw(this.peek(), other)) throw this.unexpected();
    return { kind: conn === 'AND' ? 'and' : 'or', items };
  }

  private term(): RawCond {
    // Bounded so that a hostile query cannot overflow the stack (a RangeError would surface as a 500).
    if (++this.depth > MAX_NESTING) throw this.unexpected();
    try {
      if (this.acceptKw('NOT')) return { kind: 'not', item: this.term() };
      if (this.acceptPunct('(')) {
        const c = this.condition();
        this.expectPunct(')');
        return c;
      }
      return this.comparison();
    } finally {
      this.depth--;
    }
  }

  private comparison(): RawCond {
    const left: RawOperand = this.isCall() ? this.aggregate() : { kind: 'field', path: this.path() };
    const t = this.peek();
    if (t.kind === 'op') {
      this.next();
      const op: CompareOp = t.text === '<>' ? '!=' : (t.text as CompareOp);
      return { kind: 'cmp', left, op, value: this.value() };
    }
    if (this.isKw(t, 'LIKE')) {
      this.next();
      return { kind: 'like', left, value: this.value() };
    }
    let negated = false;
    if (this.isKw(t, 'NOT') && this.isKw(this.peek(1), 'IN')) {
      this.next();
      negated = true;
    }
    if (this.acceptKw('IN')) {
      this.expectPunct('(');
      if (this.isKw(this.peek(), 'SELECT')) {
        const subquery = this.query(false);
        this.expectPunct(')');
        return { kind: 'in', left, negated, values: [], subquery };
      }
      const values = this.valueList();
      return { kind: 'in', left, negated, values };
    }
    if (this.isKw(t, 'INCLUDES') || this.isKw(t, 'EXCLUDES')) {
      this.next();
      this.expectPunct('(');
      return { kind: 'includes', left, negated: t.text.toUpperCase() === 'EXCLUDES', values: this.valueList() };
    }
    throw this.unexpected();
  }

  private valueList(): RawValue[] {
    const values = [this.value()];
    while (this.acceptPunct(',')) values.push(this.value());
    this.expectPunct(')');
    return values;
  }

  private value(): RawValue {
    const t = this.peek();
    switch (t.kind) {
      case 'string':
        this.next();
        return { kind: 'string', value: t.value, raw: t.text.slice(1, -1), pos: t.pos };
      case 'number':
        this.next();
        return { kind: 'number', value: Number(t.text), pos: t.pos };
      case 'date':
        this.next();
        return { kind: 'date', value: t.text, pos: t.pos };
      case 'datetime':
        this.next();
        return { kind: 'datetime', value: t.text, pos: t.pos };
      case 'punct': {
        if (t.text === '-' || t.text === '+') {
          const u = this.peek(1);
          if (u.kind !== 'number') throw this.unexpected(u);
          this.i += 2;
          return { kind: 'number', value: t.text === '-' ? -Number(u.text) : Number(u.text), pos: t.pos };
        }
        if (t.text === ':') {
          throw new SoqlError('MALFORMED_QUERY', caretMessage(this.text, t.pos, 'Bind variables only allowed in Apex code'));
        }
        throw this.unexpected();
      }
      case 'ident': {
        const up = t.text.toUpperCase();
        if (up === 'NULL') {
          this.next();
          return { kind: 'null', pos: t.pos };
        }
        if (up === 'TRUE' || up === 'FALSE') {
          this.next();
          return { kind: 'boolean', value: up === 'TRUE', pos: t.pos };
        }
        const spec = DATE_LITERALS.get(up);
        if (!spec) throw this.unexpected();
        this.next();
        if (!spec.takesN) return { kind: 'dateLiteral', name: up, pos: t.pos };
        this.expectPunct(':');
        const n = this.integer();
        return { kind: 'dateLiteral', name: up, n, pos: t.pos };
      }
      default:
        throw this.unexpected();
    }
  }
}
