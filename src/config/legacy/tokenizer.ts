/**
 * Tokens of the Python subset that xm configs use: names, integers, strings (single, double,
 * triple-quoted, `r`-prefixed, adjacent ones joined by the parser), operators, and the layout
 * tokens NEWLINE / INDENT / DEDENT. Newlines inside brackets and after a trailing `\` join lines.
 */
import { legacyError } from './errors.js';

export type PyTokenType = 'name' | 'int' | 'str' | 'op' | 'newline' | 'indent' | 'dedent' | 'eof';

export interface PyToken {
  readonly type: PyTokenType;
  readonly text: string;
  /** For `str`: the decoded value; for `int`: the digits as written. */
  readonly value: string;
  readonly line: number;
}

const OPERATORS = ['**', '//', '==', '!=', '<=', '>=', '+=', '-=', '<>', '+', '-', '*', '/', '%', '(', ')', '[', ']', '{', '}', ',', ':', '.', '=', '<', '>', ';'];

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\', '\'': '\'', '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

export function tokenizePython(src: string, source: string): PyToken[] {
  const out: PyToken[] = [];
  const indents = [0];
  let line = 1;
  let i = 0;
  const open: number[] = [];
  let atLineStart = true;
  const push = (type: PyTokenType, text: string, value = text): void => {
    out.push({ type, text, value, line });
  };
  while (i < src.length) {
    if (atLineStart && open.length === 0) {
      let col = 0;
      let j = i;
      while (j < src.length && (src[j] === ' ' || src[j] === '\t' || src[j] === '\f')) {
        col = src[j] === '\t' ? (Math.floor(col / 8) + 1) * 8 : col + 1;
        j++;
      }
      const c = src[j];
      if (c === undefined) break;
      if (c === '\n' || c === '#' || (c === '\r' && src[j + 1] === '\n')) {
        // Blank or comment-only line: no layout tokens.
        const nl = src.indexOf('\n', j);
        if (nl < 0) break;
        i = nl + 1;
        line++;
        continue;
      }
      i = j;
      atLineStart = false;
      const top = indents[indents.length - 1] as number;
      if (col > top) {
        indents.push(col);
        push('indent', '');
      } else {
        while (col < (indents[indents.length - 1] as number)) {
          indents.pop();
          push('dedent', '');
        }
        if (col !== indents[indents.length - 1]) throw legacyError(source, line, 'inconsistent indentation');
      }
    }
    const c = src[i] as string;
    if (c === ' ' || c === '\t' || c === '\f' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\\' && (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n'))) {
      i = src.indexOf('\n', i) + 1;
      line++;
      continue;
    }
    if (c === '\n') {
      i++;
      if (open.length === 0) {
        push('newline', '\n');
        atLineStart = true;
      }
      line++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < src.length && /[A-Za-z0-9_]/.test(src[j] as string)) j++;
      const word = src.slice(i, j);
      const q = src[j];
      if ((q === '\'' || q === '"') && /^[rRuU]$/.test(word)) {
        i = readString(j, /^[rR]$/.test(word));
        continue;
      }
      push('name', word);
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^(0[xX][0-9a-fA-F]+|0[oO][0-7]+|[0-9]+)[lL]?/.exec(src.slice(i, i + 64));
      const text = m?.[0] ?? c;
      if (/^[0-9]*\.|^[0-9]+[eEjJ]/.test(src.slice(i, i + 64))) throw legacyError(source, line, 'floating-point numbers are not supported');
      push('int', text, m?.[1] ?? c);
      i += text.length;
      continue;
    }
    if (c === '\'' || c === '"') {
      i = readString(i, false);
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op === undefined) throw legacyError(source, line, `unexpected character \`${c}'`);
    if (op === '(' || op === '[' || op === '{') open.push(line);
    if (op === ')' || op === ']' || op === '}') open.pop();
    push('op', op);
    i += op.length;
  }
  if (open.length > 0) throw legacyError(source, open[open.length - 1] as number, 'unclosed bracket');
  if (!atLineStart) push('newline', '');
  while (indents.length > 1) {
    indents.pop();
    push('dedent', '');
  }
  push('eof', '');
  return out;

  /** Reads a string literal whose quote is at `q`; returns the index after it. */
  function readString(q: number, raw: boolean): number {
    const quote = src[q] as string;
    const triple = src.startsWith(quote.repeat(3), q);
    const close = triple ? quote.repeat(3) : quote;
    const startLine = line;
    let j = q + close.length;
    let value = '';
    for (;;) {
      if (j >= src.length) throw legacyError(source, startLine, 'unterminated string');
      if (src.startsWith(close, j)) {
        j += close.length;
        break;
      }
      const ch = src[j] as string;
      if (ch === '\n') {
        if (!triple) throw legacyError(source, startLine, 'unterminated string');
        line++;
      }
      if (ch !== '\\') {
        value += ch;
        j++;
        continue;
      }
      const n = src[j + 1];
      if (n === undefined) throw legacyError(source, startLine, 'unterminated string');
      if (raw) {
        value += ch + n;
        j += 2;
        continue;
      }
      if (n === '\n') {
        line++;
        j += 2;
        continue;
      }
      const simple = ESCAPES[n];
      if (simple !== undefined) {
        value += simple;
        j += 2;
        continue;
      }
      const hex = /^x([0-9a-fA-F]{2})/.exec(src.slice(j + 1, j + 4));
      if (hex !== null) {
        value += String.fromCharCode(parseInt(hex[1] as string, 16));
        j += 4;
        continue;
      }
      const oct = /^[0-7]{1,3}/.exec(src.slice(j + 1, j + 4));
      if (oct !== null) {
        value += String.fromCharCode(parseInt(oct[0], 8));
        j += 1 + oct[0].length;
        continue;
      }
      value += ch + n;
      j += 2;
    }
    out.push({ type: 'str', text: src.slice(q, j), value, line: startLine });
    return j;
  }
}
