import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goldenSections } from '../../../test/support/golden.js';
import type { VcpuInfo } from '../../api/index.js';
import { renderVcpuList } from './vcpu-list.js';

function vcpu(o: Partial<VcpuInfo> & Pick<VcpuInfo, 'vcpu'>): VcpuInfo {
  return { online: true, cpu: 0, running: false, blocked: false, timeNs: 0, hard: null, soft: null, ...o };
}

test('renderVcpuList() matches Xen byte for byte: online, pinned, offline', () => {
  const golden = goldenSections('cli/vcpus.txt');
  assert.equal(renderVcpuList([
    { domid: 0, name: 'Domain-0', nrCpus: 4, vcpus: [vcpu({ vcpu: 0, cpu: 2, running: true, timeNs: 12.3e9, hard: [0, 1, 2, 3] })] },
    {
      domid: 3, name: 'guest1', nrCpus: 8, vcpus: [
        vcpu({ vcpu: 0, cpu: 1, blocked: true, timeNs: 4e9, hard: [0, 1, 2, 3], soft: [0, 1, 2, 3, 4, 5, 6, 7] }),
        vcpu({ vcpu: 1, online: false, cpu: null, hard: [0, 1, 2, 3, 4, 5, 6, 7] }),
      ],
    },
  ]), golden.get('vcpu-list'));
});

test('renderVcpuList(): a long name is not cut; an empty soft map is none; stored maps wider than the host print over its CPUs', () => {
  const golden = goldenSections('cli/vcpus.txt');
  assert.equal(renderVcpuList([
    { domid: 12, name: 'a-guest-whose-name-is-longer-than-32', nrCpus: 3, vcpus: [vcpu({ vcpu: 0, timeNs: 0.05e9 + 1, hard: [0, 2, 5], soft: [] })] },
  ]), golden.get('vcpu-list long name'));
  assert.equal(renderVcpuList([]), 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n');
});
