import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DomainInfo, HostInfo } from '../api/index.js';
import { isToolstackError } from '../common/index.js';
import { catLevel, PSR_NO_SUCH_DOMAIN, psrSetLines, psrTargetSockets, requirePsrAbsent } from './psr.js';

/** A host with `sockets` sockets of two CPUs each, and the PSR features given. */
function host(sockets: number, psr: Partial<HostInfo['psr']> = {}): HostInfo {
  const cpus = Array.from({ length: sockets * 2 }, (_, cpu) => ({ cpu, core: cpu % 2, socket: Math.floor(cpu / 2), node: 0 }));
  return { psr: { cmt: false, l3Cat: false, l2Cat: false, mba: false, source: 'none', ...psr }, facts: { cpus } } as unknown as HostInfo;
}

test('psrTargetSockets(): every socket by default; -s lists and ranges as xl reads them, past the host ignored', () => {
  assert.deepEqual(psrTargetSockets(host(3), []), [0, 1, 2]);
  assert.deepEqual(psrTargetSockets(host(3), ['2,0']), [0, 2]);
  assert.deepEqual(psrTargetSockets(host(3), [' 1-5 ']), [1, 2]);
  assert.deepEqual(psrTargetSockets(host(3), ['1', '0']), [0, 1]);
  // xl ignores parse_range's errors: no digits is socket 0.
  assert.deepEqual(psrTargetSockets(host(3), ['x']), [0]);
  // Bits inside libxl's socket bitmap (a byte) but past the host: nothing to do.
  assert.deepEqual(psrTargetSockets(host(3), ['5']), []);
  // Bits past the bitmap are dropped: an empty bitmap is every socket.
  assert.deepEqual(psrTargetSockets(host(3), ['9']), [0, 1, 2]);
  assert.deepEqual(psrTargetSockets(host(3), ['']), [0, 1, 2]);
});

test('psrSetLines(): one libxl line per socket, ESRCH for a domain the host lacks', () => {
  const d = { domid: 3 } as DomainInfo;
  assert.deepEqual(psrSetLines([0, 1], d, 'MBA'), Array(2).fill('libxl: error: libxl_psr.c:123:libxl__psr_alloc_log_err_msg: MBA: is not supported in this system'));
  assert.deepEqual(psrSetLines([0], undefined, 'L3 CAT'), [PSR_NO_SUCH_DOMAIN]);
  assert.deepEqual(psrSetLines([], d, 'CDP'), []);
});

test('catLevel(): 3 by default, 2 or 3 by atoi, else xl\'s line (exit 1)', () => {
  assert.equal(catLevel(undefined), 3);
  assert.equal(catLevel('2'), 2);
  assert.equal(catLevel(' 3x'), 3);
  assert.throws(() => catLevel('x'), (e: unknown) => isToolstackError(e, 'USAGE') && e.lines?.[0] === 'Input lvl 0 is wrong' && e.exitCode === 1);
});

test('requirePsrAbsent(): a host that has the feature is NOT_SUPPORTED (dom0 does not drive resctrl yet)', () => {
  requirePsrAbsent(host(1), 'CMT');
  requirePsrAbsent(host(1, { l3Cat: true, source: 'cpuinfo' }), 'L2 CAT');
  assert.throws(() => requirePsrAbsent(host(1, { mba: true, source: 'resctrl' }), 'MBA'),
    (e: unknown) => isToolstackError(e, 'NOT_SUPPORTED') && /MBA \(found in the mounted resctrl\)/.test(e.message) && e.hint !== undefined);
  assert.throws(() => requirePsrAbsent(host(1, { cmt: true, source: 'cpuinfo' }), 'CMT'), (e: unknown) => isToolstackError(e, 'NOT_SUPPORTED'));
});
