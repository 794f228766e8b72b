import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isToolstackError } from '../common/index.js';
import { accelProbeImage, chooseAccel, isAccelSetting } from './accel.js';
import { hostCacheFile } from './host-cache.js';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, '..', '..', '..', 'src', 'qemu', 'accel-probe-guest.S');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'dom0-accel-'));
}

test('the embedded probe image is accel-probe-guest.S assembled', (t) => {
  const hasTools = ['as', 'ld'].every((b) => {
    try { execFileSync('which', [b], { stdio: 'ignore' }); return true; } catch { return false; }
  });
  if (!hasTools || !existsSync(source)) {
    t.skip('GNU as/ld or the source is not available');
    return;
  }
  const dir = tmp();
  try {
    execFileSync('as', ['--64', '-o', join(dir, 'p.o'), source]);
    execFileSync('ld', ['-Ttext=0xf0000', '--oformat=binary', '-e', '0xf0000', '-o', join(dir, 'p.bin'), join(dir, 'p.o')]);
    assert.ok(readFileSync(join(dir, 'p.bin')).equals(accelProbeImage()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the image is a 64 KiB BIOS whose reset vector jumps to the code', () => {
  const image = accelProbeImage();
  assert.equal(image.length, 65536);
  assert.deepEqual([...image.subarray(0xfff0, 0xfff5)], [0xea, 0, 0, 0, 0xf0]);
  assert.equal(image[0], 0xfa); // cli
});

test('setting tcg never probes; kvm without a usable device is a HOST_CAPABILITY error', async () => {
  const dir = tmp();
  try {
    assert.deepEqual(await chooseAccel({ stateDir: dir, setting: 'tcg' }),
      { accel: 'tcg', source: 'setting', reason: 'accel="tcg" in xl.conf' });
    await assert.rejects(chooseAccel({ stateDir: dir, setting: 'kvm', kvmDevice: join(dir, 'nokvm') }),
      (e: unknown) => isToolstackError(e, 'HOST_CAPABILITY') && /accel="kvm" is set but .*nokvm cannot be opened \(ENOENT\)/.test(e.message));
    const auto = await chooseAccel({ stateDir: dir, kvmDevice: join(dir, 'nokvm') });
    assert.equal(auto.accel, 'tcg');
    assert.match(auto.reason, /cannot be opened/);
    assert.equal(existsSync(hostCacheFile(dir, 'accel')), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a probe result is cached while the host key matches, probed again when it does not', async () => {
  const dir = tmp();
  try {
    // A regular file stands in for the KVM device (accessible, so "auto" probes); the probe is scripted.
    const dev = join(dir, 'kvm');
    writeFileSync(dev, '');
    let probes = 0;
    const probe = async () => {
      probes++;
      return { ok: false, reason: 'a test guest did not reach long mode within 5 ms', ms: 5 };
    };
    const first = await chooseAccel({ stateDir: dir, kvmDevice: dev, probe });
    assert.deepEqual(first, {
      accel: 'tcg', source: 'probe', reason: 'KVM is not usable: a test guest did not reach long mode within 5 ms', probeMs: 5,
    });
    const second = await chooseAccel({ stateDir: dir, kvmDevice: dev, probe });
    assert.deepEqual([second.accel, second.source, probes], ['tcg', 'cache', 1]);
    const file = hostCacheFile(dir, 'accel');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...doc, key: 'another-host' }));
    const third = await chooseAccel({ stateDir: dir, kvmDevice: dev, probe: async () => ({ ok: true, reason: 'ok', ms: 90 }) });
    assert.deepEqual([third.accel, third.source, third.probeMs], ['kvm', 'probe', 90]);
    assert.equal((await chooseAccel({ stateDir: dir, kvmDevice: dev, probe, refresh: true })).accel, 'tcg');
    assert.equal(probes, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('isAccelSetting', () => {
  assert.ok(isAccelSetting('auto') && isAccelSetting('kvm') && isAccelSetting('tcg'));
  assert.equal(isAccelSetting('xen'), false);
});
