// vCPUs on a real guest (QEMU, TCG) through `xl` and an autostarted dom0d: `cpus=`/`cpus_soft=`
// applied at create, `vcpu-list` in Xen's columns, `vcpu-pin` (hard affinity read back from the
// vCPU threads' /proc/<qemu>/task/<tid>/status, soft affinity shown), `vcpu-set` by QEMU CPU
// hotplug (the guest's /sys/devices/system/cpu/online follows, both ways), the pins applied
// again by a dom0d restarted after `kill -9` (the threads' affinity reset behind its back
// meanwhile) and after a guest reboot (a new QEMU), and the error paths with xl's lines and
// statuses. One PV guest (2 of 3 vCPUs) boots twice (create, reboot). The host has at least two
// CPUs (0 and 1).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';
import { destroyHost, makeHost, readPid, waitGone, xlIn, xsRead as xsReadOn } from './daemon-harness.js';
import type { Run, TestHost } from './daemon-harness.js';

let host: TestHost;
let guests: GuestImages;
let con: GuestConsole | undefined;
let dom = 0;
const HEADER = 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)';
/** The host's online CPUs as the kernel lists them (`0-1`), their count, and a CPU id libxl's map of this host has but the host lacks. */
const ONLINE = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
const HOST_CPUS = Math.max(...ONLINE.split(/[,-]/).map(Number)) + 1;
const MISSING_CPU = Math.ceil(HOST_CPUS / 8) * 8 - 1 >= HOST_CPUS ? Math.ceil(HOST_CPUS / 8) * 8 - 1 : undefined;

before(() => {
  guests = ensureGuests();
  host = makeHost();
  host.env['XENSTORED_PATH'] = join(host.runDir, 'xenstored', 'socket');
  host.env['DOM0_RESTART_DELAY_MS'] = '100';
  writeFileSync(join(host.root, 'vc.cfg'), [
    'name = "vc"',
    `kernel = "${guests.vmlinuz}"`,
    `ramdisk = "${guests.initrd}"`,
    `cmdline = "${guests.pvCmdline}"`,
    'memory = 128',
    'vcpus = 2',
    'maxvcpus = 3',
    'cpus = ["1", "0"]',
    'cpus_soft = "0"',
  ].join('\n'));
});

after(async () => {
  con?.close();
  const r = await xlIn(host, host.root, 'list', '--json').catch(() => undefined);
  for (const d of r === undefined || r.code !== 0 ? [] : JSON.parse(r.out) as Array<{ domid: number }>) if (d.domid !== 0) await xlIn(host, host.root, 'destroy', String(d.domid));
  await destroyHost(host);
});

async function ok(...args: string[]): Promise<Run> {
  const r = await xlIn(host, host.root, ...args);
  assert.equal(r.code, 0, `xl ${args.join(' ')}: ${r.err}`);
  return r;
}

/** `xl ARGS` that ends with `code`, `out` on stdout and exactly `lines` on stderr (then a hint when `hint`). */
async function fails(args: readonly string[], lines: readonly (string | RegExp)[], o: { readonly hint?: boolean; readonly code?: number; readonly out?: string } = {}): Promise<void> {
  const r = await xlIn(host, host.root, ...args);
  assert.equal(r.code, o.code ?? 1, `xl ${args.join(' ')}: ${r.err}`);
  assert.equal(r.out, o.out ?? '');
  const got = r.err.trimEnd().split('\n');
  const hint = o.hint ?? true;
  assert.equal(got.length, lines.length + (hint ? 1 : 0), r.err);
  lines.forEach((l, i) => (typeof l === 'string' ? assert.equal(got[i], l) : assert.match(got[i] as string, l)));
  if (hint) assert.match(got[lines.length] as string, /^hint: /);
}

const xsRead = (path: string): string => xsReadOn(host, path);

function qemuPid(): number {
  return Number(readFileSync(join(host.runDir, 'domains', String(dom), 'qemu.pid'), 'utf8').trim());
}

/** Each vCPU thread of the domain's QEMU (named `CPU <n>/TCG`): its tid and Cpus_allowed_list, by vCPU. */
function vcpuThreads(): Map<number, { readonly tid: number; readonly allowed: string }> {
  const pid = qemuPid();
  const out = new Map<number, { tid: number; allowed: string }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const m = /^CPU (\d+)\//.exec(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8'));
    if (m === null) continue;
    const allowed = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))?.[1] ?? '';
    out.set(Number(m[1]), { tid: Number(tid), allowed });
  }
  return out;
}

/** The hard affinity of each vCPU thread, in vCPU order. */
function affinities(): string[] {
  return [...vcpuThreads()].sort(([a], [b]) => a - b).map(([, t]) => t.allowed);
}

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function boot(): Promise<void> {
  con?.close();
  con = await GuestConsole.connect(xsRead(`/local/domain/${dom}/console/tty`));
  await con.waitFor(GUEST_READY_LINE, { timeoutMs: 120_000 });
  await con.waitFor(GUEST_PROMPT, { timeoutMs: 10_000 });
}

/** The guest's online CPUs (the last line of the output: a console just connected replays what came before). */
async function guestOnline(): Promise<string> {
  return (await (con as GuestConsole).run('cat /sys/devices/system/cpu/online')).out.trim().split(/\r?\n/).pop() ?? '';
}

/** `xl vcpu-list vc`'s rows after the header, each split into its columns. */
async function rows(): Promise<string[][]> {
  const r = await ok('vcpu-list', 'vc');
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines[0], HEADER);
  return lines.slice(1).map((l) => l.split(/ +/));
}

test('cpus= / cpus_soft= at create: -smp with maxcpus, each vCPU thread pinned as listed; vcpu-list in Xen\'s columns', async () => {
  await ok('create', 'vc.cfg');
  dom = Number((await ok('domid', 'vc')).out.trim());
  assert.match(readFileSync(`/proc/${qemuPid()}/cmdline`, 'utf8'), /\0-smp\0cpus=2,maxcpus=3\0/);
  assert.deepEqual(affinities(), ['1', '0']);
  await boot();
  assert.equal(await guestOnline(), '0-1');
  const r = await ok('vcpu-list');
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines[0], HEADER);
  // Domain-0 first: one vCPU per host CPU, pinned there.
  assert.match(lines[1] as string, /^Domain-0 {29}0 {5}0 +\d+ {3}[r-][b-]- +\d+\.\d {2}\d+ \/ all$/);
  const mine = lines.filter((l) => l.startsWith('vc '));
  assert.equal(mine.length, 3);
  const id = String(dom).padStart(5);
  assert.match(mine[0] as string, new RegExp(`^vc {30} ${id} {5}0 {4}1 {3}[-r][-b]- +\\d+\\.\\d  1 / 0$`));
  assert.match(mine[1] as string, new RegExp(`^vc {30} ${id} {5}1 {4}0 {3}[-r][-b]- +\\d+\\.\\d  0 / 0$`));
  assert.equal(mine[2], `vc${' '.repeat(30)} ${id}     2    -   --p       0.0  all / 0`);
});

test('vcpu-pin: hard affinity on the thread, soft shown, both stored; -N prints the maps and changes nothing', async () => {
  await ok('vcpu-pin', 'vc', '0', '0');
  await ok('vcpu-pin', String(dom), '1', '1', '1');
  assert.deepEqual(affinities(), ['0', '1']);
  // The offline vCPU keeps its pin until it is plugged.
  await ok('vcpu-pin', 'vc', '2', '1');
  const r = await rows();
  assert.deepEqual(r.map((c) => c.slice(-3).join(' ')), ['0 / 0', '1 / 1', '1 / 0']);
  assert.deepEqual(r.map((c) => c[4]), [r[0]?.[4], r[1]?.[4], '--p']);
  assert.equal((await ok('-N', 'vcpu-pin', 'vc', 'all', '0-1,^0', '^1,0')).out, 'cpumap: 1 0\n');
  assert.equal((await ok('-N', 'vcpu-pin', 'vc', '0', '-')).out, 'cpumap: -\n');
  assert.deepEqual(affinities(), ['0', '1']);
  const b = (JSON.parse((await ok('list', '-l', 'vc')).out) as Array<{ config: { b_info: { vcpu_hard_affinity: number[][]; vcpu_soft_affinity: number[][] } } }>)[0]?.config.b_info;
  assert.deepEqual(b?.vcpu_hard_affinity.map((m) => m.join(',')), ['0', '1', '1']);
  assert.deepEqual(b?.vcpu_soft_affinity.map((m) => m.join(',')), ['0', '1', '0']);
});

test('vcpu-pin / vcpu-list errors: xl\'s lines and statuses, nothing changed', async () => {
  await fails(['vcpu-pin', 'vc', '0', '3-1'], ['Invalid pcpu range: 3-1.']);
  await fails(['vcpu-pin', 'vc', 'x', '0'], ['Error: Invalid argument x as VCPU.']);
  await fails(['vcpu-pin', '-f', 'vc', 'all', '0'], ["Error: --force and 'all' as VCPU not allowed."]);
  await fails(['vcpu-pin', 'vc', '5', '0'], [`libxl: error: libxl_sched.c:62:libxl__set_vcpuaffinity: Domain ${dom}:Setting vcpu affinity: Invalid argument`, "Could not set affinity for vcpu `5'."]);
  if (MISSING_CPU !== undefined) {
    // A CPU in libxl's byte-wide map of this host that the host lacks: Xen's EINVAL.
    await fails(['vcpu-pin', 'vc', '0', String(MISSING_CPU)], [`libxl: error: libxl_sched.c:62:libxl__set_vcpuaffinity: Domain ${dom}:Setting vcpu affinity: Invalid argument`, "Could not set affinity for vcpu `0'."]);
    // `all` failing is reported per vCPU, and xl exits 0.
    const all = await xlIn(host, host.root, 'vcpu-pin', 'vc', 'all', String(MISSING_CPU));
    assert.equal(all.code, 0, all.err);
    const lines = all.err.trimEnd().split('\n');
    assert.equal(lines.filter((l) => l.includes('Setting vcpu affinity: Invalid argument')).length, 3);
    assert.deepEqual(lines.filter((l) => l.startsWith('libxl: warning:')), [0, 1, 2].map((i) => `libxl: warning: libxl_sched.c:124:libxl_set_vcpuaffinity_all: Domain ${dom}:Failed to set affinity for ${i}`));
    assert.equal(lines.at(-1), 'Could not set affinity.');
  }
  await fails(['vcpu-pin', 'nosuch', '0', '0'], ['nosuch is an invalid domain identifier (rc=-6)']);
  await fails(['vcpu-pin', '99', '0', '0'], ['libxl: error: libxl_domain.c:356:libxl_domain_info: Domain 99:Getting domain info: No such process', 'Could not get domain info'], { hint: false });
  await fails(['vcpu-list', 'nosuch'], ['nosuch is an invalid domain identifier (rc=-6)'], { hint: false, out: `${HEADER}\n` });
  const gone = await xlIn(host, host.root, 'vcpu-list', '99', 'vc');
  assert.equal(gone.code, 0);
  assert.equal(gone.err, 'libxl: error: libxl_domain.c:1671:libxl_list_vcpu: Domain 99:Getting dominfo: No such process\n');
  assert.equal(gone.out.split('\n').filter((l) => l.startsWith('vc ')).length, 3);
  assert.deepEqual(affinities(), ['0', '1']);
});

test('vcpu-set: the guest sees vCPUs plugged (with their stored pin) and taken back; xl list, the stored config and xenstore follow', async () => {
  if (HOST_CPUS < 3) await fails(['vcpu-set', 'vc', '3'], [`You are overcommmitting! You have ${HOST_CPUS} physical CPUs and want 3 vCPUs! Aborting, use --ignore-host to continue`]);
  await fails(['vcpu-set', '-i', 'vc', '4'], [`libxl: error: libxl_domain.c:1873:libxl_set_vcpuonline: Domain ${dom}:Requested 4 VCPUs, however maxcpus is 3!`, `libxl_set_vcpuonline failed domid=${dom} max_vcpus=4, rc: -3`]);
  await fails(['vcpu-set', 'vc', '0'], [`libxl: error: libxl_domain.c:1867:libxl_set_vcpuonline: Domain ${dom}:Requested 0 VCPUs!`, `libxl_set_vcpuonline failed domid=${dom} max_vcpus=0, rc: -3`]);
  await fails(['vcpu-set', 'vc', 'x'], ['Error: Invalid argument.']);
  await fails(['vcpu-set', 'nosuch', '1'], ['nosuch is an invalid domain identifier (rc=-6)']);
  await ok('vcpu-set', '-i', 'vc', '3');
  await until('the guest onlines vCPU 2', async () => (await guestOnline()) === '0-2');
  assert.deepEqual(affinities(), ['0', '1', '1']);
  assert.deepEqual((await rows()).map((c) => c[4] === '-'), [false, false, false]);
  assert.match((await ok('list', 'vc')).out.split('\n')[1] as string, /^vc +\d+ +128 +3 /);
  assert.equal(xsRead(`/local/domain/${dom}/cpu/2/availability`), 'online');
  await ok('vcpu-set', 'vc', '1');
  assert.equal(await guestOnline(), '0');
  assert.deepEqual(affinities(), ['0']);
  const after = await rows();
  assert.notEqual(after[0]?.[3], '-');
  assert.deepEqual(after.slice(1).map((c) => `${c[3] ?? ''} ${c[4] ?? ''}`), ['- --p', '- --p']);
  assert.deepEqual([1, 2].map((i) => xsRead(`/local/domain/${dom}/cpu/${i}/availability`)), ['offline', 'offline']);
  if (/^accelerator\s+: tcg /m.test((await ok('info')).out)) {
    // QEMU 7.2 under TCG dies plugging a vCPU after it unplugged one: refused until the next boot, nothing changes.
    await fails(['vcpu-set', 'vc', '2'], [
      new RegExp(`^Cannot plug vCPU\\(s\\) 1 into domain ${dom}: its machine has unplugged a vCPU, and QEMU under TCG crashes when it plugs one after that$`),
      `libxl_set_vcpuonline failed domid=${dom} max_vcpus=2, rc: -3`,
    ]);
    // So it dies saving (or migrating) such a machine: the domain was lost. Refused; it runs on.
    const save = await xlIn(host, host.root, 'save', '-c', 'vc', 'vc.save');
    assert.equal(save.code, 1, save.err);
    assert.match(save.err, /^Cannot save domain 'vc': its machine has unplugged a vCPU \(xl vcpu-set\), and QEMU under TCG crashes saving such a machine\nhint: /m);
    assert.equal(existsSync(join(host.root, 'vc.save')), false);
    // xl migrate says so before its transport runs (before, after the receiver had made its domain).
    const marker = join(host.root, 'receiver-ran');
    const migrate = await xlIn(host, host.root, 'migrate', '-s', '', 'vc', `touch ${marker}`);
    assert.equal(migrate.code, 1, migrate.err);
    assert.match(migrate.err, /^Cannot migrate domain 'vc': its machine has unplugged a vCPU \(xl vcpu-set\), and QEMU under TCG crashes /);
    assert.equal(existsSync(marker), false, 'the transport never ran');
    assert.equal(await guestOnline(), '0');
  } else {
    await ok('vcpu-set', 'vc', '2');
    await until('the guest onlines vCPU 1', async () => (await guestOnline()) === '0-1');
    await ok('vcpu-set', 'vc', '1');
  }
  assert.deepEqual(affinities(), ['0']);
  assert.equal(await guestOnline(), '0');
  const b = (JSON.parse((await ok('list', '-l', 'vc')).out) as Array<{ config: { b_info: { avail_vcpus: number[] } } }>)[0]?.config.b_info;
  assert.deepEqual(b?.avail_vcpus, [0]);
});

test('a dom0d restarted after kill -9 pins the vCPU threads again', async () => {
  const pid = readPid(host) as number;
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
  // Behind dom0d's back, every vCPU thread may run anywhere again.
  for (const { tid } of vcpuThreads().values()) execFileSync('taskset', ['-p', '-c', ONLINE, String(tid)], { stdio: 'ignore' });
  assert.deepEqual(affinities(), [ONLINE]);
  await ok('list');
  assert.deepEqual(affinities(), ['0']);
  // The console went with the old dom0d: the new one serves it again.
  con?.close();
  con = await GuestConsole.connect(xsRead(`/local/domain/${dom}/console/tty`));
  assert.equal(await guestOnline(), '0');
});

test('a guest reboot (a new QEMU) boots with the vCPUs and pins the domain has now', async () => {
  const old = dom;
  (con as GuestConsole).send('reboot');
  await until('the domain restarted', async () => {
    const r = await xlIn(host, host.root, 'domid', 'vc');
    dom = r.code === 0 ? Number(r.out.trim()) : old;
    return dom !== old;
  });
  // Running: its vCPUs were pinned before they first ran.
  await until('it runs', async () => (JSON.parse((await ok('list', '--json', String(dom))).out) as Array<{ state: string }>)[0]?.state === 'running');
  assert.match(readFileSync(`/proc/${qemuPid()}/cmdline`, 'utf8'), /\0-smp\0cpus=1,maxcpus=3\0/);
  assert.deepEqual(affinities(), ['0']);
  await boot();
  assert.equal(await guestOnline(), '0');
  assert.deepEqual((await rows()).map((c) => c.slice(-3).join(' ')), ['0 / 0', '1 / 1', '1 / 0']);
  // A new machine can be given vCPUs again; each gets its stored pin.
  await ok('vcpu-set', 'vc', '2');
  await until('the guest onlines vCPU 1', async () => (await guestOnline()) === '0-1');
  assert.deepEqual(affinities(), ['0', '1']);
});
