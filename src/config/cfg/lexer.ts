/**
 * The xl.cfg tokenizer, with the behaviour of Xen's flex scanner (grammar.md §1.1, §1.2):
 * longest match, lower-case IDENT/NUMBER, `#` comments that include their newline, both quote
 * kinds with libxlutil's escapes, and the error state that swallows a bad character plus the
 * non-blank text after it and reports it as one `lexical error`.
 *
 * Line numbers follow flex's `yylineno` and the locations Xen's scanner gives each token:
 * a NEWLINE token is located on the line it ends; a NEWLINE that closes a lexical error is
 * located on the next line. A bad character that is the very last byte of the input is
 * swallowed at end of file without a report, as Xen's scanner does. The scanner works on
 * bytes: a non-ASCII character counts as its UTF-8 bytes where that changes the outcome.
 */

export type TokenType = 'IDENT' | 'NUMBER' | 'STRING' | 'NEWLINE' | '+=' | '=' | ';' | '[' | ']' | ',' | '$end';

export interface Token {
  readonly type: TokenType;
  /** The matched text (the scanner's yytext); `\0`-terminated at end of file. */
  readonly text: string;
  /** The token's location line, as Xen's scanner sets it. */
  readonly line: number;
  /** Dequoted value of a STRING; the text of IDENT/NUMBER. */
  readonly value: string;
}

/** Where the scanner reports errors; shared with the parser (one error context per parse). */
export interface LexContext {
  /** True once any error was reported (Xen's `ctx->err`): strings are then no longer dequoted. */
  readonly failed: boolean;
  likelyPython: boolean;
  /** Xen's `xlu__cfgl_lexicalerror`: report at the scanner's current line, then mute that line. */
  lexicalError(text: string, line: number, message: string): void;
}

const PYTHONISH = '+-.():';

function isIdentStart(c: string): boolean {
  return c >= 'a' && c <= 'z';
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
/** `[._0-9a-z]`, by character code. */
function isIdentChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 46 || c === 95;
}
/** `[0-9a-fx]`, by character code. */
function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || c === 120;
}

export class CfgLexer {
  private pos = 0;
  /** flex's yylineno. */
  line = 1;
  /** Text of the last token returned (yytext as a semantic action sees it). */
  yytext = '';
  /** The location line of the last located token (bison's yylloc.first_line). */
  locLine = 1;

  constructor(
    private readonly src: string,
    private readonly ctx: LexContext,
  ) {}

  next(): Token {
    const s = this.src;
    for (;;) {
      if (this.pos >= s.length) return this.eof('');
      const c = s[this.pos] as string;
      if (c === ' ' || c === '\t') {
        this.pos++;
        continue;
      }
      if (isIdentStart(c)) return this.run('IDENT', isIdentChar);
      if (isDigit(c)) return this.run('NUMBER', isNumberChar);
      if (c === '\n') {
        this.pos++;
        this.line++;
        return this.token('NEWLINE', '\n', this.line - 1);
      }
      if (c === '#') {
        const nl = s.indexOf('\n', this.pos);
        if (nl >= 0) {
          const text = s.slice(this.pos, nl + 1);
          this.pos = nl + 1;
          this.line++;
          return this.token('NEWLINE', text, this.line - 1);
        }
      } else if (c === '\'' || c === '"') {
        const end = this.stringEnd(c);
        if (end > 0) {
          const text = s.slice(this.pos, end);
          this.pos = end;
          const value = this.ctx.failed ? '' : this.dequote(text);
          return this.token('STRING', text, this.line, value);
        }
      } else if (c === '+' && s[this.pos + 1] === '=') {
        this.pos += 2;
        return this.token('+=', '+=', this.line);
      } else if (c === '=' || c === ';' || c === '[' || c === ']' || c === ',') {
        this.pos++;
        return this.token(c, c, this.line);
      }
      // Error state: the bad character plus what follows up to a blank or newline.
      if (PYTHONISH.includes(c)) this.ctx.likelyPython = true;
      const start = this.pos;
      this.pos++;
      // A non-ASCII character is several bytes to Xen's 8-bit scanner: its other bytes always
      // continue the error match, so it is reported even at the end of the input.
      if (c.charCodeAt(0) < 0x80) {
        if (this.pos >= s.length) return this.eof(c);
        const d = s[this.pos] as string;
        if (d === ' ' || d === '\t') {
          this.pos++;
          this.ctx.lexicalError(s.slice(start, this.pos), this.line, 'lexical error');
          continue;
        }
        if (d === '\n') {
          this.pos++;
          this.line++;
          const text = s.slice(start, this.pos);
          this.ctx.lexicalError(text, this.line, 'lexical error');
          return this.token('NEWLINE', text, this.line);
        }
      }
      while (this.pos < s.length && !' \t\n'.includes(s[this.pos] as string)) this.pos++;
      this.ctx.lexicalError(s.slice(start, this.pos), this.line, 'lexical error');
    }
  }

  private run(type: 'IDENT' | 'NUMBER', more: (c: number) => boolean): Token {
    const s = this.src;
    const start = this.pos;
    let i = start + 1;
    while (i < s.length && more(s.charCodeAt(i))) i++;
    this.pos = i;
    const text = s.slice(start, i);
    return this.token(type, text, this.line, text);
  }

  /** End index (exclusive) of a quoted string starting at `pos`, or -1 when it is unterminated. */
  private stringEnd(q: string): number {
    const s = this.src;
    const quote = q.charCodeAt(0);
    let i = this.pos + 1;
    for (;;) {
      if (i >= s.length) return -1;
      const c = s.charCodeAt(i);
      if (c === quote) return i + 1;
      // A NUL cannot be part of a string (Xen's dequoting would stop at it and abort).
      if (c === 10 || c === 0) return -1;
      if (c === 92) {
        const n = s.charCodeAt(i + 1);
        if (Number.isNaN(n) || n === 10) return -1;
        i += 2;
      } else {
        i++;
      }
    }
  }

  /** libxlutil's dequoting (grammar.md §1.2), including its broken numeric escapes. */
  private dequote(text: string): string {
    if (!text.includes('\\')) return text.slice(1, -1);
    const end = text.length - 1;
    let out = '';
    let i = 1;
    while (i < end) {
      const c = text[i++] as string;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const n = text[i++] as string;
      const simple = ESCAPES[n];
      if (simple !== undefined) {
        out += simple;
      } else if (n === 'x') {
        this.ctx.lexicalError(text, this.line, 'invalid digit after backslash hexnumerical character escape in quoted string');
        return out;
      } else if (n >= '0' && n <= '7') {
        const used = strtoulLength(text.slice(i, i + 3));
        if (used <= 1) {
          this.ctx.lexicalError(text, this.line, 'invalid digit after backslash octalnumerical character escape in quoted string');
          return out;
        }
        i += used;
      } else {
        this.ctx.lexicalError(text, this.line, 'invalid character after backlash in quoted string');
        return out;
      }
    }
    return out;
  }

  private token(type: TokenType, text: string, line: number, value = text): Token {
    this.yytext = text;
    this.locLine = line;
    return { type, text, line, value };
  }

  /** End of input: yytext is what an unfinished error match held, then the end-of-buffer NUL. */
  private eof(pending: string): Token {
    this.yytext = `${pending}\0`;
    return { type: '$end', text: this.yytext, line: this.locLine, value: '' };
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\'': '\'',
  '\\': '\\',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** How many characters C's strtoul(s, &ep, 10) consumes (0 when it finds no digits). */
function strtoulLength(s: string): number {
  let i = 0;
  while (i < s.length && ' \t\n\v\f\r'.includes(s[i] as string)) i++;
  if (s[i] === '+' || s[i] === '-') i++;
  const digitsFrom = i;
  while (i < s.length && isDigit(s[i] as string)) i++;
  return i === digitsFrom ? 0 : i;
}
