import { SoqlError, lexerError } from './errors.js';

export type TokenKind = 'ident' | 'string' | 'number' | 'date' | 'datetime' | 'op' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text of the token (strings keep their quotes), used verbatim in "unexpected token" messages. */
  text: string;
  /** Unescaped value for strings; same as text otherwise. */
  value: string;
  pos: number;
}

const DATE_RE = /\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))?/y;
const NUMBER_RE = /\d+(?:\.\d+)?/y;
const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
const OPS = ['!=', '<>', '<=', '>=', '=', '<', '>'];
const PUNCT = ',().:-+';

/** Escapes SOQL accepts inside string literals; `\_` and `\%` only matter to LIKE, which re-reads the raw text. */
const ESCAPES: Record<string, string> = {
  n: '\n',
  N: '\n',
  r: '\r',
  R: '\r',
  t: '\t',
  T: '\t',
  b: '\b',
  B: '\b',
  f: '\f',
  F: '\f',
  '"': '"',
  "'": "'",
  '\\': '\\',
  _: '_',
  '%': '%',
};

export function tokenize(text: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= n) throw lexerError(text, n, "mismatched character '<EOF>' expecting '''");
        const d = text[i]!;
        if (d === "'") {
          i++;
          break;
        }
        if (d === '\\') {
          const e = text[i + 1];
          if (e === undefined) throw lexerError(text, n, "mismatched character '<EOF>' expecting '''");
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          const mapped = ESCAPES[e];
          if (mapped === undefined) {
            const close = text.indexOf("'", i + 2);
            const inner = text.slice(start + 1, close < 0 ? n : close);
            throw new SoqlError('MALFORMED_QUERY', `Invalid string literal '${inner}'. Illegal character sequence '\\${e}' in string literal.`);
          }
          value += mapped;
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      toks.push({ kind: 'string', text: text.slice(start, i), value, pos: start });
      continue;
    }
    if (c >= '0' && c <= '9') {
      DATE_RE.lastIndex = i;
      const dm = DATE_RE.exec(text);
      if (dm) {
        toks.push({ kind: dm[0].length > 10 ? 'datetime' : 'date', text: dm[0], value: dm[0], pos: i });
        i += dm[0].length;
        continue;
      }
      NUMBER_RE.lastIndex = i;
      const nm = NUMBER_RE.exec(text)!;
      toks.push({ kind: 'number', text: nm[0], value: nm[0], pos: i });
      i += nm[0].length;
      continue;
    }
    IDENT_RE.lastIndex = i;
    const im = IDENT_RE.exec(text);
    if (im) {
      toks.push({ kind: 'ident', text: im[0], value: im[0], pos: i });
      i += im[0].length;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) {
      toks.push({ kind: 'op', text: op, value: op, pos: i });
      i += op.length;
      continue;
    }
    if (PUNCT.includes(c)) {
      toks.push({ kind: 'punct', text: c, value: c, pos: i });
      i++;
      continue;
    }
    throw lexerError(text, i, `no viable alternative at character '${c}'`);
  }
  toks.push({ kind: 'eof', text: '<EOF>', value: '', pos: n });
  return toks;
}
