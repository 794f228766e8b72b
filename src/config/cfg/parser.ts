import { ToolstackError, trimWith } from '../../common/index.js';
import { CfgLexer } from './lexer.js';
import type { LexContext, Token, TokenType } from './lexer.js';
import type { CfgDocument, CfgSetting, CfgValue } from './types.js';

/**
 * The xl.cfg parser: a hand-written equivalent of Xen's bison grammar (grammar.md §1.3) that
 * also reproduces what Xen reports for bad input, line for line:
 *
 * - every message is `SOURCE:LINE: config parsing error near `TEXT': MESSAGE`, where TEXT is
 *   the offending token's text (`<newline>` for a bare newline) and LINE its location
 *   (a newline token reports the line before the one it ends);
 * - syntax errors read `syntax error, unexpected X, expecting Y`, with the expected-token
 *   lists of Xen's LALR automaton (its default reductions shorten them: inside a list only
 *   `']'` is ever expected; after a complete assignment not followed by `;` or a newline only
 *   `$end` is, and that error ends the parse);
 * - after an error the parser skips to the next newline and goes on; errors are muted until
 *   three tokens have been shifted (bison's error-recovery state), and every error on the line
 *   of a lexical error (or, for one that ends a line, on the next line) is muted as well;
 * - when the input had an error and contained a Python-looking character, Xen's three-line
 *   "looks like Python" warning follows, then xl's `Failed to parse config: Invalid argument`.
 */

/** The outcome of one parse: settings (only meaningful without errors) and Xen's report. */
export interface CfgParseResult {
  readonly settings: CfgSetting[];
  /** The error lines, in the order Xen prints them; empty exactly when the input is valid. */
  readonly errors: string[];
  /** Xen's `likely_python` flag: one of `+ - . ( ) :` appeared outside a string. */
  readonly likelyPython: boolean;
}

export const PYTHON_WARNING: readonly string[] = [
  'warning: Config file looks like it contains Python code.',
  'warning:  Arbitrary Python is no longer supported.',
  'warning:  See https://wiki.xen.org/wiki/PythonInXlConfig',
];

export const PARSE_FAILED_TRAILER = 'Failed to parse config: Invalid argument';

const TOKEN_NAMES: Readonly<Record<TokenType, string>> = {
  $end: '$end',
  IDENT: 'IDENT',
  NUMBER: 'NUMBER',
  STRING: 'STRING',
  NEWLINE: 'NEWLINE',
  '+=': '+=',
  '=': '\'=\'',
  ';': '\';\'',
  '[': '\'[\'',
  ']': '\']\'',
  ',': '\',\'',
};

const EXPECT_STATEMENT = '$end or IDENT or NEWLINE or \';\'';
const EXPECT_OPERATOR = '+= or \'=\'';
const EXPECT_VALUE = 'STRING or NUMBER or \'[\'';
const EXPECT_CLOSE = '\']\'';
const EXPECT_END = '$end';
/** Bison's YYMAXDEPTH in Xen's parser. */
const MAX_STACK = 10000;
/**
 * The most list items `+=` may copy in one parse. Each join is a setting of its own holding the
 * whole list so far (file order, as `config-parse --raw` shows), so N joins cost N²/2: 8,000 of
 * them took 469 MiB. Past this the parse ends as bison's would, out of memory.
 */
const MAX_JOINED_ITEMS = 4_000_000;

/** Unwinds to the statement loop after a syntax error (bison's pop to the `stmts` state). */
class Recover extends Error {}
/** Ends the parse (bison's YYABORT). */
class Abort extends Error {}
const RECOVER = new Recover('recover');
const ABORT = new Abort('abort');

class Parser implements LexContext {
  failed = false;
  likelyPython = false;
  readonly errors: string[] = [];
  readonly settings: CfgSetting[] = [];
  private readonly latest = new Map<string, CfgSetting>();
  private joinedItems = 0;
  private lexErrLine = -1;
  private errStatus = 0;
  private la: Token | undefined;
  private readonly lexer: CfgLexer;

  constructor(
    text: string,
    private readonly source: string,
  ) {
    this.lexer = new CfgLexer(text, this);
  }

  /** Xen's `xlu__cfg_yyerror`. */
  private report(locLine: number, rawText: string, message: string): void {
    if (locLine <= this.lexErrLine) return;
    let line = locLine;
    let text = rawText;
    let newline = '';
    if (text.endsWith('\n')) {
      text = text.slice(0, -1);
      line--;
      if (text === '') newline = '<newline>';
    }
    text = trimWith(text, ' \t', 'end');
    const quoted = text === '' ? '' : `\`${text.split('\0')[0] ?? ''}'`;
    this.errors.push(`${this.source}:${line}: config parsing error near ${quoted}${newline}: ${message}`);
    this.failed = true;
  }

  lexicalError(text: string, line: number, message: string): void {
    this.report(line, text, message);
    this.lexErrLine = line;
  }

  private peek(): Token {
    this.la ??= this.lexer.next();
    return this.la;
  }

  private shift(): Token {
    const t = this.peek();
    this.la = undefined;
    if (this.errStatus > 0) this.errStatus--;
    return t;
  }

  private syntaxError(expecting: string): never {
    const t = this.peek();
    if (this.errStatus === 0) this.report(t.line, t.text, `syntax error, unexpected ${TOKEN_NAMES[t.type]}, expecting ${expecting}`);
    throw RECOVER;
  }

  run(): void {
    try {
      for (;;) {
        try {
          if (this.statement()) return;
        } catch (e) {
          if (!(e instanceof Recover)) throw e;
          this.recover();
        }
      }
    } catch (e) {
      // An aborted parse always follows a reported error.
      if (!(e instanceof Abort)) throw e;
    }
  }

  /** One statement; true at the end of the input. */
  private statement(): boolean {
    const t = this.peek();
    switch (t.type) {
      case '$end':
        return true;
      case 'NEWLINE':
      case ';':
        this.shift();
        return false;
      case 'IDENT':
        break;
      default:
        this.syntaxError(EXPECT_STATEMENT);
    }
    const name = this.shift().value;
    const opTok = this.peek();
    if (opTok.type !== '=' && opTok.type !== '+=') this.syntaxError(EXPECT_OPERATOR);
    this.shift();
    const value = this.value(EXPECT_VALUE, 4);
    this.store(name, opTok.type, value);
    const end = this.peek();
    if (end.type === 'NEWLINE' || end.type === ';') {
      this.shift();
      return false;
    }
    if (end.type === '$end') return true;
    // Xen has reduced to `file: stmts assignment`: only the end of input may follow.
    if (this.errStatus === 0) {
      this.report(end.line, end.text, `syntax error, unexpected ${TOKEN_NAMES[end.type]}, expecting ${EXPECT_END}`);
    }
    throw ABORT;
  }

  /** Skip to the next newline (bison's `error NEWLINE`); the end of input ends the parse. */
  private recover(): void {
    this.errStatus = 3;
    for (;;) {
      const t = this.peek();
      if (t.type === '$end') throw ABORT;
      if (t.type === 'NEWLINE') {
        this.shift();
        return;
      }
      this.la = undefined;
    }
  }

  /**
   * A value whose first token bison stores at stack index `at`. Bison's stack holds 10,000
   * states: storing one at index 9,999 is Xen's `memory exhausted` (about 5,000 nested lists).
   * Nested lists are parsed with an explicit stack, so that depth never strains the JS stack.
   */
  private value(expecting: string, at: number): CfgValue {
    const t = this.peek();
    if (t.type === 'STRING' || t.type === 'NUMBER') {
      this.shiftAt(at);
      return atomOf(t);
    }
    if (t.type !== '[') this.syntaxError(expecting);
    const open: ListFrame[] = [];
    let list = this.openList(at);
    let state: 'item' | 'after' | 'close' = 'item';
    for (;;) {
      if (state === 'item') {
        // After `[` or `,` (and newlines): an item, or the end of the list.
        const v = this.peek();
        if (v.type === 'STRING' || v.type === 'NUMBER') {
          this.shiftAt(list.item);
          list.items.push(atomOf(v));
          state = 'after';
        } else if (v.type === '[') {
          open.push(list);
          list = this.openList(list.item);
        } else {
          state = 'close';
        }
      } else if (state === 'after') {
        this.touch(list.item + 1);
        this.newlines(list.item + 2);
        if (this.peek().type === ',') {
          this.shiftAt(list.at + 3);
          this.touch(list.at + 4);
          this.newlines(list.at + 5);
          list.item = list.at + 5;
          state = 'item';
        } else {
          state = 'close';
        }
      } else {
        if (this.peek().type !== ']') this.syntaxError(EXPECT_CLOSE);
        this.shiftAt(list.at + 3);
        const done: CfgValue = { kind: 'list', items: list.items, line: list.line };
        const parent = open.pop();
        if (parent === undefined) return done;
        parent.items.push(done);
        list = parent;
        state = 'after';
      }
    }
  }

  /** Shifts `[` (stored at `at`) and the newlines after it. */
  private openList(at: number): ListFrame {
    const line = this.peek().line;
    this.shiftAt(at);
    this.touch(at + 1);
    this.newlines(at + 2);
    return { at, line, items: [], item: at + 2 };
  }

  private newlines(at: number): void {
    while (this.peek().type === 'NEWLINE') this.shiftAt(at);
  }

  private shiftAt(at: number): void {
    this.shift();
    this.touch(at);
  }

  /** Bison stores a state at stack index `at`: past its 10,000-state stack the parse ends. */
  private touch(at: number): void {
    if (at < MAX_STACK - 1) return;
    this.report(this.lexer.locLine, this.lexer.yytext, 'memory exhausted');
    throw ABORT;
  }

  /** Xen's `xlu__cfg_set_store`: `+=` joins onto the latest setting of the name. */
  private store(name: string, op: '=' | '+=', value: CfgValue): void {
    if (this.failed) return;
    let stored = value;
    const prev = op === '+=' ? this.latest.get(name) : undefined;
    if (prev !== undefined) {
      const combined = concat(prev.value, value);
      if (combined === undefined) {
        this.lexicalError(this.lexer.yytext, this.lexer.line, 'can\'t add [list] to "string" or vice versa');
        return;
      }
      stored = combined;
      if (combined.kind === 'list') {
        this.joinedItems += combined.items.length;
        if (this.joinedItems > MAX_JOINED_ITEMS) {
          this.report(this.lexer.locLine, this.lexer.yytext, 'memory exhausted');
          throw ABORT;
        }
      }
    }
    const setting: CfgSetting = { name, op, value: stored, line: value.line };
    this.settings.push(setting);
    this.latest.set(name, setting);
  }
}

/** A list being parsed: where its `[` sits on bison's stack, and where its next item goes. */
interface ListFrame {
  readonly at: number;
  readonly line: number;
  readonly items: CfgValue[];
  item: number;
}

function atomOf(t: Token): CfgValue {
  return { kind: 'atom', value: t.value, quoted: t.type === 'STRING', line: t.line };
}

function concat(prev: CfgValue, add: CfgValue): CfgValue | undefined {
  if (prev.kind === 'atom' && add.kind === 'atom') return { ...add, value: prev.value + add.value };
  if (prev.kind === 'list' && add.kind === 'list') return { ...add, items: [...prev.items, ...add.items] };
  return undefined;
}

/** Parses xl.cfg text, returning Xen's report instead of throwing. `source` names it in messages. */
export function parseCfgText(text: string, source: string): CfgParseResult {
  const p = new Parser(text, source);
  p.run();
  return { settings: p.failed ? [] : p.settings, errors: p.errors, likelyPython: p.likelyPython };
}

/** The lines xl prints to stderr for a failed parse: errors, the Python warning, the trailer. */
export function failureLines(result: CfgParseResult): string[] {
  // xl prints every error: one a line of a file that is no xl.cfg (binary, 20,000 CRLF lines)
  // buried the hint under as many lines.
  const shown = result.errors.length > MAX_ERROR_LINES
    ? [...result.errors.slice(0, MAX_ERROR_LINES), `(${result.errors.length - MAX_ERROR_LINES} more config parsing errors not shown)`]
    : result.errors;
  return [...shown, ...(result.likelyPython ? PYTHON_WARNING : []), PARSE_FAILED_TRAILER];
}

/** The most parse errors shown of one file. */
const MAX_ERROR_LINES = 20;

/** Our one-line advice for the first error of a failed parse. */
function hintFor(result: CfgParseResult, source: string): string {
  const first = (result.errors[0] ?? '').slice(source.length);
  if (first.includes('\r')) return 'the file has DOS (CRLF) line endings; convert it with dos2unix';
  if (first.includes('\ufeff')) return 'the file starts with a byte-order mark (U+FEFF), which xl reads as text: save it as UTF-8 without one';
  if (result.likelyPython) return 'this looks like a Python (xm) config, which xl rejects: write it as `key = value` lines (xl.cfg(5))';
  if (first.includes('can\'t add')) return 'use `+=` with the same kind of value as before: a string onto a string, a list onto a list';
  if (first.includes('unexpected NEWLINE, expecting STRING')) return 'put the value on the same line as `=`, in quotes or as a [ list ]';
  if (first.includes('backlash') || first.includes('backslash')) {
    return 'inside quotes only \\" \\\' \\\\ \\a \\b \\f \\n \\r \\t \\v are allowed';
  }
  if (/near `[A-Z]/.test(first)) return 'keys are lower-case, and words used as values need quotes (name = "vm1")';
  return 'each line is `key = value`: strings in quotes, numbers bare, lists in [ ]; see xl.cfg(5)';
}

/**
 * Parses xl.cfg text (grammar.md §1). Throws ToolstackError `CFG_SYNTAX` whose `lines` are what
 * xl prints for the failure (all error lines, the Python warning when due, the trailer).
 */
export function parseCfg(text: string, options: { readonly source: string }): CfgDocument {
  const result = parseCfgText(text, options.source);
  if (result.errors.length > 0) throw syntaxError(options.source, result);
  return { source: options.source, settings: result.settings, warnings: [] };
}

export function syntaxError(source: string, result: CfgParseResult): ToolstackError {
  const first = result.errors[0] ?? PARSE_FAILED_TRAILER;
  const m = /^.*?:(-?\d+): config parsing error/.exec(first);
  return new ToolstackError('CFG_SYNTAX', first, {
    lines: failureLines(result),
    hint: hintFor(result, source),
    ...(m?.[1] === undefined ? {} : { pos: { file: source, line: Number(m[1]) } }),
  });
}
