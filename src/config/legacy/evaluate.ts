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
import type { CfgSetting, CfgValue } from '../cfg/types.js';
import { attribute, BUILTINS, call } from './builtins.js';
import type { EvalContext } from './errors.js';
import { fail, legacyError } from './errors.js';
import { binary, index } from './operators.js';
import { PyParser } from './parser.js';
import type { Expr, Stmt } from './parser.js';
import { tokenizePython } from './tokenizer.js';
import { intOf, truthy, typeName } from './values.js';
import type { Value } from './values.js';

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

/** Runs the statements of a program: the scope, the settings made, the constructs met. */
class Runner implements EvalContext {
  readonly settings: CfgSetting[] = [];
  readonly constructs = new Set<string>();
  private readonly scope = new Map<string, Value>();
  /** The line of the statement being run (0 before the first). */
  line = 0;

  constructor(readonly source: string) {}

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
          if (prev === undefined) fail(this, s.line, `name \`${s.name}' is not defined`);
          v = binary(this, '+', prev, v, s.line);
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
          if (c === undefined) fail(this, line, `a list item of type ${typeName(x)} cannot be a config value`);
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
        if (v === undefined) fail(this, e.line, `name \`${e.name}' is not defined`);
        return v;
      }
      case 'seq':
        return { t: e.t, v: e.items.map((x) => this.eval(x)) };
      case 'not':
        return { t: 'bool', v: !truthy(this.eval(e.a)) };
      case 'neg': {
        const a = this.eval(e.a);
        if (a.t !== 'int' && a.t !== 'bool') fail(this, e.line, `bad operand type for unary -: ${typeName(a)}`);
        return { t: 'int', v: -intOf(a) };
      }
      case 'cond':
        return truthy(this.eval(e.test)) ? this.eval(e.a) : this.eval(e.b);
      case 'bin': {
        const a = this.eval(e.a);
        if (e.op === 'and') return truthy(a) ? this.eval(e.b) : a;
        if (e.op === 'or') return truthy(a) ? a : this.eval(e.b);
        return binary(this, e.op, a, this.eval(e.b), e.line);
      }
      case 'attr':
        return attribute(this, this.eval(e.a), e.name, e.line);
      case 'index':
        return index(this, this.eval(e.a), this.eval(e.index), e.line);
      case 'call':
        return call(this, this.eval(e.f), e.args.map((x) => this.eval(x)), e.line);
    }
  }
}
