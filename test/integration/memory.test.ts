// `xl mem-set` / `mem-max` on a real guest (QEMU, TCG) through `xl` and an autostarted dom0d. One
// PV guest (direct kernel boot, virtio balloon driver) started with memory=128, maxmem=256 is
// reused across the steps, in order: it starts ballooned down to 128 MiB (`xl list` shows what
// the guest's balloon reports); mem-set moves the guest's free memory down and up, with libxl's
// xenstore nodes; libxl's rules and xl's messages for bad sizes and limits; mem-max lowers and
// raises the static maximum (xenstore, the stored config); a size above the machine's RAM waits
// for the next boot, which has it; claim_mode refuses a domain the host cannot hold. Xenstore is
// read with Debian's xenstore-* clients.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { destroyDomains, destroyHost, makeHost, until, xlIn, xsRead as xsReadOn } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

let host: TestHost;
let guests: GuestImages;
let con: GuestConsole | undefined;
let dom = 0;

before(() => {
  guests = ensureGuests();
  host = makeHost();
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  writeFileSync(join(host.root, 'mem.cfg'), [
    'name = "mem"',
    `kernel = "${guests.vmlinuz}"`,
    `ramdisk = "${guests.initrd}"`,
    `cmdline = "${guests.pvCmdline}"`,
    'memory = 128',
    'maxmem = 256',
  ].join('\n'));
});

after(async () => {
  con?.close();
  await destroyDomains(host);
  await destroyHost(host);
});

async function ok(...args: string[]): Promise<Run> {
  const r = await xlIn(host, host.root, ...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

/** `xl ARGS` that must fail with `code` and exactly `lines` (then a hint when `hint`) on stderr. */
async function fails(args: readonly string[], lines: readonly (string | RegExp)[], hint = true, code = 1): Promise<void> {
  const r = await xlIn(host, host.root, ...args);
  assert.equal(r.code, code, `xl ${args.join(' ')}: ${r.err}`);
  assert.equal(r.out, '');
  const got = r.err.trimEnd().split('\n');
  assert.equal(got.length, lines.length + (hint ? 1 : 0), r.err);
  lines.forEach((l, i) => (typeof l === 'string' ? assert.equal(got[i], l) : assert.match(got[i] as string, l)));
  if (hint) assert.match(got[lines.length] as string, /^hint: /);
}

const xsRead = (path: string): string => xsReadOn(host, path);

/** The argv of the domain's QEMU, NUL-separated. */
function qemuCmdline(): string {
  const pid = readFileSync(join(host.runDir, 'domains', String(dom), 'qemu.pid'), 'utf8').trim();
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
}

/** The domain's memory as `xl list --json` shows it, KiB. */
async function listedKiB(): Promise<number> {
  const r = await ok('list', '--json', 'mem');
  return (JSON.parse(r.out) as Array<{ memKiB: number }>)[0]?.memKiB as number;
}

/** The guest's MemFree, KiB. */
async function guestFreeKiB(): Promise<number> {
  const r = await (con as GuestConsole).run('grep MemFree /proc/meminfo');
  return Number(/MemFree:\s+(\d+)/.exec(r.out)?.[1]);
}

async function boot(): Promise<void> {
  con?.close();
  con = await GuestConsole.connect(xsRead(`/local/domain/${dom}/console/tty`));
  await con.waitFor(GUEST_READY_LINE, { timeoutMs: 120_000 });
  await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
}

function storedMemory(out: string): { target: number; max: number } {
  const b = (JSON.parse(out) as Array<{ config: { b_info: { target_memkb: number; max_memkb: number } } }>)[0]?.config.b_info;
  return { target: b?.target_memkb as number, max: b?.max_memkb as number };
}

test('memory=128, maxmem=256: a 256 MiB machine ballooned down to 128 MiB before the guest runs; xl list shows what the balloon reports', async () => {
  await ok('create', 'mem.cfg');
  dom = Number((await ok('domid', 'mem')).out.trim());
  assert.match(qemuCmdline(), /\0size=(?:256M|262152K)\0/);
  await boot();
  assert.deepEqual([xsRead(`/local/domain/${dom}/memory/target`), xsRead(`/local/domain/${dom}/memory/static-max`)], ['131072', '262144']);
  await until('the balloon at 128 MiB', async () => (await listedKiB()) === 128 * 1024);
});

test('mem-set moves the guest\'s free memory and libxl\'s nodes; the stored config follows', async () => {
  const before = await guestFreeKiB();
  await ok('mem-set', 'mem', '96');
  await until('the balloon at 96 MiB', async () => (await listedKiB()) === 96 * 1024);
  const down = await guestFreeKiB();
  assert.ok(before - down >= 24 * 1024, `MemFree ${before} → ${down} KiB`);
  const uuid = xsRead(`/local/domain/${dom}/vm`).replace('/vm/', '');
  assert.deepEqual([xsRead(`/local/domain/${dom}/memory/target`), xsRead(`/vm/${uuid}/memory`)], ['98304', '96']);
  // Units as Xen reads them: none = MiB; one letter, any case.
  await ok('mem-set', String(dom), '229376K');
  await until('the balloon at 224 MiB', async () => (await listedKiB()) === 224 * 1024);
  const up = await guestFreeKiB();
  assert.ok(up - down >= 96 * 1024, `MemFree ${down} → ${up} KiB`);
  assert.deepEqual(storedMemory((await ok('list', '-l', 'mem')).out), { target: 224 * 1024, max: 256 * 1024 });
});

test('mem-set / mem-max refuse bad sizes and libxl\'s limits with xl\'s lines; nothing changes', async () => {
  await fails(['mem-set', 'mem', '64MB'], ['invalid memory size: 64MB']);
  await fails(['mem-set', 'mem', '0'], ['invalid memory size: 0']);
  await fails(['mem-set', 'mem', '300'], [/memory_dynamic_max must be less than or equal to memory_static_max/, `cannot set domid ${dom} dynamic max memory to : 300`]);
  await fails(['mem-max', 'mem', '192'], [/memory_static_max must be greater than or equal to memory_dynamic_max/, `cannot set domid ${dom} static max memory to : 192`]);
  await fails(['mem-set', 'nosuch', '64'], ['nosuch is an invalid domain identifier (rc=-6)'], false);
  const r = await xlIn(host, host.root, 'mem-set', 'mem');
  assert.equal(r.code, 2);
  assert.match(r.err, /^'xl mem-set' requires at least 2 arguments\./);
  assert.equal(xsRead(`/local/domain/${dom}/memory/target`), String(224 * 1024));
  assert.equal(await listedKiB(), 224 * 1024);
});

test('mem-max lowers and raises the static maximum; above the machine\'s RAM, mem-set waits for the next boot, which has it', async () => {
  await ok('mem-set', 'mem', '160');
  await ok('mem-max', 'mem', '192m');
  assert.equal(xsRead(`/local/domain/${dom}/memory/static-max`), String(192 * 1024));
  await fails(['mem-set', 'mem', '200'], [/memory_dynamic_max must be less than or equal to memory_static_max/, `cannot set domid ${dom} dynamic max memory to : 200`]);
  await ok('mem-max', 'mem', '1g');
  await fails(['mem-set', 'mem', '300'], [/its machine has 262144 KiB until it reboots/, `cannot set domid ${dom} dynamic max memory to : 300`]);
  assert.deepEqual(storedMemory((await ok('list', '-l', 'mem')).out), { target: 160 * 1024, max: 1024 * 1024 });
  // The guest reboots (a new domain, as in Xen): its machine has the new maximum, ballooned down to the target.
  const old = dom;
  (con as GuestConsole).send('reboot');
  await until('the domain restarted', async () => {
    const r = await xlIn(host, host.root, 'domid', 'mem');
    dom = r.code === 0 ? Number(r.out.trim()) : old;
    return dom !== old;
  });
  await until('its console', async () => {
    try {
      xsRead(`/local/domain/${dom}/console/tty`);
      return true;
    } catch {
      return false;
    }
  });
  await boot();
  assert.match(qemuCmdline(), /\0size=(?:1024M|1048584K)\0/);
  await until('the balloon at 160 MiB', async () => (await listedKiB()) === 160 * 1024);
  await ok('mem-set', 'mem', '300');
  await until('the balloon at 300 MiB', async () => (await listedKiB()) === 300 * 1024);
});

test('claim_mode (on by default): a domain the host cannot give its memory fails before anything is made; claim_mode=0 overcommits', async () => {
  const free = Number(/^free_memory\s+: (\d+)$/m.exec((await ok('info')).out)?.[1]);
  assert.ok(free > 1024, `free_memory ${free}`);
  const cfg = (name: string, mib: number): void => writeFileSync(join(host.root, `${name}.cfg`), [
    `name = "${name}"`, `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `memory = ${mib}`,
  ].join('\n'));
  cfg('big', free + 1024);
  await fails(['create', 'big.cfg'], ['Parsing config from big.cfg', new RegExp(`^Cannot create domain 'big': it needs ${free + 1024} MiB and the host has \\d+ MiB free for guests \\(claim_mode\\)$`)], true, 3);
  // Two that fit one at a time but not together: the second is refused while the first holds its memory.
  const part = Math.floor(free * 0.6);
  cfg('first', part);
  cfg('second', part);
  await ok('create', '-p', 'first.cfg');
  await fails(['create', '-p', 'second.cfg'], ['Parsing config from second.cfg', /^Cannot create domain 'second': it needs \d+ MiB and the host has \d+ MiB free for guests \(claim_mode\)$/], true, 3);
  assert.deepEqual((JSON.parse((await ok('list', '--json')).out) as Array<{ name: string }>).map((d) => d.name), ['Domain-0', 'mem', 'first']);
  mkdirSync(join(host.root, 'etc'), { recursive: true });
  writeFileSync(join(host.root, 'etc', 'xl.conf'), 'claim_mode = 0\n');
  try {
    await ok('create', '-p', 'second.cfg');
  } finally {
    rmSync(join(host.root, 'etc', 'xl.conf'));
  }
  await ok('destroy', 'first');
  await ok('destroy', 'second');
});
