import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const XL = join(import.meta.dirname, '..', '..', '..', 'bin', 'xl');
function xl(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(XL, args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('xl with no subcommand prints the full help and exits 1', () => {
  const r = xl();
  assert.equal(r.code, 1);
  assert.match(r.err, /^Usage xl \[-vfNtT\] <subcommand> \[args\]\n\nxl full list of subcommands:\n\n/);
});

test('xl help lists commands in Xen layout and exits 0', () => {
  const r = xl('help');
  assert.equal(r.code, 0);
  assert.match(r.out, /\n help {16}Print this help\n/);
});

test('unknown subcommands and global options fail as in Xen', () => {
  assert.deepEqual([xl('no-such-command').code, xl('no-such-command').err], [1, 'command not implemented\n']);
  assert.deepEqual([xl('-z', 'help').code, xl('-z', 'help').err], [1, 'unknown global option\n']);
  assert.deepEqual([xl('-N', 'help').code, xl('-N', 'help').err], [1, 'command does not implement -N (dryrun) option\n']);
});

test('xl --json prints its failures as one {"error": ...} object on stdout, Xen\'s lines on stderr', () => {
  const cases: Array<[string[], number, string]> = [
    [['--json', 'no-such-command'], 1, 'COMMAND_NOT_IMPLEMENTED'],
    [['--json', '-z', 'help'], 1, 'USAGE'],
    [['--json'], 1, 'USAGE'],
    [['-N', 'help', '--json'], 1, 'DRYRUN_UNSUPPORTED'],
    [['--json', 'domid'], 2, 'USAGE_ARGS'],
  ];
  for (const [args, code, errorCode] of cases) {
    const r = xl(...args);
    assert.equal(r.code, code, args.join(' '));
    assert.equal((JSON.parse(r.out) as { error: { code: string } }).error.code, errorCode, args.join(' '));
    assert.notEqual(r.err, '');
  }
});
