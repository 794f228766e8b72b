// Benchmark: `xl save`, `xl restore` and `xl migrate` (two dom0 hosts on this machine, xl's pipe
// transport with `-s ''`) of one booted PV guest (128 MiB), each beside raw QEMU doing the same
// with the very argv dom0d gave the guest, driven over QMP (the same run, alternated):
// - save: stop + migrate to `exec:cat > FILE` until complete, then quit until QEMU has exited (xl
//   save destroys the domain); `bareSaveStreamS` is the same without the quit;
// - restore: a QEMU started with `-incoming exec:cat FILE` until it runs;
// - live migration: a destination QEMU started listening on a Unix socket, the source migrated to
//   it until the destination runs, the source quit (xl migrate destroys it); `bareMigrateStreamS`
//   is the stream alone, to an already started destination; QEMU's reported downtime for both
//   (dom0: what `xl migrate` prints);
// - `dirtying`: `xl migrate` of the guest while it rewrites 24 MiB of its memory in a loop.
// Goals: each ratio ≤ 1.1; downtime ≤ 50 ms. `nodeStartS` is `node -e 0` (as xl starts Node) in the same run: what
// every xl command (two for a migration: xl migrate, xl migrate-receive) pays before its work,
// and raw QEMU driven over an open QMP connection does not. Prints one JSON object.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { QmpClient } from '../src/qemu/index.js';
import { ensureGuests, GuestConsole, GUEST_READY_LINE } from '../test/support/guests.js';
import { bareArgv, benchHost, median, NODE_BASELINE, stopDaemon } from './support.js';
import type { BenchHost } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const RUNS = Number(process.env.DOM0_BENCH_RUNS ?? 3);

function xl(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]): string {
  const r = spawnSync(XL, args, { env, cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`xl ${args.join(' ')}: ${r.stderr}`);
  return r.stderr;
}

async function waitFor(file: string, text: string, timeoutMs = 120_000): Promise<void> {
  for (const t0 = Date.now(); ;) {
    let s = '';
    try {
      s = readFileSync(file, 'utf8');
    } catch {
      // not yet
    }
    if (s.includes(text)) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`migration bench: '${text}' not in ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function qmpOf(sock: string): Promise<QmpClient> {
  for (let i = 0; ; i++) {
    try {
      return await QmpClient.connect(sock, { timeoutMs: 5000 });
    } catch (e) {
      if (i > 500) throw e;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

async function completed(qmp: QmpClient): Promise<{ downtime: number }> {
  for (;;) {
    const m = await qmp.queryMigrate();
    if (m.status === 'completed') return { downtime: m.downtime ?? 0 };
    if (m.status === 'failed') throw new Error(`migration failed: ${m['error-desc'] ?? ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** QEMU told to quit over `qmp`, until its process `child` has exited. */
async function quit(qmp: QmpClient, child: ChildProcess): Promise<void> {
  const gone = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
  await qmp.execute('quit').catch(() => undefined);
  await gone;
  qmp.close();
}

/** A bare QEMU with `argv` (its sockets, logs and pid file moved to `dir`), plus `extra`. */
function bare(argv: readonly string[], dir: string, extra: readonly string[]): ChildProcess {
  const args = bareArgv(argv, dir);
  return spawn(args[0] as string, [...args.slice(1), ...extra], { stdio: 'ignore' });
}

/**
 * The guest at A rewrites 24 MiB of its tmpfs in a loop (a steady dirty rate) while `xl migrate`
 * moves it to B: the migration must converge (QEMU's pre-copy ends under its downtime limit), with
 * more RAM sent than the guest has when pages were sent again. The guest is left at B.
 */
async function dirtyingMigration(A: BenchHost, B: BenchHost, receiver: string): Promise<Record<string, unknown>> {
  const domid = spawnSync(XL, ['domid', 'g'], { env: A.env, encoding: 'utf8' }).stdout.trim();
  const tty = spawnSync('xenstore-read', [`/local/domain/${domid}/console/tty`], {
    env: { ...A.env, XENSTORED_PATH: join(A.dir, 'run', 'xenstored', 'socket') }, encoding: 'utf8',
  }).stdout.trim();
  const con = await GuestConsole.connect(tty);
  try {
    await con.run('true');
    await con.run('{ (while :; do dd if=/dev/zero of=/run/dirty bs=1M count=24 2>/dev/null; done) >/dev/null 2>&1 & }');
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = performance.now();
    const out = xl(A.env, A.dir, 'migrate', '-s', '', 'g', receiver);
    const wallS = (performance.now() - t0) / 1000;
    const m = /(\d+) KiB of memory in (\d+) ms, downtime (\d+) ms/.exec(out);
    return {
      converged: m !== null, wallS: Math.round(wallS * 1000) / 1000, ramSentKiB: Number(m?.[1]), qemuTotalMs: Number(m?.[2]),
      downtimeMs: Number(m?.[3]), guestMemKiB: 128 * 1024, dirtyingMiBPerLoop: 24,
    };
  } finally {
    con.close();
  }
}

export async function migration(runs = RUNS): Promise<Record<string, unknown>> {
  const guests = ensureGuests();
  const A = benchHost();
  const B = benchHost();
  const t = { nodeStart: [] as number[], save: [] as number[], bareSave: [] as number[], bareSaveStream: [] as number[], bareMigrateStream: [] as number[], restore: [] as number[], bareRestore: [] as number[], migrate: [] as number[], bareMigrate: [] as number[], downtime: [] as number[], bareDowntime: [] as number[] };
  const children: ChildProcess[] = [];
  const receiver = `env ${['DOM0_CONFIG_DIR', 'DOM0_STATE_DIR', 'DOM0_RUN_DIR', 'DOM0_LOG_DIR'].map((k) => `${k}=${B.env[k] ?? ''}`).join(' ')} ${XL} migrate-receive`;
  try {
    writeFileSync(join(A.dir, 'g.cfg'), [`name = "g"`, `kernel = "${guests.vmlinuz}"`, `ramdisk = "${guests.initrd}"`, `cmdline = "${guests.pvCmdline}"`, 'memory = 128'].join('\n'));
    xl(A.env, A.dir, 'create', '-q', 'g.cfg');
    const log = join(A.dir, 'log', 'console', 'g', 'console0.log');
    await waitFor(log, GUEST_READY_LINE);
    const domid = spawnSync(XL, ['domid', 'g'], { env: A.env, encoding: 'utf8' }).stdout.trim();
    const pid = readFileSync(join(A.dir, 'run', 'domains', domid, 'qemu.pid'), 'utf8').trim().split(/\s+/)[0] as string;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
    for (let i = 0; i < runs; i++) {
      // A client's fixed cost: every xl command is a node process.
      let t0 = performance.now();
      spawnSync(NODE_BASELINE[0] as string, NODE_BASELINE.slice(1));
      t.nodeStart.push(performance.now() - t0);
      // dom0: save, restore, migrate A → B and back (the way back is not timed).
      t0 = performance.now();
      xl(A.env, A.dir, 'save', 'g', 'g.save');
      t.save.push(performance.now() - t0);
      t0 = performance.now();
      xl(A.env, A.dir, 'restore', 'g.save');
      t.restore.push(performance.now() - t0);
      t0 = performance.now();
      const out = xl(A.env, A.dir, 'migrate', '-s', '', 'g', receiver);
      t.migrate.push(performance.now() - t0);
      t.downtime.push(Number(/downtime (\d+) ms/.exec(out)?.[1] ?? Number.NaN));
      const back = `env ${['DOM0_CONFIG_DIR', 'DOM0_STATE_DIR', 'DOM0_RUN_DIR', 'DOM0_LOG_DIR'].map((k) => `${k}=${A.env[k] ?? ''}`).join(' ')} ${XL} migrate-receive`;
      xl(B.env, B.dir, 'migrate', '-s', '', 'g', back);

      // Raw QEMU: the same guest booted, saved, restored; then migrated between two QEMUs.
      const d = join(A.dir, `bare${i}`);
      mkdirSync(d);
      const src = bare(argv, d, []);
      children.push(src);
      await waitFor(join(d, 'console0.log'), GUEST_READY_LINE);
      let qmp = await qmpOf(join(d, 'qmp.sock'));
      // Raw QEMU doing what `xl save` does: stop, the state into a file, the machine gone.
      t0 = performance.now();
      await qmp.stop();
      await qmp.migrateSetParameters({ 'max-bandwidth': 2 ** 40 });
      await qmp.migrate(`exec:cat > ${d}/bare.save`);
      await completed(qmp);
      t.bareSaveStream.push(performance.now() - t0);
      await quit(qmp, src);
      t.bareSave.push(performance.now() - t0);
      const rd = join(d, 'r');
      mkdirSync(rd);
      t0 = performance.now();
      const restored = bare(argv, rd, ['-S', '-incoming', `exec:cat ${d}/bare.save`]);
      children.push(restored);
      qmp = await qmpOf(join(rd, 'qmp.sock'));
      await completed(qmp);
      await qmp.cont();
      t.bareRestore.push(performance.now() - t0);
      // Raw QEMU doing what `xl migrate` does: a QEMU started at the target to take the stream,
      // the stream, the target running, the source gone.
      const md = join(d, 'm');
      mkdirSync(md);
      t0 = performance.now();
      const dst = bare(argv, md, ['-incoming', `unix:${md}/in.sock`]);
      children.push(dst);
      const dq = await qmpOf(join(md, 'qmp.sock'));
      const t1 = performance.now();
      await qmp.migrateSetParameters({ 'max-bandwidth': 2 ** 40, 'downtime-limit': 50 });
      await qmp.migrate(`unix:${md}/in.sock`);
      const { downtime } = await completed(qmp);
      for (;;) {
        if ((await dq.queryStatus()).running) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      t.bareMigrateStream.push(performance.now() - t1);
      await quit(qmp, restored);
      t.bareMigrate.push(performance.now() - t0);
      t.bareDowntime.push(downtime);
      dq.close();
      dst.kill('SIGKILL');
    }
    const dirty = await dirtyingMigration(A, B, receiver);
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    return {
      bench: 'migration', runs, guest: 'pv, 128 MiB, booted to its shell (TCG)', nodeStartS: r3(median(t.nodeStart) / 1000),
      saveS: r3(median(t.save) / 1000), bareSaveS: r3(median(t.bareSave) / 1000), saveRatio: r3(median(t.save) / median(t.bareSave)),
      bareSaveStreamS: r3(median(t.bareSaveStream) / 1000), saveVsStreamRatio: r3(median(t.save) / median(t.bareSaveStream)),
      restoreS: r3(median(t.restore) / 1000), bareRestoreS: r3(median(t.bareRestore) / 1000), restoreRatio: r3(median(t.restore) / median(t.bareRestore)),
      migrateS: r3(median(t.migrate) / 1000), bareMigrateS: r3(median(t.bareMigrate) / 1000), migrateRatio: r3(median(t.migrate) / median(t.bareMigrate)),
      bareMigrateStreamS: r3(median(t.bareMigrateStream) / 1000), migrateVsStreamRatio: r3(median(t.migrate) / median(t.bareMigrateStream)),
      downtimeMs: r2(median(t.downtime)), bareDowntimeMs: r2(median(t.bareDowntime)), goalRatio: 1.1, goalDowntimeMs: 50,
      dirtying: dirty,
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    for (const h of [A, B]) {
      const list = spawnSync(XL, ['list', '--json'], { env: h.env, encoding: 'utf8' });
      for (const d of (JSON.parse(list.stdout || '[]') as Array<{ domid: number }>).filter((x) => x.domid !== 0)) spawnSync(XL, ['destroy', String(d.domid)], { env: h.env });
      try {
        await stopDaemon(Number.parseInt(readFileSync(join(h.dir, 'run', 'dom0d.pid'), 'utf8'), 10));
      } catch {
        // never started
      }
      rmSync(h.dir, { recursive: true, force: true });
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await migration()));
}
