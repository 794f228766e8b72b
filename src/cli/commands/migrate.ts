import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectToolstack } from '../../api/index.js';
import type { MigrationResult } from '../../api/index.js';
import { isToolstackError, ToolstackError } from '../../common/index.js';
import { saveFileHeader } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';
import { END_FRAME, expectMessage, framesInto, PERMISSION_TO_GO, RECEIVER_BANNER, RECEIVER_READY, RECEIVER_REPORT, StreamReader, writeAll } from '../migration-stream.js';
import { configFileJson } from '../saved-config.js';

/**
 * `xl migrate [-C config] [-s sshcommand] [-e] [--debug] [-p] [-D] <Domain> <host>` (xl_migrate.c):
 * runs `sh -c "exec SSHCOMMAND HOST xl migrate-receive[ -e][ -d][ -p]"` (`-s ''`: HOST is the
 * whole command), reads the receiver's banner, sends xl's header and the domain's config, then
 * the domain's state: dom0d migrates QEMU live to a Unix socket this process listens on, and
 * each piece goes down the pipe as a frame (see migration-stream.ts). Then xl's handshake: on
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
    const rune = ssh === '' ? host : `exec ${ssh} ${host} xl migrate-receive${o.has('e') || o.has('F') ? ' -e' : ''}${o.has('\u0101') ? ' -d' : ''}${o.has('p') ? ' -p' : ''}`;
    const api = connectToolstack(ctx);
    const dom = await api.getDomain({ ref });
    const json = o.value('C') === undefined ? (await api.getDomainConfig({ ref })).config : configFileJson(ctx, o.value('C') as string);
    const cInfo = (json['c_info'] ?? {}) as Record<string, unknown>;
    const header = saveFileHeader(JSON.stringify({ ...json, c_info: { ...cInfo, domid: o.has('D') ? dom.domid : 0 } }, null, 4));
    const log = (line: string): void => void ctx.stderr.write(`${line}\n`);

    const child = spawn('sh', ['-c', rune], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.on('error', () => { /* a receiver that died shows as a failed read or write below */ });
    const reader = new StreamReader(child.stdout);
    const dir = mkdtempSync(join(tmpdir(), 'dom0-migrate-'));
    let server: Server | undefined;
    let qemuConn: Socket | undefined;
    let stage: 'before-go' | 'after-go' = 'before-go';
    const wasRunning = dom.state === 'running';
    try {
      await expectMessage(reader, RECEIVER_BANNER, 'banner', rune);
      await writeAll(child.stdin, header);
      // QEMU connects once and writes its whole stream; each chunk goes down the pipe as a frame.
      const socket = join(dir, 'qemu.sock');
      const streamed = new Promise<void>((resolve, reject) => {
        server = createServer({ highWaterMark: 1 << 20 }, (c) => {
          qemuConn = c;
          // A receiver gone mid-stream breaks QEMU's connection: dom0d then cancels the
          // migration and the guest runs on here.
          const exited = (): void => {
            c.destroy();
            reject(new ToolstackError('MIGRATION', 'migration receiver stream: the receiver exited while the state was sent'));
          };
          if (child.exitCode !== null || child.signalCode !== null) exited();
          else child.once('exit', exited);
          framesInto(c, child.stdin, 'the receiver').then(resolve, reject).finally(() => child.off('exit', exited));
        });
      });
      streamed.catch(() => undefined); // awaited below, once dom0d says the stream is complete
      await new Promise<void>((resolve) => (server as Server).listen(socket, resolve));
      const stats = await api.migrateDomain({ ref: String(dom.domid), socket });
      await streamed;
      await writeAll(child.stdin, END_FRAME);
      await expectMessage(reader, RECEIVER_READY, 'ready message', rune);
      log('migration sender: Target has acknowledged transfer.');
      await api.renameDomain({ ref: String(dom.domid), name: `${dom.name}--migratedaway` });
      log('migration sender: Giving target permission to start.');
      stage = 'after-go';
      await writeAll(child.stdin, PERMISSION_TO_GO);
      await expectMessage(reader, RECEIVER_REPORT, 'success/failure report message', rune);
      const status = (await reader.read(1, 'success/failure status'))[0] as number;
      if (status !== 0) {
        log(`migration sender: Target reports startup failure (status code ${status}).`);
        await expectMessage(reader, PERMISSION_TO_GO, 'permission for sender to resume', rune);
        log('migration sender: Trying to resume at our end.');
        await api.renameDomain({ ref: String(dom.domid), name: dom.name });
        if (wasRunning) await api.unpauseDomain({ ref: String(dom.domid) });
        log('migration sender: Resumed OK.');
        throw new ToolstackError('MIGRATION', 'Migration failed due to problems at target.', { lines: ['Migration failed due to problems at target.'] });
      }
      log('migration sender: Target reports successful startup.');
      await api.destroyDomain({ ref: String(dom.domid) });
      log(`migration sender: ${Math.round(stats.ramBytes / 1024)} KiB of memory in ${stats.totalMs} ms, downtime ${stats.downtimeMs} ms.`);
      log('Migration successful.');
      return { data: stats };
    } catch (e) {
      if (isToolstackError(e) && e.message === 'Migration failed due to problems at target.') throw e;
      if (stage === 'after-go') {
        throw new ToolstackError('MIGRATION', 'Migration failed during final handshake', {
          cause: e,
          lines: [...errorLines(e), '** Migration failed during final handshake **', 'Domain state is now undefined !',
            'Please CHECK AT BOTH ENDS for running instances, before renaming and', ' resuming at most one instance.  Two simultaneous instances of the domain',
            ' would probably result in SEVERE DATA LOSS and it is now your', ' responsibility to avoid that.  Sorry.'],
        });
      }
      child.stdin.destroy();
      // Before "go" the receiver never runs the domain: it goes on here.
      const now = await api.getDomain({ ref: String(dom.domid) }).catch(() => undefined);
      if (now !== undefined && now.name !== dom.name) await api.renameDomain({ ref: String(dom.domid), name: dom.name }).catch(() => undefined);
      if (wasRunning && now?.state === 'paused') await api.unpauseDomain({ ref: String(dom.domid) }).catch(() => undefined);
      throw new ToolstackError(isToolstackError(e) ? e.code : 'MIGRATION', 'Migration failed, resuming at sender.', {
        cause: e, lines: [...errorLines(e), 'Migration failed, resuming at sender.'],
      });
    } finally {
      server?.close();
      qemuConn?.destroy();
      rmSync(dir, { recursive: true, force: true });
      if (child.exitCode === null) {
        child.stdin.end();
        await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 2000).unref())]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      child.stdout.destroy();
    }
  },
  render: () => '',
});

function errorLines(e: unknown): string[] {
  if (isToolstackError(e)) return [...(e.lines ?? [e.message])];
  return [`migration sender: ${e instanceof Error ? e.message : String(e)}`];
}
