export type SoqlErrorCode = 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE' | 'INVALID_QUERY_FILTER_OPERATOR';

/** `message` is worded exactly as Salesforce words it, so the core can put it in the REST error body as is. */
export class SoqlError extends Error {
  readonly errorCode: SoqlErrorCode;
  constructor(errorCode: SoqlErrorCode, message: string) {
    super(message);
    this.name = 'SoqlError';
    this.errorCode = errorCode;
  }
}

export const NO_SUCH_COLUMN_HINT =
  "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";
export const NO_SUCH_OBJECT_HINT =
  "If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.";
export const NO_SUCH_RELATIONSHIP_HINT =
  "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.";

export interface Location {
  row: number;
  column: number;
  lineStart: number;
  lineEnd: number;
}

export function locate(text: string, pos: number): Location {
  let row = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text[i] === '\n') {
      row++;
      lineStart = i + 1;
    }
  }
  let lineEnd = text.indexOf('\n', lineStart);
  if (lineEnd < 0) lineEnd = text.length;
  if (text[lineEnd - 1] === '\r') lineEnd--;
  return { row, column: pos - lineStart + 1, lineStart, lineEnd };
}

/** Characters of the line shown before the error once the line is long enough to need a window. */
const WINDOW_BEFORE = 35;

/**
 * Salesforce's caret block: the offending line, a caret under the error, then Row/Column counted on the full query.
 * A long line is cut to start about 35 characters before the error. The rule is inferred from
 * error-MALFORMED_QUERY-caret.json: the caret stands exactly 35 columns in, while the shown text starts at the
 * beginning of the word that holds the cut point (so there the caret lands one column early, as recorded).
 */
export function caretMessage(text: string, pos: number, body: string): string {
  const loc = locate(text, pos);
  let start = loc.lineStart;
  let caret = pos - loc.lineStart;
  if (caret > WINDOW_BEFORE) {
    caret = WINDOW_BEFORE;
    start = pos - WINDOW_BEFORE;
    if (/\s/.test(text[start]!)) {
      while (start < pos && /\s/.test(text[start]!)) start++;
    } else {
      while (start > loc.lineStart && !/\s/.test(text[start - 1]!)) start--;
    }
  }
  const line = text.slice(start, loc.lineEnd);
  return `\n${line}\n${' '.repeat(caret)}^\nERROR at Row:${loc.row}:Column:${loc.column}\n${body}`;
}

/** Lexer failures come from an ANTLR-style lexer on Salesforce's side, hence a different shape ("line 1:N ..."). */
export function lexerError(text: string, pos: number, body: string): SoqlError {
  const loc = locate(text, pos);
  return new SoqlError('MALFORMED_QUERY', `line ${loc.row}:${loc.column - 1} ${body}`);
}
