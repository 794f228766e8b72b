// Boots each test guest under TCG through the QMP client: pv-style direct kernel boot (console
// hvc0, virtio disk and nic), the hvm disk through SeaBIOS (`boot="c"`), the hvm ISO as a cdrom
// (`boot="dc"`). Each: the readiness line, the console takes input, system_powerdown makes QEMU
// exit. Plus reboot and panic from the console, and the accelerator probe. Every QEMU is killed
// by pid at the end if still alive.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killPid, pidCmdline, pidState, waitForPidExit } from '../../src/host/index.js';
import {
  chooseAccel, launchQemu, probeCapabilities, qmpMonitorArgs, resolveQemuBinary, runAccelProbe, hasDevice, hasMachine, type QmpClient, type QmpEvent,
} from '../../src/qemu/index.js';
import {
  ensureGuests, GuestConsole, GUEST_POWEROFF_LINE, GUEST_PROMPT, GUEST_READY_LINE, type GuestImages,
} from '../support/guests.js';

let guests: GuestImages;
let dir: string;
const pids = new Set<number>();

before(() => {
  guests = ensureGuests();
  dir = mkdtempSync(join(tmpdir(), 'dom0-guests-'));
});

after(() => {
  for (const pid of pids) if (pidState(pid) === 'running') killPid(pid);
  rmSync(dir, { recursive: true, force: true });
});

interface Running {
  readonly pid: number;
  readonly qmp: QmpClient;
  readonly console: GuestConsole;
  readonly startedAt: number;
  readonly events: QmpEvent[];
}

/** Starts QEMU detached with a QMP socket and the console chardev `con0` on a Unix socket. */
async function start(name: string, args: readonly string[], accel: 'tcg' | 'kvm' = 'tcg'): Promise<Running> {
  const qmpSock = join(dir, `${name}.qmp`);
  const conSock = join(dir, `${name}.con`);
  const log = join(dir, `${name}.log`);
  const startedAt = Date.now();
  const { pid, qmp } = await launchQemu({
    binary: 'qemu-system-x86_64',
    args: [
      '-nodefaults', '-no-user-config', '-display', 'none', '-m', '128', '-accel', accel === 'tcg' ? 'tcg,tb-size=32' : 'kvm',
      '-chardev', `socket,id=con0,path=${conSock},server=on,wait=off,logfile=${join(dir, `${name}.console.log`)}`,
      ...qmpMonitorArgs(qmpSock),
      ...args,
    ],
    logFile: log,
    pidFile: join(dir, `${name}.pid`),
    qmpSocket: qmpSock,
  });
  pids.add(pid);
  const events: QmpEvent[] = [];
  qmp.onEvent('*', (e) => events.push(e));
  const console = await GuestConsole.connect(conSock);
  return { pid, qmp, console, startedAt, events };
}

/** Readiness, then a command typed on the console is echoed and run. Returns boot-to-ready ms. */
async function readyAndInteractive(g: Running, command: string, expect: RegExp): Promise<number> {
  await g.console.waitFor(GUEST_PROMPT, { timeoutMs: 90_000 });
  const ms = Date.now() - g.startedAt;
  assert.match(g.console.text, new RegExp(`^${GUEST_READY_LINE}\\r?$`, 'm'));
  const from = g.console.text.length;
  g.console.send(command);
  const out = await g.console.waitFor(new RegExp(`${expect.source}[\\s\\S]*${GUEST_PROMPT}`), { from, timeoutMs: 20_000 });
  assert.ok(out.slice(from).includes(command), 'the console echoes input');
  return ms;
}

/** ACPI power button → the guest powers off → SHUTDOWN event, QMP closes, the pid is gone. */
async function powerdown(g: Running): Promise<void> {
  const shutdown = g.qmp.waitForEvent('SHUTDOWN', { timeoutMs: 20_000 });
  await g.qmp.systemPowerdown();
  const e = await shutdown;
  assert.equal(e.data['reason'], 'guest-shutdown');
  await g.console.waitFor(GUEST_POWEROFF_LINE, { timeoutMs: 5000 });
  assert.equal((await g.qmp.closed).reason, 'eof');
  assert.equal(await waitForPidExit(g.pid, 5000), true);
}

describe('test guests under TCG', { concurrency: 3 }, () => {
  it('pv: direct kernel boot, console hvc0, virtio disk and nic, powerdown', async (t) => {
    const disk = join(dir, 'pv-disk.raw');
    writeFileSync(disk, '');
    truncateSync(disk, 8 << 20);
    const g = await start('pv', [
      '-machine', 'pc', '-kernel', guests.vmlinuz, '-initrd', guests.initrd,
      '-append', guests.pvCmdline,
      '-device', 'virtio-serial-pci', '-device', 'virtconsole,chardev=con0',
      '-drive', `file=${disk},format=raw,if=none,id=d0`, '-device', 'virtio-blk-pci,drive=d0,id=xvda',
      '-netdev', 'user,id=n0,restrict=on', '-device', 'virtio-net-pci,netdev=n0,id=vif0',
    ]);
    const ms = await readyAndInteractive(g, 'ls /sys/block /sys/class/net', /vda[\s\S]*eth0/);
    t.diagnostic(`pv boot to ready: ${ms} ms`);
    assert.equal((await g.qmp.queryStatus()).status, 'running');
    await powerdown(g);
  });

  it('hvm disk: SeaBIOS boots SYSLINUX from the IDE disk (boot="c"), powerdown', async (t) => {
    const g = await start('hvmdisk', [
      '-machine', 'pc', '-serial', 'chardev:con0',
      '-drive', `file=${guests.disk},format=raw,if=ide,index=0,snapshot=on`, '-boot', 'order=c',
    ]);
    const ms = await readyAndInteractive(g, 'cat /proc/cmdline; ls /sys/block', /BOOT_IMAGE=\/vmlinuz[\s\S]*sda/);
    t.diagnostic(`hvm disk boot to ready: ${ms} ms`);
    await powerdown(g);
  });

  it('hvm ISO: SeaBIOS boots ISOLINUX from the cdrom hdc (boot="dc"), powerdown', async (t) => {
    const blank = join(dir, 'blank.raw');
    writeFileSync(blank, '');
    truncateSync(blank, 4 << 20);
    const g = await start('hvmiso', [
      '-machine', 'pc', '-serial', 'chardev:con0',
      '-drive', `file=${blank},format=raw,if=ide,index=0`,
      '-drive', `file=${guests.cdrom},format=raw,if=ide,index=2,media=cdrom,readonly=on`, '-boot', 'order=dc',
    ]);
    const ms = await readyAndInteractive(g, 'ls /sys/block', /sda[\s\S]*sr0/);
    t.diagnostic(`hvm ISO boot to ready: ${ms} ms`);
    await powerdown(g);
  });
});

describe('guest commands', () => {
  it('pvh boot of vmlinux; reboot resets the machine (ready again), panic is reported by pvpanic and QEMU exits', async () => {
    const g = await start('cmds', [
      '-machine', 'pc', '-kernel', guests.vmlinux, '-initrd', guests.initrd,
      '-append', guests.pvCmdline.replace('console=hvc0', 'console=ttyS0'), '-serial', 'chardev:con0', '-device', 'pvpanic',
    ]);
    await g.console.waitFor(GUEST_PROMPT, { timeoutMs: 90_000 });
    const reset = g.qmp.waitForEvent('RESET', { timeoutMs: 10_000 });
    let from = g.console.text.length;
    g.console.send('reboot');
    assert.equal((await reset).data['guest'], true);
    await g.console.waitFor(GUEST_READY_LINE, { from, timeoutMs: 90_000 });
    await g.console.waitFor(GUEST_PROMPT, { from, timeoutMs: 10_000 });
    const panicked = g.qmp.waitForEvent('GUEST_PANICKED', { timeoutMs: 10_000 });
    from = g.console.text.length;
    g.console.send('panic');
    await panicked;
    assert.equal((await g.qmp.closed).reason, 'eof');
    assert.equal(await waitForPidExit(g.pid, 5000), true);
    assert.deepEqual(g.events.filter((e) => e.event === 'SHUTDOWN').map((e) => e.data['reason']), ['guest-panic']);
  });
});

describe('host probes', () => {
  it('the accelerator probe answers within its deadline; KVM only where a guest really runs', async (t) => {
    const stateDir = join(dir, 'state');
    const started = Date.now();
    const choice = await chooseAccel({ stateDir, refresh: true });
    const ms = Date.now() - started;
    t.diagnostic(`accel probe: ${choice.accel} (${choice.reason}) in ${ms} ms`);
    assert.ok(ms < 4000, `the probe took ${ms} ms`);
    const cached = await chooseAccel({ stateDir });
    // A host without a usable /dev/kvm is told apart without a probe, so nothing is cached.
    const noDevice = /cannot be opened/.test(choice.reason);
    assert.deepEqual([cached.accel, cached.source], [choice.accel, noDevice ? 'probe' : 'cache']);
    // The probe guest itself runs (under TCG), so a "tcg" answer is about KVM, not the probe.
    const tcg = await runAccelProbe(resolveQemuBinary(), 5000, 'tcg');
    assert.equal(tcg.ok, true, tcg.reason);
    t.diagnostic(`probe guest under TCG: ${tcg.ms} ms`);
    if (choice.accel === 'kvm') {
      // Where the probe says KVM, a real kernel must boot under it.
      const g = await start('kvm', [
        '-machine', 'pc', '-kernel', guests.vmlinuz, '-initrd', guests.initrd,
        '-append', guests.pvCmdline.replace('console=hvc0', 'console=ttyS0'), '-serial', 'chardev:con0',
      ], 'kvm');
      await g.console.waitFor(GUEST_PROMPT, { timeoutMs: 30_000 });
      await powerdown(g);
    }
  });

  it('a probe whose caller dies leaves no QEMU behind after its deadline', async () => {
    const probeTmp = join(dir, 'orphan-probe');
    mkdirSync(probeTmp);
    const module = new URL('../../src/qemu/index.js', import.meta.url).href;
    const script = `import(${JSON.stringify(module)}).then((m) => m.runAccelProbe(${JSON.stringify(resolveQemuBinary())}, 1000));` +
      'setTimeout(() => process.exit(0), 300);';
    execFileSync(process.execPath, ['-e', script], { env: { ...process.env, TMPDIR: probeTmp } });
    const leftovers = (): number[] => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number)
      .filter((p) => (pidCmdline(p) ?? []).some((a) => a.startsWith(probeTmp)));
    const deadline = Date.now() + 3000;
    while (leftovers().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const left = leftovers();
    for (const p of left) killPid(p);
    assert.deepEqual(left, []);
  });

  it('the capability probe lists what the argv builder needs, and caches it', async () => {
    const stateDir = join(dir, 'state');
    const caps = await probeCapabilities({ stateDir, refresh: true });
    assert.ok(caps.version.major >= 7);
    for (const m of ['pc', 'q35', 'microvm']) assert.ok(hasMachine(caps, m), m);
    for (const d of ['virtio-blk-pci', 'virtio-net-pci', 'virtconsole', 'rtl8139', 'e1000', 'pvpanic', 'virtio-blk']) {
      assert.ok(hasDevice(caps, d), d);
    }
    assert.ok(caps.accelerators.includes('tcg'));
    assert.deepEqual(await probeCapabilities({ stateDir }), caps);
  });
});
