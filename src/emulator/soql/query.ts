/** The resolved query: names bound to describe results, literals typed by the field they are compared with. */
import type { AggregateFn, CompareOp } from './ast.js';
import type { SoqlFieldInfo } from './types.js';

/** How values of a field compare: ids by their 15-character key, strings case-insensitively, and so on. */
export type Domain = 'string' | 'multi' | 'id' | 'boolean' | 'number' | 'date' | 'datetime' | 'other';

export interface Hop {
  /** The reference field holding the parent id, e.g. AccountId. */
  refField: SoqlFieldInfo;
  /** Canonical relationship name, e.g. Account. */
  relName: string;
  polymorphic: boolean;
}

export interface FieldPath {
  hops: Hop[];
  field: SoqlFieldInfo;
  domain: Domain;
}

export type OutNode =
  | { kind: 'field'; key: string; field: SoqlFieldInfo }
  | { kind: 'parent'; key: string; hop: Hop; children: OutNode[] }
  | { kind: 'child'; key: string; childObject: string; fkField: string; query: ParsedQuery };

export interface AggSpec {
  fn: AggregateFn;
  arg: FieldPath | null;
}

export type AggOutItem = { kind: 'group'; key: string; path: FieldPath } | { kind: 'agg'; key: string; spec: AggSpec };

export type Literal = { kind: 'null' } | { kind: 'value'; v: string | number | boolean } | { kind: 'range'; name: string; n?: number };

export type Operand = { kind: 'field'; path: FieldPath; domain: Domain } | { kind: 'agg'; spec: AggSpec; domain: Domain };

export type Cond =
  | { kind: 'and' | 'or'; items: Cond[] }
  | { kind: 'not'; item: Cond }
  | { kind: 'cmp'; left: Operand; op: CompareOp; value: Literal }
  | { kind: 'in'; left: Operand; negated: boolean; values: Literal[]; subquery?: ParsedQuery }
  | { kind: 'like'; left: Operand; regex: RegExp }
  | { kind: 'includes'; left: Operand; negated: boolean; sets: string[][] };

export interface Order {
  operand: Operand;
  desc: boolean;
  nullsFirst: boolean;
}

export interface ParsedQuery {
  text: string;
  /** Canonical object name. */
  object: string;
  /** SELECT COUNT(): the answer is a number (totalSize), no records. */
  isCount: boolean;
  /** Aggregate functions or GROUP BY: records are AggregateResult rows. */
  isAggregate: boolean;
  fields: OutNode[];
  aggregate?: { items: AggOutItem[]; groupBy: FieldPath[]; having?: Cond };
  where?: Cond;
  orderBy: Order[];
  limit?: number;
  offset?: number;
}
