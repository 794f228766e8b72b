// DomainManager as xl's monitor: what happens when the driver reports a guest that stopped by
// itself. The machine is imaginary (an edge-case fake); the real one is in
// test/integration/lifecycle.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isToolstackError } from '../common/index.js';
import type { DomainDriver, MachineEventSink } from './driver.js';
import { ProcessOnlyDriver } from './driver.js';
import { DomainManager } from './manager.js';
import type { DomainConfig } from '../config/index.js';
import type { ReplacingFile } from '../host/index.js';
import type { MachineLayout } from '../qemu/index.js';
import type { DomainRecord, NewDomain } from './record.js';

const root = mkdtempSync(join(tmpdir(), 'dom0-monitor-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

class FakeMachines extends ProcessOnlyDriver implements DomainDriver {
  sink: MachineEventSink | undefined;
  readonly calls: string[] = [];
  setMachineEventSink(sink: MachineEventSink): void {
    this.sink = sink;
  }
  override start(r: DomainRecord): Promise<{ qemuPid: number | null; qmpSocket: string }> {
    this.calls.push(`start ${r.domid}`);
    return Promise.resolve({ qemuPid: null, qmpSocket: `/q/${r.domid}` });
  }
  override unpause(): Promise<void> {
    return Promise.resolve();
  }
  override pause(r: DomainRecord): Promise<void> {
    this.calls.push(`pause ${r.domid}`);
    return Promise.resolve();
  }
  resumed(r: DomainRecord): Promise<void> {
    this.calls.push(`resumed ${r.domid}`);
    return Promise.resolve();
  }
  override async destroy(r: DomainRecord): Promise<void> {
    this.calls.push(`destroy ${r.domid}`);
  }
  stopped(r: DomainRecord): Promise<void> {
    this.calls.push(`stopped ${r.domid} ${r.shutdownReason ?? ''}`);
    return Promise.resolve();
  }
}

async function setup(
  config: DomainConfig,
  options: { noMonitor?: boolean; restartDelayMs?: number; dir?: string } = {},
): Promise<{ m: DomainManager; d: FakeMachines; rec: DomainRecord; log: string[] }> {
  const d = new FakeMachines();
  const log: string[] = [];
  const m = await DomainManager.open({ domainsDir: options.dir ?? join(root, `d${++n}`), driver: d, restartDelayMs: options.restartDelayMs ?? 0, log: (l) => log.push(l) });
  const init: NewDomain = { config: { ...config, c_info: { name: 'g' } }, noMonitor: options.noMonitor === true };
  return { m, d, rec: await m.create(init), log };
}

const settle = async (m: DomainManager): Promise<void> => {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 5));
    await m.jobs.idle();
  }
};

test('poweroff → on_poweroff=destroy (default): shut down, @releaseDomain, destroyed; xl\'s monitor lines logged', async () => {
  const { m, d, rec, log } = await setup({});
  d.sink?.(rec.domid, 'poweroff');
  await settle(m);
  assert.equal(m.registry.size, 0);
  assert.deepEqual(d.calls, ['start 1', 'stopped 1 poweroff', 'destroy 1']);
  assert.deepEqual(log, ['Domain 1 has shut down, reason code 0 0x0', 'Action for shutdown reason code 0 is destroy', 'Domain 1 needs to be cleaned up: destroying the domain']);
});

test('reboot → on_reboot=restart: a new domid with the same name, uuid and config', async () => {
  const { m, d, rec } = await setup({ on_poweroff: 'preserve', on_reboot: 'restart' });
  d.sink?.(rec.domid, 'reboot');
  await settle(m);
  const [again] = m.registry.list();
  assert.ok(again !== undefined);
  assert.deepEqual([again.domid, again.name, again.uuid, again.state, again.config], [2, 'g', rec.uuid, 'running', rec.config]);
  assert.deepEqual(m.registry.restarts(), [], 'the restart intent is dropped once done');
  assert.deepEqual(d.calls, ['start 1', 'stopped 1 reboot', 'destroy 1', 'start 2']);
});

test('config-update: the next restart is built from the updated config (kept across a dom0d restart), under the domain\'s name and uuid; then it is dropped', async () => {
  const dir = join(root, `d${++n}`);
  const { m, d, rec, log } = await setup({ on_reboot: 'restart' }, { dir });
  const updated = { ...rec.config, c_info: { ...rec.config.c_info, name: 'other' }, b_info: { ...rec.config.b_info, max_memkb: 65536, target_memkb: 65536 } };
  await m.updateConfig(rec.domid, updated);
  const reopened = await DomainManager.open({ domainsDir: dir, driver: d, restartDelayMs: 0, log: (l) => log.push(l) });
  assert.equal(reopened.registry.require(rec.domid).updatedConfig?.b_info?.target_memkb, 65536, 'persisted');
  // The reopened manager is the driver's event sink now.
  d.sink?.(rec.domid, 'reboot');
  await settle(reopened);
  const [again] = reopened.registry.list();
  assert.deepEqual([again?.domid, again?.name, again?.uuid, again?.config.b_info?.target_memkb, again?.updatedConfig], [2, 'g', rec.uuid, 65536, undefined]);
  assert.ok(log.includes('"xl" configuration found, using it'), log.join('\n'));
});

test('preserve keeps the domain shut down; a second report for it is ignored', async () => {
  const { m, d, rec } = await setup({ on_crash: 'preserve' });
  d.sink?.(rec.domid, 'crash');
  d.sink?.(rec.domid, 'poweroff');
  await settle(m);
  const kept = m.registry.require(rec.domid);
  assert.deepEqual([kept.state, kept.shutdownReason], ['shutdown', 'crash']);
  assert.deepEqual(d.calls, ['start 1', 'stopped 1 crash']);
});

test('create -e (no monitor): a guest reboot only leaves the domain shut down', async () => {
  const { m, d, rec } = await setup({ on_reboot: 'restart' }, { noMonitor: true });
  d.sink?.(rec.domid, 'reboot');
  await settle(m);
  assert.deepEqual([m.registry.require(rec.domid).state, m.registry.size], ['shutdown', 1]);
});

test('rename-restart: the stopped domain is kept under <name>-<UTC stamp> with a fresh uuid; the new one has the old identity', async () => {
  const { m, d, rec } = await setup({ on_watchdog: 'restart_rename' });
  d.sink?.(rec.domid, 'watchdog');
  await settle(m);
  const [kept, fresh] = m.registry.list();
  assert.ok(kept !== undefined && fresh !== undefined);
  assert.match(kept.name, /^g-\d{8}T\d{4}Z$/);
  assert.notEqual(kept.uuid, rec.uuid);
  assert.deepEqual([kept.state, kept.shutdownReason], ['shutdown', 'watchdog']);
  assert.deepEqual([fresh.name, fresh.uuid, fresh.state], ['g', rec.uuid, 'running']);
});

test('a restart survives a dom0d killed before it is done: the next dom0d re-creates the domain', async () => {
  const dir = join(root, `d${++n}`);
  const { m, d, rec } = await setup({ on_crash: 'restart' }, { dir, restartDelayMs: 60_000 });
  d.sink?.(rec.domid, 'crash');
  await settle(m);
  assert.equal(m.registry.size, 0, 'the old domain is gone, its restart pending');
  m.cancelPendingRestarts(); // dom0d killed: the in-memory timer dies with it
  const d2 = new FakeMachines();
  const m2 = await DomainManager.open({ domainsDir: dir, driver: d2, restartDelayMs: 0 });
  const report = await m2.adoptAll();
  assert.equal(report.restarts, 1);
  // The intent keeps its time (60 s from the crash); bring it forward the way a late dom0d would find it.
  m2.cancelPendingRestarts();
  const [intent] = m2.registry.restarts();
  assert.ok(intent !== undefined);
  await m2.registry.saveRestart({ ...intent, at: Date.now() });
  const m3 = await DomainManager.open({ domainsDir: dir, driver: d2, restartDelayMs: 0 });
  await m3.adoptAll();
  await settle(m3);
  const [again] = m3.registry.list();
  assert.deepEqual([again?.name, again?.uuid, again?.state], ['g', rec.uuid, 'running']);
  assert.deepEqual(m3.registry.restarts(), []);
});

test('a dom0d killed between saving the restart and retiring the old domain finishes both at start', async () => {
  const dir = join(root, `d${++n}`);
  const { m, rec } = await setup({ on_reboot: 'restart' }, { dir });
  await m.registry.transition(rec.domid, 'shutdown', { shutdownReason: 'reboot' });
  await m.registry.saveRestart({ init: { config: rec.config }, at: Date.now(), from: rec.domid, keepOld: false });
  const d2 = new FakeMachines();
  const m2 = await DomainManager.open({ domainsDir: dir, driver: d2, restartDelayMs: 0 });
  assert.equal((await m2.adoptAll()).restarts, 1);
  await settle(m2);
  const [again] = m2.registry.list();
  assert.deepEqual([again?.domid, again?.uuid, again?.state], [2, rec.uuid, 'running']);
  assert.deepEqual(d2.calls, ['destroy 1', 'start 2']);
});

test('xl suspend: shut down with reason suspend and no on_* action (xl\'s monitor keeps waiting); resume runs it on; a crash is not resumed', async () => {
  const { m, d, rec, log } = await setup({ on_crash: 'preserve' });
  const s = await m.suspend(rec.domid);
  assert.deepEqual([s.state, s.shutdownReason], ['shutdown', 'suspend']);
  assert.deepEqual(log, [`Domain ${rec.domid} has shut down, reason code 2 0x2`, 'Domain has suspended.']);
  assert.deepEqual(d.calls.slice(-2), [`pause ${rec.domid}`, `stopped ${rec.domid} suspend`]);
  const r = await m.resume(rec.domid);
  assert.deepEqual([r.state, r.shutdownReason], ['running', null]);
  assert.equal(d.calls.at(-1), `resumed ${rec.domid}`, 'xenstored is told the domain runs again');
  await assert.rejects(m.resume(rec.domid), /Cannot resume domain 'g': it is running/);
  d.sink?.(rec.domid, 'crash');
  await settle(m);
  assert.equal(m.registry.get(rec.domid)?.shutdownReason, 'crash');
  await assert.rejects(m.resume(rec.domid), /it is shut down \(crash\), not suspended/);
});

test('a pending restart holds its name and uuid; xl destroy of that name cancels it', async () => {
  const dir = join(root, `d${++n}`);
  const { m, d, rec, log } = await setup({ on_reboot: 'restart' }, { dir, restartDelayMs: 60_000 });
  d.sink?.(rec.domid, 'reboot');
  await settle(m);
  assert.equal(m.registry.size, 0, 'the old domain is gone, its restart pending');
  // A create in the window took the name before, and the restart then made a second 'g'.
  const taken = (e: unknown): boolean => isToolstackError(e, 'DOMAIN_EXISTS');
  await assert.rejects(m.create({ config: { c_info: { name: 'g' } } }), taken);
  await assert.rejects(m.create({ config: { c_info: { name: 'other', uuid: rec.uuid } } }), taken);
  const other = await m.create({ config: { c_info: { name: 'other' } } });
  await assert.rejects(m.rename(other.domid, 'g'), taken);
  assert.equal(m.registry.nameFree('g'), false);
  assert.equal(await m.cancelRestart('other'), undefined);
  const cancelled = await m.cancelRestart('g');
  assert.equal(cancelled?.from, rec.domid);
  assert.deepEqual(m.registry.restarts(), []);
  assert.ok(log.some((l) => l.includes('its restart is cancelled')), log.join('\n'));
  const reopened = await DomainManager.open({ domainsDir: dir, driver: new FakeMachines(), restartDelayMs: 0 });
  assert.equal((await reopened.adoptAll()).restarts, 0, 'the intent is gone from disk too');
  reopened.cancelPendingRestarts();
  m.cancelPendingRestarts();
});

test('a restart intent whose time a clock set back puts far away waits no longer than the delay', async () => {
  const dir = join(root, `d${++n}`);
  const { m, rec } = await setup({ on_reboot: 'restart' }, { dir });
  await m.registry.transition(rec.domid, 'shutdown', { shutdownReason: 'reboot' });
  await m.registry.saveRestart({ init: { config: rec.config }, at: Date.now() + 86_400_000, from: rec.domid, keepOld: false });
  const m2 = await DomainManager.open({ domainsDir: dir, driver: new FakeMachines(), restartDelayMs: 0 });
  await m2.adoptAll();
  await settle(m2);
  const [again] = m2.registry.list();
  assert.deepEqual([again?.uuid, again?.state], [rec.uuid, 'running']);
});

test('xl destroy while the reboot is being handled ends the domain: the restart it was about to schedule is dropped', async () => {
  const { m, d, rec, log } = await setup({ on_reboot: 'restart' });
  d.sink?.(rec.domid, 'reboot');
  // The stopped job is queued; the destroy comes before it has retired the old domain.
  await m.destroy(rec.domid);
  await settle(m);
  await new Promise((r) => setTimeout(r, 20));
  await settle(m);
  assert.equal(m.registry.size, 0, 'no domain came back');
  assert.deepEqual(m.registry.restarts(), []);
  assert.ok(log.some((l) => l.includes('its restart is cancelled')), log.join('\n'));
});

class SavingMachines extends FakeMachines {
  readonly headers: string[] = [];
  save(_r: DomainRecord, _out: ReplacingFile, header: Buffer): Promise<number> {
    this.headers.push(header.toString());
    return Promise.resolve(header.length);
  }
  migrate(): Promise<never> {
    return new Promise(() => undefined);
  }
  attachDevice(): Promise<void> {
    return Promise.resolve();
  }
}

test('a save\'s header is made from the record its job finds (a job queued before it changed it); no device comes or goes while a migration is claimed', async () => {
  const d = new SavingMachines();
  const m = await DomainManager.open({ domainsDir: join(root, `d${++n}`), driver: d, restartDelayMs: 0 });
  const rec = await m.create({ config: { c_info: { name: 'g' } } });
  // A job ahead of the save (a hot-plug, say) changes the record; the save must see that.
  void m.jobs.run(rec.domid, 'x', async () => {
    await new Promise((r) => setTimeout(r, 20));
    await m.registry.update(rec.domid, { config: { ...rec.config, b_info: { ...rec.config.b_info, max_memkb: 4242 } } });
  });
  const out = mkdtempSync(join(tmpdir(), 'dom0-monitor-save-'));
  after(() => rmSync(out, { recursive: true, force: true }));
  await m.save(rec.domid, { file: join(out, 'g.save'), checkpoint: true, leavePaused: false, header: (now) => String(now.config.b_info?.max_memkb) as unknown as Buffer });
  assert.deepEqual(d.headers, ['4242']);
  await m.claimMigration(rec.domid, process.pid);
  await assert.rejects(m.attachDevice(rec.domid, { kind: 'disk', disk: { vdev: 'xvdb', pdev_path: '/dev/null', format: 'raw' } } as never),
    (e: unknown) => isToolstackError(e, 'DOMAIN_STATE') && /being migrated/.test(e.message));
});

class SlowMachines extends FakeMachines {
  release: (() => void) | undefined;
  override async start(r: DomainRecord): Promise<{ qemuPid: number | null; qmpSocket: string }> {
    await new Promise<void>((resolve) => {
      this.release = resolve;
    });
    return super.start(r);
  }
}

test('an xl destroy while a create starts its machine (no QEMU to kill yet): the guest never runs, the create says it was destroyed', async () => {
  class Recording extends SlowMachines {
    override unpause(): Promise<void> {
      this.calls.push('unpause');
      return Promise.resolve();
    }
  }
  const d = new Recording();
  const m = await DomainManager.open({ domainsDir: join(root, `d${++n}`), driver: d, restartDelayMs: 0 });
  const creating = m.create({ config: { c_info: { name: 'x' } } });
  while (d.release === undefined) await new Promise((r) => setTimeout(r, 5));
  const domid = m.registry.byName('x')?.domid as number;
  const destroying = m.destroy(domid);
  d.release();
  await assert.rejects(creating, (e: unknown) => isToolstackError(e, 'DOMAIN_STATE') && /was destroyed while it was being created/.test(e.message));
  await destroying;
  assert.deepEqual(d.calls.filter((c) => c.startsWith('unpause')), []);
  assert.equal(m.registry.byName('x'), undefined);
});

test('a disk image a domain being created will write is in use for a create at the same time', async () => {
  const d = new SlowMachines();
  const m = await DomainManager.open({ domainsDir: join(root, `d${++n}`), driver: d, restartDelayMs: 0 });
  const image = join(root, `disk${n}.img`);
  writeFileSync(image, Buffer.alloc(65536));
  const disk = { pdev_path: image, vdev: 'xvda', format: 'raw', readwrite: 1 } as const;
  const first = m.create({ config: { c_info: { name: 'a' }, disks: [disk] } });
  while (d.release === undefined) await new Promise((r) => setTimeout(r, 5));
  await assert.rejects(m.create({ config: { c_info: { name: 'b' }, disks: [disk] } }),
    (e: unknown) => isToolstackError(e) && /is open read-write by domain 'a'/.test(e.message));
  d.release();
  assert.equal((await first).name, 'a');
});

test('two saves to one file at once, one through a link, the second asked while the first reads its machine\'s layout: the second is refused (its file replaced the first one\'s)', async () => {
  const gate: { release?: () => void } = {};
  const saving = async (): Promise<() => void> => {
    for (;;) {
      const r = gate.release;
      if (r !== undefined) return r;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  class GatedSaves extends SavingMachines {
    /** A QMP round trip: before, the second save's check ran here, before the first took the file. */
    async machineLayout(): Promise<MachineLayout> {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { pci: [], ramKiB: 131072 };
    }

    override async save(r: DomainRecord, out: ReplacingFile, header: Buffer): Promise<number> {
      await new Promise<void>((resolve) => {
        gate.release = resolve;
      });
      return super.save(r, out, header);
    }
  }
  const d = new GatedSaves();
  const m = await DomainManager.open({ domainsDir: join(root, `d${++n}`), driver: d, restartDelayMs: 0 });
  const a = await m.create({ config: { c_info: { name: 'a' } } });
  const b = await m.create({ config: { c_info: { name: 'b' } } });
  const out = mkdtempSync(join(tmpdir(), 'dom0-monitor-save-'));
  after(() => rmSync(out, { recursive: true, force: true }));
  const file = join(out, 'one.save');
  const header = (): Buffer => Buffer.from('h');
  const first = m.save(a.domid, { file, checkpoint: true, leavePaused: false, header });
  await new Promise((resolve) => setTimeout(resolve, 10));
  const link = join(out, 'link');
  symlinkSync(out, link);
  await assert.rejects(m.save(b.domid, { file: join(link, 'one.save'), checkpoint: true, leavePaused: false, header }),
    (e: unknown) => isToolstackError(e, 'SAVE_FILE') && /the save of domain 'a' \(1\) is being written there/.test(e.message));
  const releaseFirst = await saving();
  // Nor may a disk be that file meanwhile: the save's rename would swap it from under the guest.
  await assert.rejects(m.attachDevice(b.domid, { kind: 'vbd', disk: { pdev_path: file, vdev: 'xvdb', format: 'raw', readwrite: 1 } }),
    (e: unknown) => isToolstackError(e, 'DISK_IMAGE') && /one\.save is the save of domain 'a' \(1\) being written/.test(e.message));
  await assert.rejects(m.save(b.domid, { file, checkpoint: true, leavePaused: false, header }),
    (e: unknown) => isToolstackError(e, 'SAVE_FILE') && /the save of domain 'a' \(1\) is being written there/.test(e.message));
  delete gate.release;
  releaseFirst();
  await first;
  const second = m.save(b.domid, { file, checkpoint: true, leavePaused: false, header });
  (await saving())();
  await second;
});

test('a restart cancelled while it waited is forgotten: the same guest (same uuid) created again restarts on its next reboot', async () => {
  const { m, d, rec } = await setup({ on_reboot: 'restart' }, { restartDelayMs: 100 });
  d.sink?.(rec.domid, 'reboot');
  await settle(m);
  assert.equal((await m.cancelRestart('g'))?.from, rec.domid);
  const again = await m.create({ config: { ...rec.config, c_info: { ...rec.config.c_info, name: 'g', uuid: rec.uuid } } });
  d.sink?.(again.domid, 'reboot');
  await settle(m);
  await new Promise((r) => setTimeout(r, 150));
  await settle(m);
  const [now] = m.registry.list();
  assert.deepEqual([now?.name, now?.uuid, now?.state], ['g', rec.uuid, 'running'], 'restarted');
  assert.notEqual(now?.domid, again.domid);
});

test('while an xl migrate that runs holds the migration, only it may unpause the domain; once it has ended, anyone may', async () => {
  const m = await DomainManager.open({ domainsDir: join(root, `d${++n}`), driver: new SavingMachines(), restartDelayMs: 0 });
  const rec = await m.create({ config: { c_info: { name: 'g' } } });
  await m.pause(rec.domid);
  const xl = spawn('sleep', ['60'], { stdio: 'ignore' });
  const holder = xl.pid as number;
  try {
    await m.claimMigration(rec.domid, holder);
    await assert.rejects(m.unpause(rec.domid), (e: unknown) => isToolstackError(e, 'DOMAIN_STATE') && new RegExp(`being migrated \\(by xl process ${String(holder)}\\)`).test(e.message));
    assert.equal((await m.unpause(rec.domid, holder)).state, 'running');
    await m.pause(rec.domid);
    await m.claimMigration(rec.domid, holder);
  } finally {
    xl.kill('SIGKILL');
  }
  await new Promise((r) => xl.once('exit', r));
  assert.equal((await m.unpause(rec.domid)).state, 'running');
});

test('two attaches of one image read-write to two domains at once: one is refused (both passed while the first awaited qemu-img)', async () => {
  class Attaching extends FakeMachines {
    /** Machines that hold their disks: this process stands for each one's QEMU. */
    override start(r: DomainRecord): Promise<{ qemuPid: number | null; qmpSocket: string }> {
      return Promise.resolve({ qemuPid: process.pid, qmpSocket: `/q/${r.domid}` });
    }

    attachDevice(): Promise<void> {
      return Promise.resolve();
    }
  }
  const m = await DomainManager.open({ domainsDir: join(root, `d${++n}`), driver: new Attaching(), restartDelayMs: 0 });
  const a = await m.create({ config: { c_info: { name: 'a' } } });
  const b = await m.create({ config: { c_info: { name: 'b' } } });
  const image = join(root, `shared${++n}.img`);
  writeFileSync(image, Buffer.alloc(65536));
  const spec = { kind: 'vbd', disk: { pdev_path: image, vdev: 'xvdb', format: 'raw', readwrite: 1 } } as const;
  const results = await Promise.allSettled([m.attachDevice(a.domid, spec), m.attachDevice(b.domid, spec)]);
  assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  const refused = results.find((r) => r.status === 'rejected');
  assert.ok(isToolstackError(refused?.reason) && /is open read-write by domain 'a'/.test(refused.reason.message), String(refused?.reason));
});
