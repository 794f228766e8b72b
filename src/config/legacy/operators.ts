// Python's operators on the subset's values: arithmetic (Python 2's floor division and modulo),
// comparisons, membership, string + and *, `%` formatting, subscripts.
import type { EvalContext } from './errors.js';
import { fail } from './errors.js';
import { display, equal, intOf, isNum, repeatCount, repr, str, typeName } from './values.js';
import type { Value } from './values.js';

/** `a op b` for Python's binary operators (`and`/`or` short-circuit in the evaluator, not here). */
export function binary(ctx: EvalContext, op: string, a: Value, b: Value, line: number): Value {
  const bad = (): never => fail(ctx, line, `unsupported operand types for ${op}: ${typeName(a)} and ${typeName(b)}`);
  switch (op) {
    case '+':
      if (a.t === 'str' && b.t === 'str') {
        ctx.constructs.add('string +');
        return str(ctx, a.v + b.v, line);
      }
      if (isNum(a) && isNum(b)) return { t: 'int', v: intOf(a) + intOf(b) };
      if ((a.t === 'list' && b.t === 'list') || (a.t === 'tuple' && b.t === 'tuple')) return { t: a.t, v: [...a.v, ...b.v] };
      return bad();
    case '-':
      return isNum(a) && isNum(b) ? { t: 'int', v: intOf(a) - intOf(b) } : bad();
    case '*':
      if (isNum(a) && isNum(b)) return { t: 'int', v: intOf(a) * intOf(b) };
      if (a.t === 'str' && isNum(b)) return str(ctx, a.v.repeat(repeatCount(ctx, a.v.length, intOf(b), line)), line);
      return bad();
    case '/':
    case '//': {
      if (!isNum(a) || !isNum(b)) return bad();
      if (intOf(b) === 0n) fail(ctx, line, 'integer division by zero');
      const q = intOf(a) / intOf(b);
      // Python 2 integer division floors.
      return { t: 'int', v: (intOf(a) % intOf(b) !== 0n && (intOf(a) < 0n) !== (intOf(b) < 0n)) ? q - 1n : q };
    }
    case '%':
      if (a.t === 'str') {
        ctx.constructs.add('% formatting');
        return str(ctx, format(ctx, a.v, b, line), line);
      }
      if (isNum(a) && isNum(b)) {
        if (intOf(b) === 0n) fail(ctx, line, 'integer modulo by zero');
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

/** `fmt % args` with %s %r %d %i %x %X %o %c %%. */
function format(ctx: EvalContext, fmt: string, args: Value, line: number): string {
  const list = args.t === 'tuple' ? [...args.v] : [args];
  let k = 0;
  const out = fmt.replace(/%([-0 +#]*)(\d*)([sridxXoc%])/g, (_m, flags: string, width: string, conv: string) => {
    if (conv === '%') return '%';
    const v = list[k++];
    if (v === undefined) fail(ctx, line, 'not enough arguments for format string');
    let s: string;
    if (conv === 's') s = display(v);
    else if (conv === 'r') s = repr(v);
    else if (conv === 'c') s = v.t === 'str' ? v.v : String.fromCharCode(Number(intOf(num(ctx, v, line))));
    else {
      const n = intOf(num(ctx, v, line));
      const base = conv === 'x' || conv === 'X' ? 16 : conv === 'o' ? 8 : 10;
      s = n.toString(base);
      if (conv === 'X') s = s.toUpperCase();
    }
    const w = Number(width || '0');
    if (s.length >= w) return s;
    if (flags.includes('-')) return s.padEnd(w);
    return flags.includes('0') && conv !== 's' ? s.padStart(w, '0') : s.padStart(w);
  });
  if (k < list.length) fail(ctx, line, 'not all arguments converted during string formatting');
  return out;
}

function num(ctx: EvalContext, v: Value, line: number): Value {
  if (!isNum(v)) fail(ctx, line, `a number is required, not ${typeName(v)}`);
  return v;
}

/** `a[i]`: an item of a list, tuple or string; negative indices count from the end. */
export function index(ctx: EvalContext, a: Value, i: Value, line: number): Value {
  if (a.t !== 'list' && a.t !== 'tuple' && a.t !== 'str') fail(ctx, line, `${typeName(a)} object is not subscriptable`);
  if (!isNum(i)) fail(ctx, line, 'indices must be integers');
  const len = BigInt(a.t === 'str' ? a.v.length : a.v.length);
  let n = intOf(i);
  if (n < 0n) n += len;
  if (n < 0n || n >= len) fail(ctx, line, 'index out of range');
  return a.t === 'str' ? { t: 'str', v: a.v[Number(n)] as string } : (a.v[Number(n)] as Value);
}
