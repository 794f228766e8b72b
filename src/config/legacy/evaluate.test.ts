import assert from 'node:assert/strict';
import { hostname, machine, release, type } from 'node:os';
import { test } from 'node:test';
import { isToolstackError } from '../../common/index.js';
import { rawCfgSettings } from '../cfg/raw.js';
import { evaluateLegacyConfig } from './index.js';

function run(text: string): Record<string, unknown> {
  return Object.fromEntries(rawCfgSettings(evaluateLegacyConfig(text, { source: 'x.cfg' })).map((s) => [s.name, s.value]));
}

function fails(text: string, line: number, pattern: RegExp): void {
  assert.throws(() => evaluateLegacyConfig(text, { source: 'x.cfg' }), (e: unknown) => {
    assert.ok(isToolstackError(e, 'CFG_LEGACY'));
    assert.equal(e.lines?.length, 1);
    assert.match(e.message, new RegExp(`^x\\.cfg:${line}: legacy config error: `));
    assert.match(e.message, pattern);
    assert.ok(e.hint);
    return true;
  });
}

test('values are stored as xl would store them', () => {
  assert.deepEqual(run('a = "s"\nb = 12\nc = 0x10\nd = 010\ne = True\nf = False\ng = [1, "x", (2, 3)]\nh = -4\n'), {
    a: 's', b: '12', c: '16', d: '8', e: '1', f: '0', g: ['1', 'x', ['2', '3']], h: '-4',
  });
});

test('os.uname() is this host\'s, as a tuple', () => {
  assert.deepEqual(run('import os\nu = os.uname()\nm = os.uname()[4]\nl = os.uname()[-1]\ns = os.uname()[0]\n'), {
    u: [type(), hostname(), release(), (run('import os\nv = os.uname()[3]\n').v as string), machine()],
    m: machine(), l: machine(), s: type(),
  });
});

test('if/elif/else on comparisons and re.search/re.match truthiness', () => {
  const text = [
    'import re', 'x = "x86_64"',
    'if re.match("86", x):', '    a = 1', 'elif re.search("86", x):', '    a = 2', 'else:', '    a = 3',
    'if x == "arm": b = "arm"', 'else: b = "other"',
    'if not re.search("^arm", x) and len(x) > 3 or False:', '  c = "yes"',
    'if 1 > 2:', '    pass', 'elif "86" in x:', '    d = "in"',
  ].join('\n');
  assert.deepEqual(run(text), { x: 'x86_64', a: '2', b: 'other', c: 'yes', d: 'in' });
});

test('string + and % formatting, += on names, None unsets, brackets continue lines', () => {
  assert.deepEqual(run([
    'base = "/usr/" + "lib"', 'p = "%s/xen/%d-%03d%%" % (base, 4, 7)', 'q = "vm-%s" % "one"', 'n = 1', 'n += 2',
    'disk = [ "a",', '         "b" ]', 'gone = 1', 'gone = None', 's = \'\'\'multi', 'line\'\'\'', 'r = r"\\d"', 'k = "a" "b"',
  ].join('\n')), { base: '/usr/lib', p: '/usr/lib/xen/4-007%', q: 'vm-one', n: '3', disk: ['a', 'b'], s: 'multi\nline', r: '\\d', k: 'ab' });
});

test('the warning names the legacy constructs met', () => {
  const doc = evaluateLegacyConfig('import os, re\nif re.search("6", os.uname()[4]):\n  a = "x" + "y"\n', { source: 'x.cfg' });
  assert.deepEqual(doc.warnings, ['x.cfg: warning: legacy xm (Python) config, which xl rejects, evaluated by dom0\'s xm subset (import os, re; if; os.uname(); re.search; string +)']);
});

test('anything outside the subset is one error with its line', () => {
  fails('import sys\n', 1, /`import sys' is not supported/);
  fails('a = 1\nprint "x"\n', 2, /`print' is not supported/);
  fails('a = 1\n\ndef f():\n  pass\n', 3, /`def' is not supported/);
  fails('import os\nx = os.system("rm -rf /")\n', 2, /no file, process or environment access/);
  fails('x = open("/etc/passwd")\n', 1, /name `open' is not defined/);
  fails('for i in [1]:\n  pass\n', 1, /`for' is not supported/);
  fails('a = b\n', 1, /name `b' is not defined/);
  fails('a = "x" + 1\n', 1, /unsupported operand types for \+: str and int/);
  fails('import re\na = re.search("(a+)+b", "aaaa")\n', 2, /nested repetition/);
  fails('import re\na = re.search("(a|aa)*b", "aaaa")\n', 2, /nested repetition/);
  fails('a = "x" * 100000000\n', 1, /string too long/);
  fails('a = 1.5\n', 1, /floating-point/);
  fails('a = {"k": 1}\n', 1, /dictionaries are not supported/);
  fails('if 1:\nb = 2\n', 2, /expected an indented block/);
  fails('a = (1,\n', 1, /unclosed bracket/);
  fails('a = "unterminated\n', 1, /unterminated string/);
  fails('import os\na = os.uname()[7]\n', 2, /index out of range/);
  fails(`a = 1\nb = ${'('.repeat(50000)}1${')'.repeat(50000)}\n`, 2, /nested too deeply/);
  fails(`a = 1\nb = ${'1 + '.repeat(50000)}1\n`, 2, /nested too deeply/);
  fails(`a = ${'not '.repeat(50000)}1\n`, 1, /nested too deeply/);
});
