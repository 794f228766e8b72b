// The four configs of the article the product is built from (examples/article/), saved exactly
// as printed there, resolve to the values their text says.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { machine } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { rawCfgSettings, readCfgFile } from '../../src/config/index.js';
import type { RawCfgValue } from '../../src/config/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DIR = join(ROOT, 'examples', 'article');
const ARTICLE = join(ROOT, '..', 'shared', 'seed', '000_56fd39a385c080e7.txt');

function settings(name: string): { values: Record<string, RawCfgValue>; warnings: readonly string[] } {
  const doc = readCfgFile(join(DIR, name));
  return { values: Object.fromEntries(rawCfgSettings(doc).map((s) => [s.name, s.value])), warnings: doc.warnings };
}

test('windows.cfg (xl syntax) resolves to its text', () => {
  const { values, warnings } = settings('windows.cfg');
  assert.deepEqual(warnings, []);
  assert.deepEqual(values, {
    memory: '4096', vcpus: '4', name: 'WindowsVM', kernel: '/usr/lib/xen-4.X/boot/hvmloader', builder: 'hvm',
    device_model_version: 'qemu-xen', vif: ['bridge=xenbr0'], disk: ['phy:/dev/vg0/windows,hda,w', 'file:/media/windows.iso,hdc:cdrom,r'],
    boot: 'dc', acpi: '1', sdl: '0', serial: 'pty', vnc: '1', vnclisten: '0.0.0.0',
  });
});

test('freebsd.cfg (multi-line disk list) resolves to its text', () => {
  const { values, warnings } = settings('freebsd.cfg');
  assert.deepEqual(warnings, []);
  assert.deepEqual(values, {
    memory: '2048', vcpu: '4', name: 'FreeBSDVM', builder: 'hvm', kernel: 'hvmloader', boot: 'c',
    vif: ['mac=00:16:3E:01:AB:23, bridge=xenbr0'],
    disk: ['tap:qcow2:/media/vm_image.img, xvda, w', 'file:/media/FreeBSD-10.2-RELEASE-amd64-disc1.iso,hdb:cdrom,r'],
    vnc: '1', vnclisten: '0.0.0.0',
  });
});

test('linux-debug.cfg resolves to its text', () => {
  const { values, warnings } = settings('linux-debug.cfg');
  assert.deepEqual(warnings, []);
  assert.deepEqual(values, {
    memory: '4096', vcpu: '2', name: 'LinuxVM', builder: 'hvm', boot: 'c', vif: ['mac=00:16:3E:01:AB:23,bridge=xenapi'],
    disk: ['tap:qcow2:/media/debian_amd64_standard.qcow2,xvda,w'], vnc: '1', vnclisten: '0.0.0.0',
  });
});

test('legacy-xm-hvm.cfg (Python) is evaluated with this host\'s uname, with a warning', () => {
  const { values, warnings } = settings('legacy-xm-hvm.cfg');
  const arch = machine();
  const libdir = /64/.test(arch) ? 'lib64' : 'lib';
  assert.deepEqual(values, {
    arch, arch_libdir: libdir, kernel: '/usr/lib/xen/boot/hvmloader', builder: 'hvm', memory: '128', name: 'ExampleHVMDomain',
    vif: ['type=ioemu, bridge=xenbr0'], disk: ['file:/var/images/min-el3-i386.img,hda,w', ',hdc:cdrom,r'],
    device_model: `/usr/${libdir}/xen/bin/qemu-dm`, sdl: '0', vnc: '1', vncpasswd: '', stdvga: '0', serial: 'pty',
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /warning: legacy xm \(Python\) config.*\(import os, re; os\.uname\(\); if\/else; re\.search; string \+\)$/);
});

test('the examples are byte-for-byte the article\'s blocks', { skip: !existsSync(ARTICLE) && 'article not present' }, () => {
  const article = readFileSync(ARTICLE, 'utf8');
  const blocks = [...article.matchAll(/\{% highlight bash %\}\n([\s\S]*?)\{% endhighlight %\}/g)].map((m) => m[1]);
  for (const name of ['legacy-xm-hvm.cfg', 'windows.cfg', 'freebsd.cfg', 'linux-debug.cfg']) {
    assert.ok(blocks.includes(readFileSync(join(DIR, name), 'utf8')), `${name} differs from the article`);
  }
});
