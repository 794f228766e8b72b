import assert from 'node:assert/strict';
import { test } from 'node:test';
import { vdevNumber } from './vdev.js';

test('vdevNumber() gives libxl\'s devids (xen-vbd-interface(7))', () => {
  const cases: Array<[string, number | undefined]> = [
    ['xvda', 51712], ['xvdb', 51728], ['xvda1', 51713], ['xvdp15', 51967], ['xvdq', (1 << 28) | (16 << 8)], ['xvda16', (1 << 28) | 16],
    ['xvdaa', (1 << 28) | (26 << 8)], ['d0p0', 51712], ['d1p2', 51730], ['d16p0', (1 << 28) | (16 << 8)],
    ['hda', 768], ['hdb', 832], ['hdc', 5632], ['hdd', 5696], ['hda63', 831], ['sda', 2048], ['sdb2', 2066], ['sdp15', 2303],
    ['51712', 51712], ['0x10', 16], ['010', 8],
    ['hde', undefined], ['sdq', undefined], ['xvda0', undefined], ['xvda01', undefined], ['hda64', undefined], ['vda', undefined], ['xvd', undefined],
  ];
  for (const [vdev, want] of cases) assert.equal(vdevNumber(vdev), want, vdev);
});
