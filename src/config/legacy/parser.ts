// Legacy xm configs' syntax: the AST of the Python subset they use, and its parser.
import { legacyError } from './errors.js';
import type { PyToken } from './tokenizer.js';
import type { Value } from './values.js';

/** An expression, with the line it starts on. */
export type Expr =
  | { readonly k: 'lit'; readonly v: Value; readonly line: number }
  | { readonly k: 'name'; readonly name: string; readonly line: number }
  | { readonly k: 'seq'; readonly t: 'list' | 'tuple'; readonly items: readonly Expr[]; readonly line: number }
  | { readonly k: 'bin'; readonly op: string; readonly a: Expr; readonly b: Expr; readonly line: number }
  | { readonly k: 'not' | 'neg'; readonly a: Expr; readonly line: number }
  | { readonly k: 'attr'; readonly a: Expr; readonly name: string; readonly line: number }
  | { readonly k: 'index'; readonly a: Expr; readonly index: Expr; readonly line: number }
  | { readonly k: 'call'; readonly f: Expr; readonly args: readonly Expr[]; readonly line: number }
  | { readonly k: 'cond'; readonly test: Expr; readonly a: Expr; readonly b: Expr; readonly line: number };

/** A statement, with its line. */
export type Stmt =
  | { readonly k: 'import'; readonly names: readonly string[]; readonly line: number }
  | { readonly k: 'assign'; readonly name: string; readonly op: '=' | '+='; readonly value: Expr; readonly line: number }
  | { readonly k: 'if'; readonly branches: ReadonlyArray<{ readonly test: Expr | undefined; readonly body: readonly Stmt[] }>; readonly line: number }
  | { readonly k: 'pass'; readonly line: number };

/**
 * The parser of the subset: statements (assignments, `+=`, `import os, re`, `if/elif/else`,
 * `pass`, several on a line with `;`) and Python's expression grammar, without loops,
 * definitions, slices or dictionaries.
 */
export class PyParser {
  private i = 0;
  constructor(
    private readonly toks: readonly PyToken[],
    private readonly source: string,
  ) {}

  private cur(): PyToken {
    return this.toks[this.i] as PyToken;
  }

  /** The line being parsed. */
  line(): number {
    return this.cur().line;
  }
  private fail(message: string, line = this.cur().line): never {
    throw legacyError(this.source, line, message);
  }
  private isOp(text: string): boolean {
    return this.cur().type === 'op' && this.cur().text === text;
  }
  private isName(text: string): boolean {
    return this.cur().type === 'name' && this.cur().text === text;
  }
  private expectOp(text: string): void {
    if (!this.isOp(text)) this.fail(`expected \`${text}' ${this.near()}`);
    this.i++;
  }
  private near(): string {
    const t = this.cur();
    if (t.type === 'newline' || t.type === 'eof') return 'at the end of the line';
    if (t.type === 'indent' || t.type === 'dedent') return 'at an indentation change';
    return `near \`${t.text}'`;
  }

  program(): Stmt[] {
    const out: Stmt[] = [];
    while (this.cur().type !== 'eof') {
      if (this.cur().type === 'indent') this.fail('unexpected indentation');
      out.push(...this.statement());
    }
    return out;
  }

  private statement(): Stmt[] {
    if (this.isName('if')) return [this.ifStatement()];
    const out = [this.simple()];
    while (this.isOp(';')) {
      this.i++;
      if (this.cur().type === 'newline') break;
      out.push(this.simple());
    }
    if (this.cur().type !== 'newline') this.fail(`syntax error ${this.near()}`);
    this.i++;
    return out;
  }

  private ifStatement(): Stmt {
    const line = this.cur().line;
    const branches: Array<{ test: Expr | undefined; body: Stmt[] }> = [];
    this.i++;
    let test: Expr | undefined = this.expr();
    for (;;) {
      this.expectOp(':');
      branches.push({ test, body: this.suite() });
      if (this.isName('elif')) {
        this.i++;
        test = this.expr();
        continue;
      }
      if (this.isName('else')) {
        this.i++;
        test = undefined;
        this.expectOp(':');
        branches.push({ test, body: this.suite() });
      }
      return { k: 'if', branches, line };
    }
  }

  private suite(): Stmt[] {
    if (this.cur().type !== 'newline') return this.statement();
    this.i++;
    if (this.cur().type !== 'indent') this.fail('expected an indented block');
    this.i++;
    const body: Stmt[] = [];
    while (this.cur().type !== 'dedent' && this.cur().type !== 'eof') body.push(...this.statement());
    if (this.cur().type === 'dedent') this.i++;
    return body;
  }

  private simple(): Stmt {
    const t = this.cur();
    if (t.type !== 'name') this.fail(`a statement cannot start ${this.near()}`);
    if (t.text === 'pass') {
      this.i++;
      return { k: 'pass', line: t.line };
    }
    if (t.text === 'import') {
      this.i++;
      const names: string[] = [];
      for (;;) {
        const n = this.cur();
        if (n.type !== 'name') this.fail(`expected a module name ${this.near()}`);
        if (n.text !== 'os' && n.text !== 're') this.fail(`\`import ${n.text}' is not supported (only os and re)`);
        names.push(n.text);
        this.i++;
        if (!this.isOp(',')) break;
        this.i++;
      }
      return { k: 'import', names, line: t.line };
    }
    if (KEYWORDS.has(t.text)) this.fail(`\`${t.text}' is not supported`);
    const next = this.toks[this.i + 1];
    if (next?.type === 'op' && (next.text === '=' || next.text === '+=')) {
      this.i += 2;
      return { k: 'assign', name: t.text, op: next.text, value: this.exprList(), line: t.line };
    }
    this.fail(`only assignments, imports and if statements are supported, not \`${t.text} ...'`);
  }

  /** An expression, or a bare tuple `a, b`. */
  private exprList(): Expr {
    const line = this.cur().line;
    const first = this.expr();
    if (!this.isOp(',')) return first;
    const items = [first];
    while (this.isOp(',')) {
      this.i++;
      if (this.cur().type === 'newline' || this.isOp(';')) break;
      items.push(this.expr());
    }
    return { k: 'seq', t: 'tuple', items, line };
  }

  private expr(): Expr {
    const a = this.orTest();
    if (!this.isName('if')) return a;
    const line = this.cur().line;
    this.i++;
    const test = this.orTest();
    if (!this.isName('else')) this.fail(`expected \`else' ${this.near()}`);
    this.i++;
    return { k: 'cond', test, a, b: this.expr(), line };
  }

  private orTest(): Expr {
    return this.booleanChain('or', () => this.andTest());
  }

  private andTest(): Expr {
    return this.booleanChain('and', () => this.notTest());
  }

  /** `operand (op operand)*`, left-associative. */
  private booleanChain(op: 'and' | 'or', operand: () => Expr): Expr {
    let a = operand();
    while (this.isName(op)) {
      const line = this.cur().line;
      this.i++;
      a = { k: 'bin', op, a, b: operand(), line };
    }
    return a;
  }

  private notTest(): Expr {
    if (this.isName('not')) {
      const line = this.cur().line;
      this.i++;
      return { k: 'not', a: this.notTest(), line };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    let a = this.arith();
    for (;;) {
      const line = this.cur().line;
      let op: string | undefined;
      if (this.cur().type === 'op' && ['==', '!=', '<>', '<', '>', '<=', '>='].includes(this.cur().text)) op = this.cur().text === '<>' ? '!=' : this.cur().text;
      else if (this.isName('in')) op = 'in';
      else if (this.isName('not') && this.toks[this.i + 1]?.text === 'in') {
        op = 'not in';
        this.i++;
      } else if (this.isName('is')) {
        op = this.toks[this.i + 1]?.text === 'not' ? 'is not' : 'is';
        if (op === 'is not') this.i++;
      }
      if (op === undefined) return a;
      this.i++;
      a = { k: 'bin', op, a, b: this.arith(), line };
    }
  }

  private arith(): Expr {
    let a = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const { text: op, line } = this.cur();
      this.i++;
      a = { k: 'bin', op, a, b: this.term(), line };
    }
    return a;
  }

  private term(): Expr {
    let a = this.factor();
    while (this.isOp('*') || this.isOp('%') || this.isOp('/') || this.isOp('//')) {
      const { text: op, line } = this.cur();
      this.i++;
      a = { k: 'bin', op, a, b: this.factor(), line };
    }
    return a;
  }

  private factor(): Expr {
    if (this.isOp('-') || this.isOp('+')) {
      const { text, line } = this.cur();
      this.i++;
      const a = this.factor();
      return text === '-' ? { k: 'neg', a, line } : a;
    }
    return this.power();
  }

  private power(): Expr {
    let a = this.atom();
    for (;;) {
      const line = this.cur().line;
      if (this.isOp('(')) {
        this.i++;
        const args: Expr[] = [];
        while (!this.isOp(')')) {
          args.push(this.expr());
          if (!this.isOp(',')) break;
          this.i++;
        }
        this.expectOp(')');
        a = { k: 'call', f: a, args, line };
      } else if (this.isOp('[')) {
        this.i++;
        const index = this.expr();
        if (this.isOp(':')) this.fail('slices are not supported');
        this.expectOp(']');
        a = { k: 'index', a, index, line };
      } else if (this.isOp('.')) {
        this.i++;
        const n = this.cur();
        if (n.type !== 'name') this.fail(`expected an attribute name ${this.near()}`);
        this.i++;
        a = { k: 'attr', a, name: n.text, line };
      } else {
        return a;
      }
    }
  }

  private atom(): Expr {
    const t = this.cur();
    const line = t.line;
    if (t.type === 'str') {
      let v = '';
      while (this.cur().type === 'str') {
        v += this.cur().value;
        this.i++;
      }
      return { k: 'lit', v: { t: 'str', v }, line };
    }
    if (t.type === 'int') {
      this.i++;
      return { k: 'lit', v: { t: 'int', v: pythonInt(t.value) }, line };
    }
    if (t.type === 'name') {
      this.i++;
      if (t.text === 'True' || t.text === 'False') return { k: 'lit', v: { t: 'bool', v: t.text === 'True' }, line };
      if (t.text === 'None') return { k: 'lit', v: { t: 'none' }, line };
      if (KEYWORDS.has(t.text)) this.fail(`\`${t.text}' is not supported here`, line);
      return { k: 'name', name: t.text, line };
    }
    if (this.isOp('[') || this.isOp('(')) {
      const close = t.text === '[' ? ']' : ')';
      this.i++;
      const items: Expr[] = [];
      let comma = false;
      while (!this.isOp(close)) {
        items.push(this.expr());
        if (!this.isOp(',')) break;
        comma = true;
        this.i++;
      }
      this.expectOp(close);
      if (close === ')' && items.length === 1 && !comma) return items[0] as Expr;
      return { k: 'seq', t: close === ']' ? 'list' : 'tuple', items, line };
    }
    if (this.isOp('{')) this.fail('dictionaries are not supported');
    this.fail(`syntax error ${this.near()}`);
  }
}

const KEYWORDS = new Set(['def', 'class', 'for', 'while', 'lambda', 'exec', 'eval', 'print', 'from', 'return', 'del', 'global', 'with', 'try', 'except', 'raise', 'yield', 'assert', 'import', 'if', 'elif', 'else', 'and', 'or', 'not', 'in', 'is']);

/** Python 2 integer literal: `0x` hex, `0o`/leading-`0` octal, else decimal. */
function pythonInt(text: string): bigint {
  if (/^0[xX]/.test(text)) return BigInt(text);
  if (/^0[oO]/.test(text)) return BigInt(`0o${text.slice(2)}`);
  if (/^0[0-7]+$/.test(text)) return BigInt(`0o${text.slice(1)}`);
  return BigInt(text);
}
