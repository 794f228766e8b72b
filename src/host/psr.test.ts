import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { psrFromCpuinfo, psrFromResctrl, readPsrFeatures, resctrlMount } from './psr.js';

test('psrFromCpuinfo() reads the RDT flags of the first processor', () => {
  const rdt = 'processor\t: 0\nflags\t\t: fpu sse cqm rdt_a cat_l3 cdp_l3 cqm_llc cqm_occup_llc mba\n\nprocessor\t: 1\nflags\t\t: fpu\n';
  assert.deepEqual(psrFromCpuinfo(rdt), { cmt: true, l3Cat: true, l2Cat: false, mba: true, source: 'cpuinfo' });
  assert.deepEqual(psrFromCpuinfo('processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor\n'), { cmt: false, l3Cat: false, l2Cat: false, mba: false, source: 'cpuinfo' });
  assert.deepEqual(psrFromCpuinfo(''), { cmt: false, l3Cat: false, l2Cat: false, mba: false, source: 'cpuinfo' });
});

test('resctrlMount() finds a resctrl mount (octal escapes undone); psrFromResctrl() reads its info directory', () => {
  assert.equal(resctrlMount('proc /proc proc rw 0 0\nresctrl /sys/fs/resctrl resctrl rw 0 0\n'), '/sys/fs/resctrl');
  assert.equal(resctrlMount('resctrl /mnt/my\\040rdt resctrl rw 0 0\n'), '/mnt/my rdt');
  assert.equal(resctrlMount('sysfs /sys sysfs rw 0 0\n'), undefined);
  const dir = mkdtempSync(join(tmpdir(), 'dom0-resctrl-'));
  try {
    assert.deepEqual(psrFromResctrl(dir), { cmt: false, l3Cat: false, l2Cat: false, mba: false, source: 'resctrl' });
    for (const d of ['L3CODE', 'L3DATA', 'MB', 'L3_MON']) mkdirSync(join(dir, 'info', d), { recursive: true });
    writeFileSync(join(dir, 'info', 'L3_MON', 'mon_features'), 'llc_occupancy\nmbm_total_bytes\n');
    assert.deepEqual(psrFromResctrl(dir), { cmt: true, l3Cat: true, l2Cat: false, mba: true, source: 'resctrl' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readPsrFeatures() on this host: "none" exactly when it found no feature', () => {
  const f = readPsrFeatures();
  assert.equal(f.source === 'none', !f.cmt && !f.l3Cat && !f.l2Cat && !f.mba);
});
