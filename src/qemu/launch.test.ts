import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import { launchQemu, withMallocHugePages } from './launch.js';

test('QEMU gets glibc.malloc.hugetlb=1 beside the user\'s tunables, unless they chose hugetlb', () => {
  assert.equal(withMallocHugePages({ PATH: '/bin' })['GLIBC_TUNABLES'], 'glibc.malloc.hugetlb=1');
  assert.equal(withMallocHugePages({ GLIBC_TUNABLES: '' })['GLIBC_TUNABLES'], 'glibc.malloc.hugetlb=1');
  assert.equal(withMallocHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })['GLIBC_TUNABLES'], 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
  for (const own of ['glibc.malloc.hugetlb=0', 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2']) {
    assert.equal(withMallocHugePages({ GLIBC_TUNABLES: own })['GLIBC_TUNABLES'], own);
  }
});

test('a QEMU that exits at start is one line with its own words; one out of PCI slots gets a hint the config can act on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dom0-launch-'));
  try {
    // A stand-in for QEMU that fails as QEMU does for a config with more devices than slots.
    const binary = join(dir, 'qemu');
    writeFileSync(binary, '#!/bin/sh\necho "qemu-system-x86_64: -device virtio-blk-pci,id=xvdz: PCI: no slot/function available for virtio-blk-pci, all in use or reserved" >&2\nexit 1\n', { mode: 0o755 });
    const logFile = join(dir, 'qemu.log');
    await assert.rejects(launchQemu({ binary, args: [], logFile, qmpSocket: join(dir, 'qmp.sock'), label: "of domain 'many'" }), (e: unknown) =>
      isToolstackError(e, 'QEMU') && /^QEMU \(pid \d+\) of domain 'many' exited at start: -device virtio-blk-pci,id=xvdz: PCI: no slot\/function available/.test(e.message)
      && e.hint === `the machine has no PCI slot left (a PC has 32, and each virtio disk, vif, USB controller and passed-through device takes one): give fewer (see ${logFile})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
