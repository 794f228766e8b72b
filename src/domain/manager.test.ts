import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { isToolstackError, ToolstackError } from '../common/index.js';
import type { DomainConfig } from '../config/index.js';
import type { CheckedChain, DomainDriver } from './driver.js';
import { ProcessOnlyDriver } from './driver.js';
import { DomainManager } from './manager.js';
import { preservedName } from './policy.js';
import type { DomainDevice } from './devices.js';
import type { DomainRecord, DomainRecordPatch, NewDomain } from './record.js';
import type { DeviceXenstoreInfo } from './xenstore-layout.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-manager-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dir = (): string => join(root, `d${++n}`);
const dom = (name: string): NewDomain => ({ config: { c_info: { name } } });

/** Records the driver calls in order; the machine is imaginary (an edge-case fake). */
class RecordingDriver extends ProcessOnlyDriver implements DomainDriver {
  readonly calls: string[] = [];
  override start(r: DomainRecord): Promise<{ qemuPid: null; qmpSocket: string }> {
    this.calls.push(`start ${r.name}`);
    return Promise.resolve({ qemuPid: null, qmpSocket: `/q/${r.domid}` });
  }
  override async pause(r: DomainRecord): Promise<void> {
    this.calls.push(`pause ${r.name}`);
    await new Promise((res) => setTimeout(res, 5));
  }
  override unpause(r: DomainRecord): Promise<void> {
    this.calls.push(`unpause ${r.name}`);
    return Promise.resolve();
  }
}

test('create() starts paused, then runs; pause/unpause go through the driver in job order', async () => {
  const driver = new RecordingDriver();
  const m = await DomainManager.open({ domainsDir: dir(), driver });
  const rec = await m.create(dom('g'));
  assert.equal(rec.state, 'running');
  assert.equal(rec.qmpSocket, '/q/1');
  assert.ok(rec.startTime !== null);
  const [p, u] = await Promise.all([m.pause(rec.domid), m.unpause(rec.domid)]);
  assert.deepEqual([p.state, u.state], ['paused', 'running']);
  assert.deepEqual(driver.calls, ['start g', 'unpause g', 'pause g', 'unpause g']);
  await assert.rejects(m.unpause(rec.domid), (e: unknown) => isToolstackError(e, 'DOMAIN_STATE'));
});

test('a shutdown asked of a paused domain leaves it paused (its guest acts once unpaused); a running one is shutting down', async () => {
  const driver = new RecordingDriver();
  driver.shutdown = (r: DomainRecord): Promise<void> => {
    driver.calls.push(`shutdown ${r.name}`);
    return Promise.resolve();
  };
  const m = await DomainManager.open({ domainsDir: dir(), driver });
  const rec = await m.create(dom('g'));
  await m.pause(rec.domid);
  // Before, it went to shutting-down: listed as running, and no unpause could run it again.
  assert.equal((await m.shutdown(rec.domid)).state, 'paused');
  assert.equal((await m.unpause(rec.domid)).state, 'running');
  assert.equal((await m.shutdown(rec.domid)).state, 'shutting-down');
  assert.deepEqual(driver.calls.filter((c) => c.startsWith('shutdown')), ['shutdown g', 'shutdown g']);
});

test('a failed start leaves nothing behind and frees the name', async () => {
  const m = await DomainManager.open({ domainsDir: dir() });
  await assert.rejects(m.create(dom('g')), (e: unknown) => isToolstackError(e, 'NOT_SUPPORTED'));
  assert.equal(m.registry.size, 0);
  assert.equal((await m.register(dom('g'))).domid, 2);
});

test('a config the engine cannot run is refused before anything is stored or reserved for it', async () => {
  class Limited extends RecordingDriver {
    checkConfig(config: DomainConfig): void {
      if ((config.b_info?.max_vcpus ?? 1) > 255) throw new ToolstackError('CFG_VALUE', 'too many vCPUs');
    }
  }
  const driver = new Limited();
  const domainsDir = dir();
  const m = await DomainManager.open({ domainsDir, driver });
  await assert.rejects(m.create({ config: { c_info: { name: 'g' }, b_info: { max_vcpus: 1 << 20 } } }), (e: unknown) => isToolstackError(e, 'CFG_VALUE'));
  assert.deepEqual(driver.calls, []);
  assert.equal(m.registry.size, 0);
  assert.equal((await m.create(dom('g'))).domid, 1, 'no domid was taken');
});

test('resolve() takes a domid or a name, failing as xl find_domain does', async () => {
  const m = await DomainManager.open({ domainsDir: dir() });
  await m.register(dom('web'));
  assert.equal(m.resolve('1').name, 'web');
  assert.equal(m.resolve('web').domid, 1);
  assert.throws(() => m.resolve('nope'), (e: unknown) =>
    isToolstackError(e, 'DOMAIN_NOT_FOUND') && e.lines?.[0] === 'nope is an invalid domain identifier (rc=-6)');
  assert.throws(() => m.resolve('9'), (e: unknown) => isToolstackError(e, 'DOMAIN_NOT_FOUND'));
});

test('adoptAll() keeps live domains, marks dead machines crashed, finishes half-done creates', async () => {
  const d = dir();
  const m = await DomainManager.open({ domainsDir: d });
  await m.register(dom('alive'));
  const dead = await m.register(dom('dead'));
  await m.registry.update(dead.domid, { qemuPid: 2 ** 22 + 7 });
  await m.registry.reserve(dom('half'));
  await m.registry.flush();
  const again = await DomainManager.open({ domainsDir: d });
  assert.deepEqual(await again.adoptAll(), { adopted: 1, crashed: 1, removed: 1, restarts: 0, recovered: 0 });
  assert.deepEqual(again.registry.list().map((r) => [r.domid, r.name, r.state, r.shutdownReason]), [
    [1, 'alive', 'running', null],
    [2, 'dead', 'shutdown', 'crash'],
  ]);
  await again.destroy(2);
  assert.equal(again.registry.size, 1);
});

test('adoptAll() finishes an attach a killed dom0d left: a device the guest connected is kept, any other taken out', async () => {
  const d = dir();
  const m = await DomainManager.open({ domainsDir: d });
  const rec = await m.register({ config: { c_info: { name: 'g' }, disks: [{ vdev: 'xvda', pdev_path: '/a.img' }] } });
  const disk = (vdev: string): { vdev: string; pdev_path: string } => ({ vdev, pdev_path: `/${vdev}.img` });
  await m.registry.attaching(rec.domid, { ...rec.config, disks: [disk('xvda'), disk('xvdb'), disk('xvdc')] });
  await m.registry.flush();
  class Hotplug extends ProcessOnlyDriver implements DomainDriver {
    readonly undone: string[] = [];
    deviceInfo(_r: DomainRecord, device: DomainDevice): Promise<DeviceXenstoreInfo | undefined> {
      const connected = device.kind === 'vbd' && device.disk.vdev === 'xvdb';
      return Promise.resolve({ backendPath: '', frontendPath: '', backendId: 0, state: connected ? 4 : 1, evtch: -1, rref: -1 });
    }
    detachDevice(_r: DomainRecord, device: DomainDevice): Promise<boolean> {
      this.undone.push(device.kind === 'vbd' ? device.disk.vdev ?? '' : device.kind);
      return Promise.resolve(true);
    }
  }
  const driver = new Hotplug();
  const again = await DomainManager.open({ domainsDir: d, driver });
  await again.adoptAll();
  assert.deepEqual(driver.undone, ['xvdc']);
  const after = again.registry.require(rec.domid);
  assert.deepEqual(after.config.disks?.map((x) => x.vdev), ['xvda', 'xvdb']);
  assert.equal(after.attaching, undefined);
  await again.registry.flush();
  const third = await DomainManager.open({ domainsDir: d });
  assert.equal(third.registry.require(rec.domid).attaching, undefined);
  assert.deepEqual(third.registry.require(rec.domid).config.disks?.map((x) => x.vdev), ['xvda', 'xvdb']);
});

test('adoptAll() goes on past a domain whose adoption fails: said, left as it is, the others adopted', async () => {
  const d = dir();
  const m = await DomainManager.open({ domainsDir: d });
  await m.register(dom('bad'));
  await m.register(dom('good'));
  await m.registry.flush();
  class Failing extends ProcessOnlyDriver implements DomainDriver {
    override adopt(r: DomainRecord): Promise<'alive' | 'gone'> {
      return r.name === 'bad' ? Promise.reject(new ToolstackError('IO', 'no more files')) : super.adopt(r);
    }
  }
  const logged: string[] = [];
  const again = await DomainManager.open({ domainsDir: d, driver: new Failing(), log: (l) => logged.push(l) });
  assert.equal((await again.adoptAll()).adopted, 1);
  assert.deepEqual(again.registry.list().map((r) => [r.name, r.state]), [['bad', 'running'], ['good', 'running']]);
  assert.ok(logged.includes('domain 1 (bad): taking it over failed, left as it is: no more files'), logged.join('\n'));
});

test('a destroy with no file descriptor left (EMFILE) still ends the domain: its record goes, dying is kept in memory only', () => {
  const d = dir();
  // A child Node at its file limit once the domain is recorded: every descriptor taken, then destroy.
  const script = `
    import { openSync, closeSync } from 'node:fs';
    import { DomainManager } from ${JSON.stringify(new URL('./manager.js', import.meta.url).href)};
    const m = await DomainManager.open({ domainsDir: ${JSON.stringify(d)} });
    const rec = await m.register({ config: { c_info: { name: 'g' } } });
    await m.registry.flush();
    const held = [];
    try { for (;;) held.push(openSync('/dev/null', 'r')); } catch {}
    const r = await m.destroy(rec.domid).then(() => 'destroyed', (e) => e.message);
    for (const fd of held) closeSync(fd);
    const again = await DomainManager.open({ domainsDir: ${JSON.stringify(d)} });
    console.log(r, again.registry.size);
  `;
  const out = execFileSync('prlimit', ['--nofile=512:512', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(out, 'destroyed 0\n');
});

test("a hot-plugged disk reaches the driver with the images its check passed, which the driver holds QEMU's open against", async () => {
  const d = dir();
  const image = join(root, `hot-${n}.raw`);
  writeFileSync(image, Buffer.alloc(1 << 16));
  class Hotplug extends ProcessOnlyDriver implements DomainDriver {
    opened: readonly { vdev: string; path: string }[] = [];
    attachDevice(_r: DomainRecord, _device: DomainDevice, chain?: CheckedChain): Promise<void> {
      this.opened = chain?.opened.map((i) => ({ vdev: i.vdev, path: i.path })) ?? [];
      return Promise.resolve();
    }
  }
  const driver = new Hotplug();
  const m = await DomainManager.open({ domainsDir: d, driver });
  const rec = await m.register(dom('g'));
  await m.attachDevice(rec.domid, { kind: 'vbd', disk: { vdev: 'xvdb', pdev_path: image, format: 'raw', readwrite: 1 } });
  assert.deepEqual(driver.opened, [{ vdev: 'xvdb', path: image }]);
});

test('a rename-restart whose preserved name is taken leaves the old domain as it is, unrestarted, as xl does; dom0d still starts', async () => {
  const d = dir();
  const m = await DomainManager.open({ domainsDir: d });
  const g = await m.register(dom('g'));
  // The guest crashed twice within the minute its preserved name carries (either minute of this test).
  for (const ms of [0, 60_000]) await m.register(dom(preservedName('g', new Date(Date.now() + ms), 64)));
  await m.registry.saveRestart({ init: { config: { c_info: { name: 'g', uuid: g.uuid } } }, at: Date.now(), from: g.domid, keepOld: true });
  await m.registry.flush();
  const logged: string[] = [];
  const again = await DomainManager.open({ domainsDir: d, log: (l) => logged.push(l) });
  assert.equal((await again.adoptAll()).restarts, 0);
  assert.deepEqual([again.registry.require(g.domid).name, again.registry.require(g.domid).uuid], ['g', g.uuid]);
  assert.deepEqual(again.registry.restarts(), []);
  assert.match(logged.join('\n'), /Preserving domain 1 g as g-\d{8}T\d{4}Z failed: Domain with name 'g-\d{8}T\d{4}Z' already exists; it stays shut down under its name, not restarted/);
  assert.deepEqual((await DomainManager.open({ domainsDir: d })).registry.restarts(), []);
});

test('a rename-restart a killed dom0d left after the rename is not renamed twice: its new uuid is given, the restart resumed', async () => {
  const d = dir();
  const m = await DomainManager.open({ domainsDir: d });
  const g = await m.register(dom('g'));
  await m.registry.saveRestart({ init: { config: { c_info: { name: 'g', uuid: g.uuid } } }, at: Date.now(), from: g.domid, keepOld: true });
  await m.registry.rename(g.domid, 'g-20261206T0500Z');
  await m.registry.flush();
  const again = await DomainManager.open({ domainsDir: d, restartDelayMs: 60_000 });
  assert.equal((await again.adoptAll()).restarts, 1);
  again.cancelPendingRestarts();
  const kept = again.registry.require(g.domid);
  assert.equal(kept.name, 'g-20261206T0500Z');
  assert.notEqual(kept.uuid, g.uuid);
});

test('adoptAll() finishes a detach a killed dom0d left: a device the machine let go leaves the config, one the guest holds stays', async () => {
  const d = dir();
  const m = await DomainManager.open({ domainsDir: d });
  const disk = (vdev: string): { vdev: string; pdev_path: string } => ({ vdev, pdev_path: `/${vdev}.img` });
  const rec = await m.register({ config: { c_info: { name: 'g' }, disks: [disk('xvda'), disk('xvdb'), disk('xvdc')] } });
  // Two detaches cut short (one disk each would do; both at once shows each outcome).
  await m.registry.attaching(rec.domid, { ...rec.config, disks: [disk('xvda')] });
  await m.registry.flush();
  class Hotplug extends ProcessOnlyDriver implements DomainDriver {
    readonly asked: string[] = [];
    detachDevice(_r: DomainRecord, device: DomainDevice, options: { readonly force: boolean; readonly waitMs?: number }): Promise<boolean> {
      const vdev = device.kind === 'vbd' ? device.disk.vdev ?? '' : device.kind;
      this.asked.push(`${vdev} force=${options.force} wait=${options.waitMs}`);
      if (vdev === 'xvdc') return Promise.reject(new ToolstackError('DEVICE_TIMEOUT', 'the guest did not release it'));
      return Promise.resolve(true);
    }
  }
  const driver = new Hotplug();
  const again = await DomainManager.open({ domainsDir: d, driver });
  await again.adoptAll();
  assert.deepEqual(driver.asked, ['xvdb force=false wait=0', 'xvdc force=false wait=0']);
  const after = again.registry.require(rec.domid);
  assert.deepEqual(after.config.disks?.map((x) => x.vdev), ['xvda', 'xvdc']);
  assert.equal(after.attaching, undefined);
});

test('adoptAll() finishes a CD-ROM medium change a killed dom0d left: the new medium again, or the old one back when that fails', async () => {
  const d = dir();
  const m = await DomainManager.open({ domainsDir: d });
  for (const iso of ['old', 'new', 'old2']) writeFileSync(join(d, `${iso}.iso`), '');
  const cd = (vdev: string, name: string): { vdev: string; pdev_path: string; format: 'raw'; is_cdrom: number } => ({ vdev, pdev_path: join(d, name), format: 'raw', is_cdrom: 1 });
  const rec = await m.register({ config: { c_info: { name: 'g', type: 'hvm' }, disks: [cd('hdc', 'old.iso'), cd('hdd', 'old2.iso')] } });
  await m.registry.attaching(rec.domid, { ...rec.config, disks: [cd('hdc', 'new.iso'), cd('hdd', 'missing.iso')] });
  await m.registry.flush();
  class Media extends ProcessOnlyDriver implements DomainDriver {
    readonly asked: string[] = [];
    changeMedia(_r: DomainRecord, drive: { vdev?: string; pdev_path?: string }, medium: { pdev_path?: string }): Promise<void> {
      this.asked.push(`${drive.vdev}: ${basename(drive.pdev_path ?? '')} -> ${basename(medium.pdev_path ?? '')}`);
      return Promise.resolve();
    }
  }
  const driver = new Media();
  const again = await DomainManager.open({ domainsDir: d, driver });
  await again.adoptAll();
  // The new medium is checked again first: one gone meanwhile is not asked for; the old one goes
  // back into the drive as it is (never the failed medium again, should that fail too).
  assert.deepEqual(driver.asked, ['hdc: old.iso -> new.iso', 'hdd:  -> old2.iso']);
  const after = again.registry.require(rec.domid);
  assert.deepEqual(after.config.disks?.map((x) => basename(x.pdev_path ?? '')), ['new.iso', 'old2.iso']);
  assert.equal(after.attaching, undefined);
});

test('create() of a domain destroyed while its machine starts fails saying so (not with what its QEMU said)', async () => {
  let started = (): void => undefined;
  const starting = new Promise<void>((resolve) => {
    started = resolve;
  });
  class SlowStart extends ProcessOnlyDriver implements DomainDriver {
    #fail: ((e: Error) => void) | undefined;
    override start(): Promise<DomainRecordPatch> {
      started();
      return new Promise((_resolve, reject) => {
        this.#fail = reject;
      });
    }
    kill(): undefined {
      this.#fail?.(new ToolstackError('QEMU', 'QEMU (pid 1) exited at start'));
      return undefined;
    }
  }
  const driver = new SlowStart();
  const m = await DomainManager.open({ domainsDir: dir(), driver });
  const created = m.create({ config: { c_info: { name: 'brief' } } });
  await starting;
  const domid = m.resolve('brief').domid;
  await Promise.all([
    assert.rejects(created, (e: unknown) => isToolstackError(e, 'DOMAIN_STATE') && e.message === `Domain 'brief' (${domid}) was destroyed while it was being created`),
    m.destroy(domid),
  ]);
  assert.equal(m.registry.size, 0);
});


test('create() refuses a socket path a running domain listens on, even beside a preserved domain that yields it', async () => {
  const d = dir();
  const m = await DomainManager.open({ domainsDir: d });
  const path = join(d, 'agent.sock');
  const withChannel = (name: string): DomainConfig => ({
    c_info: { name, type: 'pv' }, channels: [{ name: 'org.qemu.guest_agent.0', connection: 'socket', u: { socket: { path } } }],
  }) as unknown as DomainConfig;
  // A rename-restart: the preserved old domain (shut down) and the new one hold the same path.
  const preserved = await m.register({ config: withChannel('web--preserved') });
  await m.registry.transition(preserved.domid, 'shutdown');
  const live = await m.register({ config: withChannel('web') });
  await assert.rejects(m.create({ config: withChannel('other') }), (e: unknown) =>
    isToolstackError(e, 'GUEST_FILE') && e.message === `Cannot use ${path} for the socket of channel 'org.qemu.guest_agent.0': domain 'web' (${live.domid}) listens there`);
  assert.equal(m.registry.list().some((r) => r.name === 'other'), false);
});

test('a rename given the name the domain must have is refused when it has another (a migrating xl\'s, after a user renamed it: before, the user\'s rename was undone)', async () => {
  const m = await DomainManager.open({ domainsDir: dir() });
  const g = await m.register(dom('g'));
  await m.rename(g.domid, 'h');
  await assert.rejects(m.rename(g.domid, 'g--migratedaway', 'g'), (e: unknown) => isToolstackError(e, 'DOMAIN_STATE') && /named 'h' now, not 'g'/.test(e.message));
  assert.equal(m.registry.require(g.domid).name, 'h');
  assert.equal((await m.rename(g.domid, 'h--migratedaway', 'h')).name, 'h--migratedaway');
});

test('a save or core dump an xl destroy cuts short says so (before: QEMU\'s "went away"), and that nothing was written', async () => {
  const d = dir();
  let began = (): void => undefined;
  class SlowSave extends ProcessOnlyDriver implements DomainDriver {
    #fail: ((e: Error) => void) | undefined;
    #wait(): Promise<never> {
      began();
      return new Promise((_resolve, reject) => {
        this.#fail = reject;
      });
    }
    save(): Promise<number> {
      return this.#wait();
    }
    coreDump(): Promise<void> {
      return this.#wait();
    }
    kill(): undefined {
      this.#fail?.(new ToolstackError('QEMU', 'QMP command \'query-migrate\' failed: QEMU went away (socket closed)'));
      return undefined;
    }
  }
  const m = await DomainManager.open({ domainsDir: d, driver: new SlowSave() });
  // Outside the manager's own directories (a save is refused there).
  const outDir = mkdtempSync(join(tmpdir(), 'dom0-manager-out-'));
  after(() => rmSync(outDir, { recursive: true, force: true }));
  for (const op of ['saved', 'dumped'] as const) {
    const g = await m.register(dom(`g-${op}`));
    const beginning = new Promise<void>((r) => (began = r));
    const file = join(outDir, `${op}.out`);
    const done = op === 'saved'
      ? m.save(g.domid, { file, checkpoint: true, leavePaused: false, header: () => Buffer.alloc(0) })
      : m.dumpCore(g.domid, file);
    await beginning;
    await Promise.all([
      assert.rejects(done, (e: unknown) => isToolstackError(e, 'DOMAIN_STATE') && e.message === `Domain 'g-${op}' (${g.domid}) was destroyed while it was being ${op}` && e.hint === `nothing was written to ${file}`),
      m.destroy(g.domid),
    ]);
  }
});
