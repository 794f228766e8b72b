/**
 * A small, safe evaluator for legacy xm configs (Python 2 files run by xend): exactly the subset
 * such configs use, with no file, process, network or environment access. Programs have no
 * loops or definitions, so evaluation time is linear in the text; regular expressions and
 * string sizes are bounded.
 *
 * Values become settings as xl would have stored the same text: strings and integers are atoms
 * (integers in decimal), `True`/`False` are the numbers `1`/`0` (xl's booleans are numbers),
 * lists and tuples are lists, and `None` unsets the name. Modules and match objects are not
 * settings. Each executed assignment is one setting on its statement's line (`op` is `=`).
 */
import { machine, hostname, release, type, version } from 'node:os';
import type { CfgSetting, CfgValue } from '../cfg/types.js';
import { legacyError } from './errors.js';
import { tokenizePython } from './tokenizer.js';
import type { PyToken } from './tokenizer.js';

type Value =
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'int'; readonly v: bigint }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'none' }
  | { readonly t: 'list' | 'tuple'; readonly v: readonly Value[] }
  | { readonly t: 'module'; readonly v: 'os' | 're' }
  | { readonly t: 'func'; readonly v: string; readonly self?: Value }
  | { readonly t: 'match'; readonly v: string };

type Expr =
  | { readonly k: 'lit'; readonly v: Value; readonly line: number }
  | { readonly k: 'name'; readonly name: string; readonly line: number }
  | { readonly k: 'seq'; readonly t: 'list' | 'tuple'; readonly items: readonly Expr[]; readonly line: number }
  | { readonly k: 'bin'; readonly op: string; readonly a: Expr; readonly b: Expr; readonly line: number }
  | { readonly k: 'not' | 'neg'; readonly a: Expr; readonly line: number }
  | { readonly k: 'attr'; readonly a: Expr; readonly name: string; readonly line: number }
  | { readonly k: 'index'; readonly a: Expr; readonly index: Expr; readonly line: number }
  | { readonly k: 'call'; readonly f: Expr; readonly args: readonly Expr[]; readonly line: number }
  | { readonly k: 'cond'; readonly test: Expr; readonly a: Expr; readonly b: Expr; readonly line: number };

type Stmt =
  | { readonly k: 'import'; readonly names: readonly string[]; readonly line: number }
  | { readonly k: 'assign'; readonly name: string; readonly op: '=' | '+='; readonly value: Expr; readonly line: number }
  | { readonly k: 'if'; readonly branches: ReadonlyArray<{ readonly test: Expr | undefined; readonly body: readonly Stmt[] }>; readonly line: number }
  | { readonly k: 'pass'; readonly line: number };

const MAX_STRING = 1 << 20;
const MAX_PATTERN = 256;
const MAX_SUBJECT = 65536;

export interface LegacyResult {
  readonly settings: CfgSetting[];
  /** The legacy constructs met, for the warning (`import os, re`, `os.uname()`, `if/else`, ...). */
  readonly constructs: string[];
}

/** Parses and runs an xm config; throws `CFG_LEGACY` on anything outside the subset. */
export function runLegacy(text: string, source: string): LegacyResult {
  const parser = new PyParser(tokenizePython(text, source), source);
  const run = new Runner(source);
  try {
    run.block(parser.program());
  } catch (e) {
    // Parsing and evaluation recurse on the nesting of expressions: the JS stack bounds it, as
    // the engine bounds integer sizes.
    if (e instanceof RangeError) {
      throw legacyError(source, run.line || parser.line(), /call stack/.test(e.message) ? 'expression nested too deeply' : 'value too large');
    }
    throw e;
  }
  return { settings: run.settings, constructs: [...run.constructs] };
}

class PyParser {
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
    let a = this.andTest();
    while (this.isName('or')) {
      const line = this.cur().line;
      this.i++;
      a = { k: 'bin', op: 'or', a, b: this.andTest(), line };
    }
    return a;
  }

  private andTest(): Expr {
    let a = this.notTest();
    while (this.isName('and')) {
      const line = this.cur().line;
      this.i++;
      a = { k: 'bin', op: 'and', a, b: this.notTest(), line };
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

class Runner {
  readonly settings: CfgSetting[] = [];
  readonly constructs = new Set<string>();
  private readonly scope = new Map<string, Value>();
  /** The line of the statement being run (0 before the first). */
  line = 0;

  constructor(private readonly source: string) {}

  private fail(line: number, message: string): never {
    throw legacyError(this.source, line, message);
  }

  block(stmts: readonly Stmt[]): void {
    for (const s of stmts) this.stmt(s);
  }

  private stmt(s: Stmt): void {
    this.line = s.line;
    switch (s.k) {
      case 'pass':
        return;
      case 'import':
        this.constructs.add(`import ${s.names.join(', ')}`);
        for (const n of s.names) this.scope.set(n, { t: 'module', v: n as 'os' | 're' });
        return;
      case 'if': {
        this.constructs.add(s.branches.length > 1 ? 'if/else' : 'if');
        for (const b of s.branches) {
          if (b.test === undefined || truthy(this.eval(b.test))) {
            this.block(b.body);
            return;
          }
        }
        return;
      }
      case 'assign': {
        let v = this.eval(s.value);
        if (s.op === '+=') {
          const prev = this.scope.get(s.name);
          if (prev === undefined) this.fail(s.line, `name \`${s.name}' is not defined`);
          v = this.binary('+', prev, v, s.line);
        }
        this.scope.set(s.name, v);
        this.record(s.name, v, s.line);
      }
    }
  }

  private record(name: string, v: Value, line: number): void {
    if (v.t === 'none') {
      for (let i = this.settings.length - 1; i >= 0; i--) if (this.settings[i]?.name === name) this.settings.splice(i, 1);
      return;
    }
    const value = this.toCfg(v, line);
    if (value !== undefined) this.settings.push({ name, op: '=', value, line });
  }

  private toCfg(v: Value, line: number): CfgValue | undefined {
    switch (v.t) {
      case 'str':
        return { kind: 'atom', value: v.v, quoted: true, line };
      case 'int':
        return { kind: 'atom', value: v.v.toString(), quoted: false, line };
      case 'bool':
        return { kind: 'atom', value: v.v ? '1' : '0', quoted: false, line };
      case 'list':
      case 'tuple': {
        const items: CfgValue[] = [];
        for (const x of v.v) {
          const c = this.toCfg(x, line);
          if (c === undefined) this.fail(line, `a list item of type ${typeName(x)} cannot be a config value`);
          items.push(c);
        }
        return { kind: 'list', items, line };
      }
      default:
        return undefined;
    }
  }

  private eval(e: Expr): Value {
    switch (e.k) {
      case 'lit':
        return e.v;
      case 'name': {
        const v = this.scope.get(e.name) ?? (BUILTINS.has(e.name) ? { t: 'func', v: e.name } : undefined);
        if (v === undefined) this.fail(e.line, `name \`${e.name}' is not defined`);
        return v;
      }
      case 'seq':
        return { t: e.t, v: e.items.map((x) => this.eval(x)) };
      case 'not':
        return { t: 'bool', v: !truthy(this.eval(e.a)) };
      case 'neg': {
        const a = this.eval(e.a);
        if (a.t !== 'int' && a.t !== 'bool') this.fail(e.line, `bad operand type for unary -: ${typeName(a)}`);
        return { t: 'int', v: -intOf(a) };
      }
      case 'cond':
        return truthy(this.eval(e.test)) ? this.eval(e.a) : this.eval(e.b);
      case 'bin': {
        const a = this.eval(e.a);
        if (e.op === 'and') return truthy(a) ? this.eval(e.b) : a;
        if (e.op === 'or') return truthy(a) ? a : this.eval(e.b);
        return this.binary(e.op, a, this.eval(e.b), e.line);
      }
      case 'attr':
        return this.attribute(this.eval(e.a), e.name, e.line);
      case 'index':
        return this.index(this.eval(e.a), this.eval(e.index), e.line);
      case 'call':
        return this.call(this.eval(e.f), e.args.map((x) => this.eval(x)), e.line);
    }
  }

  private binary(op: string, a: Value, b: Value, line: number): Value {
    const bad = (): never => this.fail(line, `unsupported operand types for ${op}: ${typeName(a)} and ${typeName(b)}`);
    switch (op) {
      case '+':
        if (a.t === 'str' && b.t === 'str') {
          this.constructs.add('string +');
          return this.str(a.v + b.v, line);
        }
        if (isNum(a) && isNum(b)) return { t: 'int', v: intOf(a) + intOf(b) };
        if ((a.t === 'list' && b.t === 'list') || (a.t === 'tuple' && b.t === 'tuple')) return { t: a.t, v: [...a.v, ...b.v] };
        return bad();
      case '-':
        return isNum(a) && isNum(b) ? { t: 'int', v: intOf(a) - intOf(b) } : bad();
      case '*':
        if (isNum(a) && isNum(b)) return { t: 'int', v: intOf(a) * intOf(b) };
        if (a.t === 'str' && isNum(b)) return this.str(a.v.repeat(this.count(a.v.length, intOf(b), line)), line);
        return bad();
      case '/':
      case '//': {
        if (!isNum(a) || !isNum(b)) return bad();
        if (intOf(b) === 0n) this.fail(line, 'integer division by zero');
        const q = intOf(a) / intOf(b);
        // Python 2 integer division floors.
        return { t: 'int', v: (intOf(a) % intOf(b) !== 0n && (intOf(a) < 0n) !== (intOf(b) < 0n)) ? q - 1n : q };
      }
      case '%':
        if (a.t === 'str') {
          this.constructs.add('% formatting');
          return this.str(this.format(a.v, b, line), line);
        }
        if (isNum(a) && isNum(b)) {
          if (intOf(b) === 0n) this.fail(line, 'integer modulo by zero');
          const r = intOf(a) % intOf(b);
          return { t: 'int', v: r !== 0n && (r < 0n) !== (intOf(b) < 0n) ? r + intOf(b) : r };
        }
        return bad();
      case '==':
        return { t: 'bool', v: equal(a, b) };
      case '!=':
        return { t: 'bool', v: !equal(a, b) };
      case 'is':
        return { t: 'bool', v: a.t === 'none' ? b.t === 'none' : equal(a, b) };
      case 'is not':
        return { t: 'bool', v: a.t === 'none' ? b.t !== 'none' : !equal(a, b) };
      case '<':
      case '>':
      case '<=':
      case '>=': {
        let c: number;
        if (isNum(a) && isNum(b)) c = intOf(a) < intOf(b) ? -1 : intOf(a) > intOf(b) ? 1 : 0;
        else if (a.t === 'str' && b.t === 'str') c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
        else return bad();
        return { t: 'bool', v: op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c >= 0 };
      }
      case 'in':
      case 'not in': {
        let found: boolean;
        if (b.t === 'str' && a.t === 'str') found = b.v.includes(a.v);
        else if (b.t === 'list' || b.t === 'tuple') found = b.v.some((x) => equal(a, x));
        else return bad();
        return { t: 'bool', v: op === 'in' ? found : !found };
      }
      default:
        return bad();
    }
  }

  private count(len: number, n: bigint, line: number): number {
    if (n <= 0n) return 0;
    if (BigInt(len) * n > BigInt(MAX_STRING)) this.fail(line, 'string too long');
    return Number(n);
  }

  private str(v: string, line: number): Value {
    if (v.length > MAX_STRING) this.fail(line, 'string too long');
    return { t: 'str', v };
  }

  /** `fmt % args` with %s %r %d %i %x %X %o %c %%. */
  private format(fmt: string, args: Value, line: number): string {
    const list = args.t === 'tuple' ? [...args.v] : [args];
    let k = 0;
    const out = fmt.replace(/%([-0 +#]*)(\d*)([sridxXoc%])/g, (_m, flags: string, width: string, conv: string) => {
      if (conv === '%') return '%';
      const v = list[k++];
      if (v === undefined) this.fail(line, 'not enough arguments for format string');
      let s: string;
      if (conv === 's') s = display(v);
      else if (conv === 'r') s = repr(v);
      else if (conv === 'c') s = v.t === 'str' ? v.v : String.fromCharCode(Number(intOf(this.num(v, line))));
      else {
        const n = intOf(this.num(v, line));
        const base = conv === 'x' || conv === 'X' ? 16 : conv === 'o' ? 8 : 10;
        s = n.toString(base);
        if (conv === 'X') s = s.toUpperCase();
      }
      const w = Number(width || '0');
      if (s.length >= w) return s;
      if (flags.includes('-')) return s.padEnd(w);
      return flags.includes('0') && conv !== 's' ? s.padStart(w, '0') : s.padStart(w);
    });
    if (k < list.length) this.fail(line, 'not all arguments converted during string formatting');
    return out;
  }

  private num(v: Value, line: number): Value {
    if (!isNum(v)) this.fail(line, `a number is required, not ${typeName(v)}`);
    return v;
  }

  private attribute(a: Value, name: string, line: number): Value {
    if (a.t === 'module') {
      const full = `${a.v}.${name}`;
      if (full === 'os.uname' || full === 're.search' || full === 're.match') return { t: 'func', v: full };
      if (a.v === 'os') this.fail(line, `\`${full}' is not supported (legacy configs get no file, process or environment access)`);
      this.fail(line, `\`${full}' is not supported`);
    }
    if (a.t === 'str' && STR_METHODS.has(name)) return { t: 'func', v: `str.${name}`, self: a };
    if (a.t === 'match' && name === 'group') return { t: 'func', v: 'match.group', self: a };
    this.fail(line, `\`${typeName(a)}.${name}' is not supported`);
  }

  private index(a: Value, i: Value, line: number): Value {
    if (a.t !== 'list' && a.t !== 'tuple' && a.t !== 'str') this.fail(line, `${typeName(a)} object is not subscriptable`);
    if (!isNum(i)) this.fail(line, 'indices must be integers');
    const len = BigInt(a.t === 'str' ? a.v.length : a.v.length);
    let n = intOf(i);
    if (n < 0n) n += len;
    if (n < 0n || n >= len) this.fail(line, 'index out of range');
    return a.t === 'str' ? { t: 'str', v: a.v[Number(n)] as string } : (a.v[Number(n)] as Value);
  }

  private call(f: Value, args: readonly Value[], line: number): Value {
    const arity = (n: number): void => {
      if (args.length !== n) this.fail(line, `${f.t === 'func' ? f.v : 'function'}() takes ${n} argument${n === 1 ? '' : 's'} (${args.length} given)`);
    };
    const strArg = (v: Value | undefined): string => {
      if (v?.t !== 'str') this.fail(line, `expected a string argument, got ${v === undefined ? 'nothing' : typeName(v)}`);
      return v.v;
    };
    if (f.t !== 'func') this.fail(line, `${typeName(f)} object is not callable`);
    switch (f.v) {
      case 'os.uname':
        arity(0);
        this.constructs.add('os.uname()');
        return { t: 'tuple', v: [type(), hostname(), release(), version(), machine()].map((v) => ({ t: 'str', v })) };
      case 're.search':
      case 're.match': {
        arity(2);
        this.constructs.add(f.v);
        const re = this.regex(strArg(args[0]), f.v === 're.match', line);
        const subject = strArg(args[1]);
        if (subject.length > MAX_SUBJECT) this.fail(line, 'string too long for a regular expression');
        const m = re.exec(subject);
        return m === null ? { t: 'none' } : { t: 'match', v: m[0] };
      }
      case 'match.group':
        return { t: 'str', v: f.self?.t === 'match' ? f.self.v : '' };
      case 'str':
        arity(1);
        return { t: 'str', v: display(args[0] as Value) };
      case 'int': {
        arity(1);
        const a = args[0] as Value;
        if (isNum(a)) return { t: 'int', v: intOf(a) };
        const s = strArg(a).trim();
        if (!/^[-+]?\d+$/.test(s)) this.fail(line, `invalid literal for int(): '${s}'`);
        return { t: 'int', v: BigInt(s) };
      }
      case 'len': {
        arity(1);
        const a = args[0] as Value;
        if (a.t !== 'str' && a.t !== 'list' && a.t !== 'tuple') this.fail(line, `object of type ${typeName(a)} has no len()`);
        return { t: 'int', v: BigInt(a.v.length) };
      }
      default:
        return this.method(f.v, f.self, args, line, strArg);
    }
  }

  private method(name: string, self: Value | undefined, args: readonly Value[], line: number, strArg: (v: Value | undefined) => string): Value {
    const s = self?.t === 'str' ? self.v : '';
    switch (name) {
      case 'str.lower':
        return { t: 'str', v: s.toLowerCase() };
      case 'str.upper':
        return { t: 'str', v: s.toUpperCase() };
      case 'str.strip':
        return { t: 'str', v: s.trim() };
      case 'str.startswith':
        return { t: 'bool', v: s.startsWith(strArg(args[0])) };
      case 'str.endswith':
        return { t: 'bool', v: s.endsWith(strArg(args[0])) };
      case 'str.replace':
        return this.str(s.split(strArg(args[0])).join(strArg(args[1])), line);
      case 'str.split': {
        const parts = args.length === 0 ? s.trim().split(/\s+/).filter((x) => x !== '') : s.split(strArg(args[0]));
        return { t: 'list', v: parts.map((v) => ({ t: 'str', v })) };
      }
      case 'str.join': {
        const seq = args[0];
        if (seq?.t !== 'list' && seq?.t !== 'tuple') this.fail(line, 'join() needs a list of strings');
        return this.str(seq.v.map((x) => strArg(x)).join(s), line);
      }
      default:
        this.fail(line, `\`${name}' is not supported`);
    }
  }

  /** A Python regular expression as a bounded JavaScript one. */
  private regex(pattern: string, anchored: boolean, line: number): RegExp {
    if (pattern.length > MAX_PATTERN) this.fail(line, 'regular expression too long');
    // A repeated group that itself repeats or alternates can take exponential time: refuse it.
    if (/\((?:[^()\\]|\\.)*[*+}|](?:[^()\\]|\\.)*\)[*+{]/.test(pattern)) {
      this.fail(line, `regular expression \`${pattern}' has nested repetition`);
    }
    const js = pattern.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
    try {
      return new RegExp(anchored ? `^(?:${js})` : js);
    } catch {
      this.fail(line, `invalid regular expression \`${pattern}'`);
    }
  }
}

const BUILTINS = new Set(['str', 'int', 'len']);
const STR_METHODS = new Set(['lower', 'upper', 'strip', 'startswith', 'endswith', 'replace', 'split', 'join']);

function isNum(v: Value): v is { t: 'int'; v: bigint } | { t: 'bool'; v: boolean } {
  return v.t === 'int' || v.t === 'bool';
}

function intOf(v: Value): bigint {
  if (v.t === 'int') return v.v;
  if (v.t === 'bool') return v.v ? 1n : 0n;
  return 0n;
}

function truthy(v: Value): boolean {
  switch (v.t) {
    case 'str':
      return v.v !== '';
    case 'int':
      return v.v !== 0n;
    case 'bool':
      return v.v;
    case 'none':
      return false;
    case 'list':
    case 'tuple':
      return v.v.length > 0;
    default:
      return true;
  }
}

function equal(a: Value, b: Value): boolean {
  if (isNum(a) && isNum(b)) return intOf(a) === intOf(b);
  if (a.t === 'str' && b.t === 'str') return a.v === b.v;
  if (a.t === 'none' || b.t === 'none') return a.t === b.t;
  if ((a.t === 'list' || a.t === 'tuple') && a.t === b.t) return a.v.length === b.v.length && a.v.every((x, i) => equal(x, b.v[i] as Value));
  return false;
}

function typeName(v: Value): string {
  return v.t === 'func' ? 'function' : v.t === 'none' ? 'NoneType' : v.t;
}

function display(v: Value): string {
  switch (v.t) {
    case 'str':
      return v.v;
    case 'int':
      return v.v.toString();
    case 'bool':
      return v.v ? 'True' : 'False';
    case 'none':
      return 'None';
    default:
      return repr(v);
  }
}

function repr(v: Value): string {
  switch (v.t) {
    case 'str':
      return `'${v.v.replace(/\\/g, '\\\\').replace(/'/g, '\\\'')}'`;
    case 'list':
      return `[${v.v.map(repr).join(', ')}]`;
    case 'tuple':
      return v.v.length === 1 ? `(${repr(v.v[0] as Value)},)` : `(${v.v.map(repr).join(', ')})`;
    case 'module':
      return `<module '${v.v}'>`;
    case 'func':
      return `<built-in function ${v.v}>`;
    case 'match':
      return '<match object>';
    default:
      return display(v);
  }
}
