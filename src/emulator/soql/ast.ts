/** Syntax tree as written, before names are resolved against describe. Positions are offsets into the query text. */

export interface RawPath {
  parts: string[];
  pos: number;
}

export type AggregateFn = 'COUNT' | 'COUNT_DISTINCT' | 'SUM' | 'AVG' | 'MIN' | 'MAX';

export interface RawAggregate {
  kind: 'agg';
  fn: AggregateFn;
  /** null for COUNT() */
  arg: RawPath | null;
  alias?: string;
  pos: number;
}

export type RawSelectItem =
  | { kind: 'field'; path: RawPath }
  | RawAggregate
  | { kind: 'fields'; which: 'ALL' | 'STANDARD' | 'CUSTOM'; pos: number }
  | { kind: 'subquery'; query: RawQuery; pos: number };

export type RawValue =
  | { kind: 'string'; value: string; raw: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'null'; pos: number }
  | { kind: 'boolean'; value: boolean; pos: number }
  | { kind: 'date'; value: string; pos: number }
  | { kind: 'datetime'; value: string; pos: number }
  | { kind: 'dateLiteral'; name: string; n?: number; pos: number };

export type RawOperand = { kind: 'field'; path: RawPath } | RawAggregate;

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type RawCond =
  | { kind: 'and' | 'or'; items: RawCond[] }
  | { kind: 'not'; item: RawCond }
  | { kind: 'cmp'; left: RawOperand; op: CompareOp; value: RawValue }
  | { kind: 'in'; left: RawOperand; negated: boolean; values: RawValue[]; subquery?: RawQuery }
  | { kind: 'like'; left: RawOperand; value: RawValue }
  | { kind: 'includes'; left: RawOperand; negated: boolean; values: RawValue[] };

export interface RawOrder {
  operand: RawOperand;
  desc: boolean;
  nullsFirst?: boolean;
}

export interface RawQuery {
  select: RawSelectItem[];
  from: RawPath;
  alias?: string;
  where?: RawCond;
  groupBy: RawPath[];
  having?: RawCond;
  orderBy: RawOrder[];
  limit?: number;
  offset?: number;
  pos: number;
}
