import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goldenSections } from '../../../test/support/golden.js';
import type { DomainInfo, ShutdownReason } from '../../api/index.js';
import { printfFixed, renderList } from '../list-render.js';
import { uptimeCommand, uptimeString } from './uptime.js';

/** Sections of test/golden/cli/list-uptime.txt (Xen's layouts with made-up values), by heading. */
function golden(): Map<string, string> {
  return goldenSections('cli/list-uptime.txt');
}

function dom(domid: number, name: string, memMiB: number, vcpus: number, letters: string, cpuSec: number, reason: ShutdownReason | null = null): DomainInfo {
  return {
    domid,
    name,
    uuid: '6f8d7b5e-1a2b-4c3d-8e9f-001122334455',
    state: 'running',
    flags: { running: letters[0] === 'r', blocked: letters[1] === 'b', paused: letters[2] === 'p', shutdown: letters[3] === 's', dying: letters[5] === 'd' },
    shutdownReason: reason,
    memKiB: memMiB * 1024,
    vcpus,
    cpuTimeNs: cpuSec * 1e9,
    startTime: 0,
    uptimeSec: 0,
    cpupool: 'Pool-0',
  };
}

const none = { verbose: false, context: false, cpupool: false, numa: false };
const dom0 = dom(0, 'Domain-0', 4096, 4, 'r-----', 1234.6);
const guest1 = dom(3, 'guest1', 1024, 2, '-b----', 5.6);
const crashed = dom(7, 'crashed', 512, 1, '---s--', 0.1, 'crash');

test('renderList() matches Xen byte for byte: plain, -v, -c -n', () => {
  const g = golden();
  assert.equal(renderList([dom0, guest1, crashed], none), g.get('list'));
  assert.equal(renderList([guest1], { ...none, verbose: true }), g.get('list -v'));
  assert.equal(renderList([guest1], { ...none, cpupool: true, numa: true }), g.get('list -c -n'));
});

test('uptime renders Xen\'s long and -s layouts', () => {
  const g = golden();
  const now = new Date(2026, 0, 1, 14, 3, 59).getTime();
  const rows = [{ name: 'Domain-0', domid: 0, uptimeSec: 3 * 86400 + 4 * 3600 + 5 * 60 + 6 }, { name: 'guest1', domid: 3, uptimeSec: 12 * 60 + 34 }];
  const view = (short: boolean) => ({ short, now, rows, toJSON: () => rows });
  assert.equal(uptimeCommand.render!(view(false)), g.get('uptime'));
  assert.equal(uptimeCommand.render!(view(true)), g.get('uptime -s'));
  assert.equal(uptimeString(86400 + 61, false), '1 day,  0:01:01');
});

test('printfFixed() rounds exact ties to even as printf does', () => {
  assert.equal(printfFixed(0.25, 1), '0.2');
  assert.equal(printfFixed(0.75, 1), '0.8');
  assert.equal(printfFixed(5.6, 1), '5.6');
  assert.equal(printfFixed(1234.56, 1), '1234.6');
});
