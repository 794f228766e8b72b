// Long and odd values in every kind of config field, through a real `xl create -p` against one
// dom0d: each create either works (the domain is then destroyed) or fails with Xen-style lines
// and a hint — never a stack trace, never "internal error", never dom0d gone — and leaves no
// domain, QEMU, run directory or xenstore node behind. Seeded: a failure names its seed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pidCmdline } from '../../src/host/index.js';
import { ensureGuests } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { rng } from '../support/rng.js';
import { alive, destroyHost, makeHost, readPid, xl } from './daemon-harness.js';
import type { TestHost } from './daemon-harness.js';

let host: TestHost;
let guests: GuestImages;

before(async () => {
  guests = ensureGuests();
  host = makeHost();
  assert.equal((await xl(host, 'list')).code, 0);
});

after(async () => {
  await destroyHost(host);
});

/** Text no field of ours may be shown in a failure (a bug's signature). */
const BUG = /internal error|\n\s+at |TypeError|RangeError|ReferenceError|dom0d closed the connection|ECONNRESET/;

/** Values with what breaks parsers: length, commas, brackets, quotes, escapes, NULs, Unicode. */
function oddValue(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const bits = ['a', ',', ',,', '[', ']', '"', "'", '\\\\', '\\n', '\\x00', ':', '=', ';', ' ', '/', '..', 'é', '😀', '$(id)', '%s', '-'];
  const len = pick([1, 3, 40, 300, 5000]);
  let s = '';
  while (s.length < len) s += r() < 0.7 ? pick(bits) : String.fromCharCode(97 + Math.floor(r() * 26));
  return s;
}

/** A config line setting `key` to `value` (an xl.cfg string literal, escapes kept as written). */
function line(key: string, value: string, list = false): string {
  const lit = `"${value.replaceAll('"', '\\"')}"`;
  return `${key} = ${list ? `[ ${lit} ]` : lit}`;
}

const STRING_KEYS = [
  'name', 'cmdline', 'extra', 'root', 'kernel', 'ramdisk', 'vnclisten', 'vncpasswd', 'keymap', 'uuid', 'on_crash', 'on_reboot',
  'bootloader', 'device_model_override', 'cpus', 'serial', 'boot', 'bios', 'seclabel', 'pool',
];
const LIST_KEYS = ['disk', 'vif', 'vfb', 'channel', 'pci', 'usbctrl', 'usbdev', 'smbios', 'cpuid', 'p9', 'vtpm', 'vkb'];
const NUMBER_KEYS = ['memory', 'maxmem', 'vcpus', 'maxvcpus', 'videoram', 'shadow_memory', 'rtc_timeoffset', 'max_grant_frames'];
const NUMBERS = ['0', '-1', '4294967296', '18446744073709551615', '99999999999999999999999', '0x7fffffff', '1e9'];

function caseConfig(seed: number): string {
  const r = rng(seed);
  const base = [
    `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 64',
    ...(r() < 0.3 ? ['type = "hvm"'] : []),
  ];
  const extra: string[] = [];
  for (let i = 0; i < 1 + Math.floor(r() * 3); i++) {
    const kind = r();
    if (kind < 0.5) extra.push(line(STRING_KEYS[Math.floor(r() * STRING_KEYS.length)] as string, oddValue(r)));
    else if (kind < 0.85) extra.push(line(LIST_KEYS[Math.floor(r() * LIST_KEYS.length)] as string, oddValue(r), true));
    else extra.push(`${NUMBER_KEYS[Math.floor(r() * NUMBER_KEYS.length)] as string} = ${NUMBERS[Math.floor(r() * NUMBERS.length)] as string}`);
  }
  // The name last but one wins only if not fuzzed: every case has a distinct fallback name.
  return [`name = "fz${seed}"`, ...base, ...extra].join('\n');
}

const CASES = Number(process.env.DOM0_FUZZ_CASES ?? 60);
const FIRST = Number(process.env.DOM0_FUZZ_FIRST_SEED ?? 1);

test(`xl create -p with long and odd values in every kind of field (${CASES} seeded cases): one clear failure or a domain, never a crash`, async () => {
  const dom0d = readPid(host) as number;
  let created = 0;
  for (let seed = FIRST; seed < FIRST + CASES; seed++) {
    const file = join(host.root, `fz${seed}.cfg`);
    writeFileSync(file, caseConfig(seed));
    const r = await xl(host, 'create', '-p', '-q', file);
    const what = `seed ${seed} (${file}): exit ${r.code}\n${r.err.slice(0, 2000)}`;
    assert.doesNotMatch(r.err, BUG, what);
    assert.ok(alive(dom0d), `dom0d died: ${what}`);
    if (r.code === 0) {
      created++;
      const list = JSON.parse((await xl(host, 'list', '--json')).out) as Array<{ domid: number }>;
      for (const d of list) if (d.domid !== 0) assert.equal((await xl(host, 'destroy', String(d.domid))).code, 0, what);
    } else {
      assert.ok([1, 2, 3, 6].includes(r.code ?? -1), what);
      assert.ok(r.err.trim() !== '', `a failure says why: ${what}`);
    }
    const left = JSON.parse((await xl(host, 'list', '--json')).out) as unknown[];
    assert.equal(left.length, 1, `only Domain-0 is left: ${what}`);
  }
  assert.equal(readPid(host), dom0d, 'the same dom0d served every case');
  assert.ok(existsSync(host.runDir));
  assert.deepEqual(existsSync(join(host.runDir, 'domains')) ? readdirSync(join(host.runDir, 'domains')) : [], [], 'no run directory left');
  const qemus = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && pidCmdline(Number(p))?.some((a) => a.includes(host.runDir)) === true);
  assert.deepEqual(qemus, [], 'no QEMU left');
  assert.ok(created > 0, 'some cases make a domain');
});

test('a cmdline too long for xenstore (5,000 characters) is one line naming it; dom0d keeps serving', async () => {
  const dom0d = readPid(host) as number;
  const file = join(host.root, 'long.cfg');
  writeFileSync(file, [
    'name = "long"', `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "console=hvc0 ${'x'.repeat(5000)}"`, 'memory = 64',
  ].join('\n'));
  const r = await xl(host, 'create', '-p', '-q', file);
  assert.equal(r.code, 3, r.err);
  assert.match(r.err, /^Creating domain 'long' failed: its cmdline \(\d+ bytes\) does not fit in xenstore's \/vm\/[0-9a-f-]+\/image\/cmdline\nhint: /);
  assert.equal(readPid(host), dom0d);
  assert.equal((await xl(host, 'list')).code, 0);
});
