import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goldenSections } from '../../../test/support/golden.js';
import type { DomainInfo } from '../../api/index.js';
import { claimsCommand } from './claims.js';
import { sharingCommand } from './sharing.js';
import { vmListCommand } from './vm-list.js';
import { xenstoreQuotaGetCommand } from './xenstore-quota-get.js';

function dom(domid: number, name: string, memMiB: number, vcpus: number, paused = false): DomainInfo {
  return {
    domid, name, uuid: '6f8d7b5e-1a2b-4c3d-8e9f-001122334455', state: paused ? 'paused' : 'running',
    flags: { running: false, blocked: false, paused, shutdown: false, dying: false },
    shutdownReason: null, memKiB: memMiB * 1024, vcpus, cpuTimeNs: 0, startTime: 0, uptimeSec: 0, cpupool: 'Pool-0',
  };
}

test('vm-list, sharing, claims and xenstore-quota-get render Xen\'s layouts byte for byte', () => {
  const g = goldenSections('cli/misc.txt');
  assert.equal(vmListCommand.render!([dom(3, 'guest1', 1024, 2)]), g.get('vm-list'));
  assert.equal(sharingCommand.render!([dom(0, 'Domain-0', 4096, 4)]), g.get('sharing'));
  assert.equal(claimsCommand.render!([dom(2, 'OL5', 2048, 1, true)]), g.get('claims'));
  assert.equal(xenstoreQuotaGetCommand.render!([{ name: 'nodes', value: 1000 }]), g.get('xenstore-quota-get'));
});
