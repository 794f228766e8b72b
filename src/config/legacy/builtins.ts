// The builtins of the subset: str(), int(), len(), the string methods, and of the modules
// `os.uname()` and `re.search`/`re.match` (with bounded patterns and subjects). Nothing else of
// os is there: a legacy config gets no file, process, network or environment access.
import { hostname, machine, release, type, version } from 'node:os';
import type { EvalContext } from './errors.js';
import { fail } from './errors.js';
import { display, intOf, isNum, str, typeName } from './values.js';
import type { Value } from './values.js';

/** The builtin functions a name may refer to. */
export const BUILTINS = new Set(['str', 'int', 'len']);
const STR_METHODS = new Set(['lower', 'upper', 'strip', 'startswith', 'endswith', 'replace', 'split', 'join']);
const MAX_PATTERN = 256;
const MAX_SUBJECT = 65536;

/** `a.name`: os.uname, re.search, re.match, the string methods, a match's group. */
export function attribute(ctx: EvalContext, a: Value, name: string, line: number): Value {
  if (a.t === 'module') {
    const full = `${a.v}.${name}`;
    if (full === 'os.uname' || full === 're.search' || full === 're.match') return { t: 'func', v: full };
    if (a.v === 'os') fail(ctx, line, `\`${full}' is not supported (legacy configs get no file, process or environment access)`);
    fail(ctx, line, `\`${full}' is not supported`);
  }
  if (a.t === 'str' && STR_METHODS.has(name)) return { t: 'func', v: `str.${name}`, self: a };
  if (a.t === 'match' && name === 'group') return { t: 'func', v: 'match.group', self: a };
  fail(ctx, line, `\`${typeName(a)}.${name}' is not supported`);
}

/** `f(args)` for the builtins (`str`, `int`, `len`), os.uname, re.search/re.match and the methods. */
export function call(ctx: EvalContext, f: Value, args: readonly Value[], line: number): Value {
  const arity = (n: number): void => {
    if (args.length !== n) fail(ctx, line, `${f.t === 'func' ? f.v : 'function'}() takes ${n} argument${n === 1 ? '' : 's'} (${args.length} given)`);
  };
  const strArg = (v: Value | undefined): string => {
    if (v?.t !== 'str') fail(ctx, line, `expected a string argument, got ${v === undefined ? 'nothing' : typeName(v)}`);
    return v.v;
  };
  if (f.t !== 'func') fail(ctx, line, `${typeName(f)} object is not callable`);
  switch (f.v) {
    case 'os.uname':
      arity(0);
      ctx.constructs.add('os.uname()');
      return { t: 'tuple', v: [type(), hostname(), release(), version(), machine()].map((v) => ({ t: 'str', v })) };
    case 're.search':
    case 're.match': {
      arity(2);
      ctx.constructs.add(f.v);
      const re = regex(ctx, strArg(args[0]), f.v === 're.match', line);
      const subject = strArg(args[1]);
      if (subject.length > MAX_SUBJECT) fail(ctx, line, 'string too long for a regular expression');
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
      if (!/^[-+]?\d+$/.test(s)) fail(ctx, line, `invalid literal for int(): '${s}'`);
      return { t: 'int', v: BigInt(s) };
    }
    case 'len': {
      arity(1);
      const a = args[0] as Value;
      if (a.t !== 'str' && a.t !== 'list' && a.t !== 'tuple') fail(ctx, line, `object of type ${typeName(a)} has no len()`);
      return { t: 'int', v: BigInt(a.v.length) };
    }
    default:
      return method(ctx, f.v, f.self, args, line, strArg);
  }
}

function method(ctx: EvalContext, name: string, self: Value | undefined, args: readonly Value[], line: number, strArg: (v: Value | undefined) => string): Value {
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
      return str(ctx, s.split(strArg(args[0])).join(strArg(args[1])), line);
    case 'str.split': {
      const parts = args.length === 0 ? s.trim().split(/\s+/).filter((x) => x !== '') : s.split(strArg(args[0]));
      return { t: 'list', v: parts.map((v) => ({ t: 'str', v })) };
    }
    case 'str.join': {
      const seq = args[0];
      if (seq?.t !== 'list' && seq?.t !== 'tuple') fail(ctx, line, 'join() needs a list of strings');
      return str(ctx, seq.v.map((x) => strArg(x)).join(s), line);
    }
    default:
      fail(ctx, line, `\`${name}' is not supported`);
  }
}

/** A Python regular expression as a bounded JavaScript one. */
function regex(ctx: EvalContext, pattern: string, anchored: boolean, line: number): RegExp {
  if (pattern.length > MAX_PATTERN) fail(ctx, line, 'regular expression too long');
  // A repeated group that itself repeats or alternates can take exponential time: refuse it.
  if (/\((?:[^()\\]|\\.)*[*+}|](?:[^()\\]|\\.)*\)[*+{]/.test(pattern)) {
    fail(ctx, line, `regular expression \`${pattern}' has nested repetition`);
  }
  const js = pattern.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(anchored ? `^(?:${js})` : js);
  } catch {
    fail(ctx, line, `invalid regular expression \`${pattern}'`);
  }
}
