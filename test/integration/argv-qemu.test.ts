// The argv builder against a real QEMU (TCG): a pv and an hvm config of the project's test guests
// are resolved, built with this host's probed capabilities and started detached. Each must come
// up (QMP `query-status` running), reach the guest's readiness line on the console the builder
// wired (pv: hvc0; hvm: serial='pty' = COM1), and report the guest's own power events as the
// lifecycle contract says: poweroff → SHUTDOWN guest-shutdown, reboot → SHUTDOWN guest-reset,
// QEMU staying (run state `shutdown`) until the supervisor quits it. No config value adds a QEMU
// option: a `vnclisten` carrying one is refused, and a plain IPv6 one gives QEMU's only TCP
// listener. Every QEMU is killed by pid at the end if still alive; the temp dir is removed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCfg, resolveDomainConfig } from '../../src/config/index.js';
import { killPid, pidState } from '../../src/host/index.js';
import { argvRequirements, buildQemuArgs, deviceModelBinary, launchQemu, probeCapabilities } from '../../src/qemu/index.js';
import type { QmpClient } from '../../src/qemu/index.js';
import type { ArgvCapabilities, ConsoleEndpoint, DomainRuntime } from '../../src/qemu/index.js';
import { ensureGuests, GuestConsole, GUEST_PROMPT, GUEST_READY_LINE } from '../support/guests.js';
import type { GuestImages } from '../support/guests.js';

let guests: GuestImages;
let caps: ArgvCapabilities;
let dir: string;
const pids = new Set<number>();

before(async () => {
  guests = ensureGuests();
  dir = mkdtempSync(join(tmpdir(), 'dom0-argv-it-'));
  caps = await probeCapabilities({ stateDir: join(dir, 'state') });
});

after(() => {
  for (const pid of pids) if (pidState(pid) === 'running') killPid(pid);
  rmSync(dir, { recursive: true, force: true });
});

interface Launched {
  readonly pid: number;
  readonly qmp: QmpClient;
  readonly consoles: Readonly<Record<string, ConsoleEndpoint>>;
}

/** Resolves `cfg`, builds its argv (consoles at sockets in the temp dir) and starts QEMU. */
async function launch(name: string, cfg: string, runtimeExtra: Pick<DomainRuntime, 'startPaused' | 'diskChains'> = {}): Promise<Launched> {
  const { config } = resolveDomainConfig(parseCfg(cfg, { source: `${name}.cfg` }));
  const consoles: Record<string, ConsoleEndpoint> = Object.fromEntries(argvRequirements(config, caps).consoles.map((c) => [
    c.id, { socket: join(dir, `${name}-${c.id}.sock`), logFile: join(dir, `${name}-${c.id}.log`) },
  ]));
  const runtime = { domid: 1, qmpSocket: join(dir, `${name}-qmp.sock`), pidFile: join(dir, `${name}.pid`), consoles, nics: [], ...runtimeExtra };
  const args = buildQemuArgs(config, { caps, accel: 'tcg', runtime });
  const logFile = join(dir, `${name}-qemu.log`);
  const { pid, qmp } = await launchQemu({
    binary: deviceModelBinary(config, caps), args, logFile, qmpSocket: runtime.qmpSocket, onSpawned: (c) => pids.add(c.pid),
  });
  return { pid, qmp, consoles };
}

interface Started {
  readonly qmp: QmpClient;
  readonly console: GuestConsole;
}

/** Launches `cfg` and connects its console `consoleId`, once the guest is ready on it. */
async function start(name: string, cfg: string, consoleId: string, runtimeExtra: Pick<DomainRuntime, 'diskChains'> = {}): Promise<Started> {
  const { qmp, consoles } = await launch(name, cfg, runtimeExtra);
  const endpoint = consoles[consoleId];
  assert.ok(endpoint !== undefined, `${name}: console ${consoleId} among ${Object.keys(consoles).join(', ')}`);
  assert.equal((await qmp.queryStatus()).status, 'running');
  const console = await GuestConsole.connect(endpoint.socket);
  await console.waitFor(GUEST_READY_LINE, { timeoutMs: 25_000 });
  await console.waitFor(GUEST_PROMPT, { timeoutMs: 5_000 });
  return { qmp, console };
}

/** Types `command` on the console; resolves with the SHUTDOWN event and the run state after it. */
async function guestPowerEvent(s: Started, command: string): Promise<{ reason: unknown; guest: unknown; status: string }> {
  const event = s.qmp.waitForEvent('SHUTDOWN', { timeoutMs: 10_000 });
  s.console.send(command);
  const data = (await event).data ?? {};
  return { reason: data['reason'], guest: data['guest'], status: (await s.qmp.queryStatus()).status };
}

async function quit(s: Started): Promise<void> {
  s.console.close();
  await s.qmp.execute('quit');
  await s.qmp.closed;
}

test('pv: direct kernel boot, console on hvc0, virtio disk named by vdev; poweroff is SHUTDOWN guest-shutdown', async () => {
  const s = await start('pv', [
    'name = "argv-pv"',
    `kernel = "${guests.vmlinuz}"`,
    `ramdisk = "${guests.initrd}"`,
    'cmdline = "panic=-1 no_timer_check quiet"',
    'memory = 128',
    `disk = [ 'format=raw, vdev=xvda, access=r, target=${guests.disk}' ]`,
  ].join('\n'), 'console0');
  const from = s.console.text.length;
  s.console.send('cat /run/console /sys/block/vda/serial');
  await s.console.waitFor(/hvc0\s+xvda/, { from, timeoutMs: 5_000 });
  assert.deepEqual(await guestPowerEvent(s, 'poweroff'), { reason: 'guest-shutdown', guest: true, status: 'shutdown' });
  await quit(s);
});

test('hvm: SeaBIOS boots a qcow2 overlay on IDE hda (boot="c"), serial pty on COM1; reboot is SHUTDOWN guest-reset', async () => {
  const overlay = join(dir, 'hvm-disk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', guests.disk, overlay]);
  // The header rewritten after the check names a file that is not there: QEMU opens the checked chain, not the header.
  execFileSync('qemu-img', ['rebase', '-q', '-u', '-F', 'raw', '-b', join(dir, 'not-checked.raw'), overlay]);
  const s = await start('hvm', [
    'name = "argv-hvm"',
    'type = "hvm"',
    'memory = 128',
    'boot = "c"',
    'serial = "pty"',
    'vnc = 0',
    `disk = [ 'format=qcow2, vdev=hda, access=rw, target=${overlay}' ]`,
  ].join('\n'), 'serial0', { diskChains: { hda: { backing: [{ path: guests.disk, format: 'raw', blockDevice: false }] } } });
  const nodes = await s.qmp.execute('query-named-block-nodes', { flat: true }) as Array<{ drv: string; file: string }>;
  assert.deepEqual(new Set(nodes.filter((n) => n.drv === 'file').map((n) => n.file)), new Set([overlay, guests.disk]));
  const from = s.console.text.length;
  s.console.send('cat /run/console');
  await s.console.waitFor('ttyS0', { from, timeoutMs: 5_000 });
  assert.deepEqual(await guestPowerEvent(s, 'reboot'), { reason: 'guest-reset', guest: true, status: 'shutdown' });
  await quit(s);
});

test('injection: vnclisten with an option after the address is refused; [::1] is then the one VNC listener', async () => {
  const cfg = (listen: string): string => [
    'name = "argv-vnc,debug-threads=off"', 'type = "hvm"', 'memory = 64', 'vnc = 1', `vnclisten = "${listen}"`,
  ].join('\n');
  await assert.rejects(launch('vnc-inject', cfg('[::1]:0,websocket=0.0.0.0')), { code: 'CFG_VALUE' });
  const { pid, qmp } = await launch('vnc', cfg('::1'), { startPaused: true });
  // A value inside an option string (here -name guest=) arrives whole, its comma escaped.
  assert.deepEqual(await qmp.execute('query-name'), { name: 'argv-vnc,debug-threads=off' });
  const vnc = await qmp.queryVnc();
  assert.equal(vnc.host, '::1');
  assert.equal(vnc.family, 'ipv6');
  const listening = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' }).split('\n')
    .filter((line) => line.includes(`pid=${pid},`)).map((line) => line.trim().split(/\s+/)[3]);
  assert.deepEqual(listening, [`[::1]:${vnc.service ?? ''}`]);
  await qmp.execute('quit');
  await qmp.closed;
});
