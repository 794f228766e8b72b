import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { connectToolstack, saveFileHeader } from '../../api/index.js';
import type { DomainInfo, MigrationResult, ToolstackApi } from '../../api/index.js';
import { isToolstackError, monotonicMs, ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { makeTempDir } from '../temp-dir.js';
import { getopt, requireArgs } from '../getopt.js';
import { interruptible, keepingIgnored } from '../interrupt.js';
import { againWhileDom0dRestarts, destroyIfThere, expectMessage, migrationName, openFifo, PERMISSION_TO_GO, RECEIVER_BANNER, RECEIVER_READY, RECEIVER_REPORT, StreamReader, withStandInReader, writeAll } from '../migration-stream.js';
import { withProgress } from '../progress.js';

/**
 * `xl migrate [-C config] [-s sshcommand] [-e] [--debug] [-p] [-D] <Domain> <host>` (xl_migrate.c):
 * first claims the domain's migration in dom0d (refused while another xl has it, or when its
 * machine cannot migrate, before anything runs), then
 * runs `sh -c "exec SSHCOMMAND HOST xl migrate-receive[ -e][ -d][ -p]"` (`-s ''`: HOST is the
 * whole command), reads the receiver's banner, sends xl's header and the domain's config, then
 * the domain's state: the transport's stdin is a named pipe, which dom0d has QEMU migrate into
 * live (see migration-stream.ts). Then xl's handshake: on
 * "ready" the domain here becomes NAME--migratedaway, "go" is sent, and the receiver's report
 * decides: success destroys the copy here, failure renames it back and resumes it. Any failure
 * before "go" resumes the domain here ("Migration failed, resuming at sender.").
 */
export const migrateCommand = defineCommand<MigrationResult>({
  async run(ctx, args) {
    const o = getopt(args, 'FC:s:epD', [{ name: 'debug', hasArg: false, short: '\u0101' }, { name: 'live', hasArg: false, short: '\u0102' }]);
    requireArgs('migrate', o.positional, 2);
    const [ref, host] = o.positional as [string, string];
    const ssh = o.value('s') ?? 'ssh';
    const rune = ssh === '' ? host : `exec ${ssh} ${host} xl${ctx.progress === true ? ' -t' : ''} migrate-receive${o.has('e') || o.has('F') ? ' -e' : ''}${o.has('\u0101') ? ' -d' : ''}${o.has('p') ? ' -p' : ''}`;
    const api = connectToolstack(ctx);
    const dom = await api.getDomain({ ref });
    // Before any transport runs: the host cannot move (with -C there was no other check).
    if (dom.domid === 0) throw new ToolstackError('NOT_SUPPORTED', 'Cannot migrate Domain-0: it is the host', { hint: 'name a guest domain' });
    // The config code is loaded only for -C (it is most of xl's own start-up).
    const given = o.value('C') === undefined ? undefined : (await import('../saved-config.js')).configFileJson(ctx, o.value('C') as string);
    const log = (line: string): void => void ctx.stderr.write(`${line}\n`);
    // Before any transport runs, the domain's migration becomes this xl's: another xl's (or a
    // machine that cannot migrate) is refused here, before a receiver makes a domain for it. From
    // then on no device comes or goes, so the config read after it is the stream's.
    await api.claimMigration({ ref: String(dom.domid), holder: process.pid });
    const [json, layout] = await Promise.all([
      given ?? api.getDomainConfig({ ref: String(dom.domid) }).then((c) => c.config), api.getMachineLayout({ ref: String(dom.domid) }),
    ]);
    const cInfo = (json['c_info'] ?? {}) as Record<string, unknown>;
    const header = saveFileHeader(JSON.stringify({ ...json, c_info: { ...cInfo, domid: o.has('D') ? dom.domid : 0 } }, null, 4), { pci: layout.pci, ramKiB: layout.ramKiB });

    const dir = makeTempDir('dom0-migrate-');
    let child: ChildProcess | undefined;
    let toReceiver: Socket | undefined;
    let stage = 'before-go' as 'before-go' | 'after-go' | 'done';
    const wasRunning = dom.state === 'running';
    let migrated: Promise<unknown> | undefined;
    /** This session renamed the domain NAME--migratedaway. */
    let renamed = false;
    try {
      return await interruptible(async (check, critical) => {
        // The transport's stdin is a named pipe: xl writes its messages into it, and QEMU's stream
        // goes in from dom0d's side without passing through this process.
        const pipe = openFifo(join(dir, 'stream'));
        try {
          child = spawn('sh', ['-c', keepingIgnored(rune)], { stdio: [pipe.readFd, 'pipe', 'inherit'] });
          // A transport that cannot be run shows as a receiver that never answered.
          child.once('error', (e) => log(`migration transport: ${e.message}`));
        } finally {
          closeSync(pipe.readFd);
        }
        const transport = child;
        toReceiver = new Socket({ fd: pipe.writeFd, readable: false, writable: true });
        toReceiver.on('error', () => { /* a receiver that died shows as a failed read below */ });
        const reader = new StreamReader(transport.stdout as Readable);
        await expectMessage(reader, RECEIVER_BANNER, 'banner', rune);
        await writeAll(toReceiver, header);
        // A receiver gone mid-stream leaves the pipe without a reader: QEMU's writes fail and dom0d
        // cancels the migration. One gone before QEMU's side opened the pipe would leave that open
        // waiting: a reader that throws the stream away stands in, and "ready" never comes.
        check();
        const migrating = api.migrateDomain({ ref: String(dom.domid), fifo: pipe.path, holder: process.pid });
        migrated = migrating;
        const stats = await withStandInReader(transport, pipe.path, withProgress(ctx, api, String(dom.domid), 'migration sender', migrating));
        await expectMessage(reader, RECEIVER_READY, 'ready message', rune);
        check();
        log('migration sender: Target has acknowledged transfer.');
        // Set before the call: a dom0d killed before its reply may have renamed it.
        renamed = true;
        // Whole: the failure path renames it back, which a rename still under way would undo.
        await critical(() => api.renameDomain({ ref: String(dom.domid), name: migrationName(dom.name, '--migratedaway'), from: dom.name }));
        check();
        log('migration sender: Giving target permission to start.');
        stage = 'after-go';
        await writeAll(toReceiver, PERMISSION_TO_GO);
        await expectMessage(reader, RECEIVER_REPORT, 'success/failure report message', rune);
        const status = (await reader.read(1, 'success/failure status'))[0] as number;
        if (status !== 0) {
          log(`migration sender: Target reports startup failure (status code ${status}).`);
          await expectMessage(reader, PERMISSION_TO_GO, 'permission for sender to resume', rune);
          check();
          log('migration sender: Trying to resume at our end.');
          await api.renameDomain({ ref: String(dom.domid), name: dom.name });
          if (wasRunning) await api.unpauseDomain({ ref: String(dom.domid), holder: process.pid });
          await api.endMigration({ ref: String(dom.domid) });
          log('migration sender: Resumed OK.');
          throw new ToolstackError('MIGRATION', 'Migration failed due to problems at target.', { lines: ['Migration failed due to problems at target.'] });
        }
        check();
        log('migration sender: Target reports successful startup.');
        stage = 'done';
        await destroyMigratedAway(api, dom);
        log(`migration sender: ${Math.round(stats.ramBytes / 1024)} KiB of memory in ${stats.totalMs} ms, downtime ${stats.downtimeMs} ms.`);
        log('Migration successful.');
        return { data: stats };
      });
    } catch (e) {
      if (stage === 'done' || (isToolstackError(e) && e.message === 'Migration failed due to problems at target.')) throw e;
      if (stage === 'after-go') {
        throw new ToolstackError('MIGRATION', 'Migration failed during final handshake', {
          cause: e,
          lines: [...errorLines(e), '** Migration failed during final handshake **', 'Domain state is now undefined !',
            'Please CHECK AT BOTH ENDS for running instances, before renaming and', ' resuming at most one instance.  Two simultaneous instances of the domain',
            ' would probably result in SEVERE DATA LOSS and it is now your', ' responsibility to avoid that.  Sorry.'],
        });
      }
      toReceiver?.destroy();
      // Before "go" the receiver never runs the domain: it goes on here, once its stream has
      // ended (interrupted, this xl may not have seen it end: one that completed leaves it
      // stopped; one that failed left it as it was). A dom0d that died under the migration took
      // the claim with it: a domain its successor keeps stopped (it was stopped when the reply
      // was lost) is this session's to resume.
      const outcome = await Promise.race([
        migrated?.then(() => 'sent' as const, (m: unknown) => (isToolstackError(m, 'DAEMON_UNAVAILABLE') ? 'dom0d died' as const : 'failed' as const)),
        new Promise<'failed'>((r) => setTimeout(() => r('failed'), 10_000).unref()),
      ]) ?? 'failed';
      let ended = false;
      const now = await againWhileDom0dRestarts(() => api.getDomain({ ref: String(dom.domid) })).catch((m: unknown) => {
        ended = isToolstackError(m, 'DOMAIN_NOT_FOUND');
        return undefined;
      });
      if (renamed && now?.name === migrationName(dom.name, '--migratedaway')) await api.renameDomain({ ref: String(dom.domid), name: dom.name, from: migrationName(dom.name, '--migratedaway') }).catch(() => undefined);
      const stuck = outcome !== 'failed' && wasRunning && now?.state === 'paused' ? await resumeHere(api, String(dom.domid), child) : undefined;
      // The claim is this session's to end (a dom0d that died ended it).
      if (outcome !== 'dom0d died') await api.endMigration({ ref: String(dom.domid) }).catch(() => undefined);
      // A domain whose machine died meanwhile is not resumed: its on_crash decides. (One not found
      // is not taken for gone: a dom0d that died is started again and finds it.)
      const crashed = (isToolstackError(e) && e.code === 'MACHINE_GONE') || now?.state === 'shutdown' || now?.state === 'dying';
      // A guest that powered off or rebooted meanwhile ended the domain here: its on_* action went
      // first (a restart is a new domain), and the stream of its machine has no use.
      const last = crashed ? `Migration failed: domain '${dom.name}' crashed at the sender (its QEMU exited); its on_crash applies.`
        : ended ? `Migration failed: domain '${dom.name}' (${dom.domid}) ended at the sender during the migration (its guest shut down or rebooted: its on_poweroff/on_reboot applied; xl list shows what followed).`
          : 'Migration failed, resuming at sender.';
      if (stuck !== undefined) {
        const why = `migration sender: domain ${dom.domid} stays paused here: resuming it failed: ${(stuck as Error).message}`;
        throw new ToolstackError(isToolstackError(e) ? e.code : 'MIGRATION', why, { cause: e, lines: [...errorLines(e), last, why], hint: `once the cause is gone: xl unpause ${dom.domid}`, exitCode: exitCodeOf(e) });
      }
      throw new ToolstackError(isToolstackError(e) ? e.code : 'MIGRATION', last, { cause: e, lines: [...errorLines(e), last], exitCode: exitCodeOf(e) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      toReceiver?.end();
      if (child !== undefined) {
        const c = child;
        if (c.exitCode === null && c.signalCode === null) {
          await Promise.race([new Promise((r) => c.once('exit', r)), new Promise((r) => setTimeout(r, 2000).unref())]);
          if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
        }
        c.stdout?.destroy();
      }
    }
  },
  render: () => '',
});

/**
 * Resumes the sender's domain after a failed migration; resolves with the error that kept it
 * paused, or undefined. A failure is tried again after the transport has ended, for 10 s: on this
 * host the receiving QEMU holds the disks' locks (taken when its stream completed) until the
 * receiver has destroyed its copy.
 */
async function resumeHere(api: ToolstackApi, ref: string, transport: ChildProcess | undefined): Promise<unknown> {
  const deadline = monotonicMs() + 10_000;
  for (let tries = 0; ; tries++) {
    try {
      await api.unpauseDomain({ ref, holder: process.pid });
      return undefined;
    } catch (e) {
      if (isToolstackError(e, 'DOMAIN_STATE') && (await api.getDomain({ ref }).catch(() => undefined))?.state === 'running') return undefined;
      if (monotonicMs() > deadline) return e;
      if (tries === 0 && transport !== undefined && transport.exitCode === null && transport.signalCode === null) {
        await Promise.race([new Promise((r) => transport.once('exit', r)), new Promise((r) => setTimeout(r, 10_000).unref())]);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Destroys the sender's stopped copy once the target runs the domain, through a dom0d killed
 * meanwhile (one that destroyed it before dying leaves nothing to find); a copy that cannot be
 * destroyed is said in one line, the migration having succeeded.
 */
async function destroyMigratedAway(api: ToolstackApi, dom: DomainInfo): Promise<void> {
  const ref = String(dom.domid);
  try {
    await destroyIfThere(api, ref);
  } catch (e) {
    throw new ToolstackError(isToolstackError(e) ? e.code : 'MIGRATION', `Migration successful, but the stopped copy here, ${migrationName(dom.name, '--migratedaway')} (domain ${ref}), could not be destroyed: ${(e as Error).message}`, {
      hint: `the domain runs at the target; destroy the copy here: xl destroy ${ref}`,
      cause: e,
    });
  }
}

/** The exit status of a failure that ends in `e` (an interruption's is the signal's). */
function exitCodeOf(e: unknown): number {
  return isToolstackError(e) ? e.exitCode : 1;
}

function errorLines(e: unknown): string[] {
  if (isToolstackError(e)) return [...(e.lines ?? [e.message])];
  return [`migration sender: ${e instanceof Error ? e.message : String(e)}`];
}
