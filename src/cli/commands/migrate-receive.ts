import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { connectToolstack, readSaveFileHeader, saveFileDataLength } from '../../api/index.js';
import type { DomainInfo } from '../../api/index.js';
import { isToolstackError, terminalSafe, ToolstackError } from '../../common/index.js';
import type { LibxlJsonObject } from '../../config/index.js';
import { defineCommand } from '../command.js';
import type { CommandContext, CommandResult } from '../command.js';
import { makeTempDir } from '../temp-dir.js';
import { getopt } from '../getopt.js';
import type { ParsedOptions } from '../getopt.js';
import { interruptible } from '../interrupt.js';
import { againWhileDom0dRestarts, destroyIfThere, expectMessage, migrationName, PERMISSION_TO_GO, RECEIVER_BANNER, RECEIVER_READY, RECEIVER_REPORT, StreamReader, writeAll } from '../migration-stream.js';

/**
 * `xl migrate-receive [-e] [-d] [-p]` — for internal use: the receiving end of `xl migrate`, on
 * its stdin and stdout (see migration-stream.ts). The domain is created paused as
 * NAME--incoming, its QEMU taking the state stream on a Unix socket this process feeds with all
 * it reads until that QEMU has loaded the stream; after "ready" and the sender's "go" it is
 * renamed NAME and unpaused (`-p`: left paused), and the report goes back. A failure after the
 * domain exists and before a success report destroys it here; after that report it is the
 * domain (the sender destroys its own copy on it), and nothing here destroys it.
 */
export const migrateReceiveCommand = defineCommand<DomainInfo>({
  async run(ctx, args) {
    const o = getopt(args, 'Fedrp', [{ name: 'colo', hasArg: false, short: '\u0101' }]);
    if (o.has('r') || o.has('\u0101')) {
      throw new ToolstackError('NOT_SUPPORTED', 'Remus and COLO streams are not supported by dom0', { hint: 'migrate without remus: xl migrate' });
    }
    // Nothing more is read once this ends, however it ends: the sender sees this end close when
    // this process exits (a stdin still open would keep it alive until the sender closed it).
    const reader = new StreamReader(ctx.stdin);
    try {
      return await receive(ctx, o, reader);
    } finally {
      reader.close();
    }
  },
  render: () => '',
});

async function receive(ctx: CommandContext, o: ParsedOptions, reader: StreamReader): Promise<CommandResult<DomainInfo>> {
  // Lines may quote the stream's config and QEMU's words on it: shown escaped, one line each.
  const log = (line: string): void => void ctx.stderr.write(`${terminalSafe(line)}\n`);
  const out = ctx.stdout;
  log('migration target: Ready to receive domain.');
  await writeAll(out, RECEIVER_BANNER);
  const head = await reader.read(48, 'save file header');
  // Checked before its config is read: what is no save stream says so, and is not read on.
  const optional = await reader.read(saveFileDataLength(head, 'migration stream'), 'config');
  const info = readSaveFileHeader(Buffer.concat([head, optional]), 'migration stream');
  if (info.config === undefined) throw new ToolstackError('MIGRATION', 'migration stream holds no domain config', { lines: ['migration stream holds no domain config'] });
  const config = info.config as LibxlJsonObject;
  const cInfo = (config['c_info'] ?? {}) as Record<string, unknown>;
  const name = typeof cInfo['name'] === 'string' ? cInfo['name'] : '';
  const api = connectToolstack(ctx);
  const dir = makeTempDir('dom0-migrate-in-');
  const socket = join(dir, 'qemu.sock');
  let domid: number | undefined;
  let created: Promise<DomainInfo> | undefined;
  /** Why the create failed, once it has. */
  let failed: unknown;
  /** The failure was said, as Xen's receiver says it, on the way. */
  let reported = false;
  let qemu: Socket | undefined;
  /** The domain was started here and reported so: it is the migrated domain, whatever follows. */
  let running = false;
  try {
    return await interruptible(async (check, critical) => {
      created = api.createDomain({
        config: { ...config, c_info: { ...cInfo, name: migrationName(name, '--incoming') } },
        paused: true, noMonitor: o.has('e'), source: 'migration stream', incoming: { socket, holder: process.pid },
        ...(info.layout === undefined ? {} : { layout: info.layout }),
      });
      created.catch((e: unknown) => {
        failed = e;
      });
      // Stops at a signal too: a connection made after this process gave up would hold the
      // receiving QEMU waiting for a stream, its create with it, long after the sender resumed.
      const sink = await connectWhenListening(socket, () => {
        if (failed !== undefined) throw failed instanceof Error ? failed : new Error('the domain could not be created');
        check();
      });
      qemu = sink;
      sink.on('error', () => { /* shows as the relay's failure below */ });
      // All that comes goes into QEMU until the create returns: it does once QEMU has loaded the
      // whole stream (or failed, its dom0d gone, say).
      if (!await relayWithSocat(reader, sink, created)) await reader.relayUntil(sink, 'the receiving QEMU', created);
      sink.end();
      const dom = await created;
      domid = dom.domid;
      check();
      log('migration target: Transfer complete, requesting permission to start domain.');
      await writeAll(out, RECEIVER_READY);
      await expectMessage(reader, PERMISSION_TO_GO, 'GO message');
      check();
      log('migration target: Got permission, starting domain.');
      // From "go" the sender's copy is stopped for good unless this end reports a failure: the
      // domain's start and its report are not cut off by a signal (whose undo destroyed the copy
      // here that the sender, told success, destroyed there too).
      const started = await critical(async () => {
        let status = 0;
        try {
          await api.renameDomain({ ref: String(domid), name });
          if (!o.has('p')) await api.unpauseDomain({ ref: String(domid) });
          log('migration target: Domain started successsfully.');
        } catch (e) {
          status = 3;
          log(`migration target: ${(e as Error).message}`);
        }
        const report = Buffer.concat([Buffer.from(RECEIVER_REPORT, 'latin1'), Buffer.from([status])]);
        if (status !== 0) {
          await writeAll(out, report);
          return undefined;
        }
        // On this report the sender destroys its copy: from here this one is the domain, and
        // nothing here destroys it (not a signal, not a dom0d that dies before the last reply).
        const id = domid as number;
        domid = undefined;
        running = true;
        await writeAll(out, report);
        return id;
      });
      if (started !== undefined) {
        const final = await againWhileDom0dRestarts(() => api.getDomain({ ref: String(started) }));
        return { data: final };
      }
      log('migration target: Failure, destroying our copy.');
      reported = true;
      await destroyIfThere(api, String(domid));
      domid = undefined;
      log('migration target: Cleanup OK, granting sender permission to resume.');
      await writeAll(out, PERMISSION_TO_GO);
      throw new ToolstackError('MIGRATION', 'migration target: startup failed', { lines: [] });
    });
  } catch (e) {
    qemu?.destroy();
    // The half-received domain goes once its create has settled (its QEMU stops at a broken
    // stream). A create that failed left nothing; one that does not settle here fails in dom0d
    // (its stall guard) and leaves nothing either. Never by name: NAME--incoming may be another
    // migration's (two of one domain into this host at once).
    if (domid === undefined && created !== undefined && !running) {
      // Interrupted, it waits little: its sender waits for its end (30 s of stall before), and
      // a domain that arrives after is dom0d's to destroy (its receiving xl, the holder, gone).
      const waitMs = isToolstackError(e, 'INTERRUPTED') ? 2_000 : 60_000;
      const settled = await Promise.race([created.then((d) => d.domid, () => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), waitMs).unref())]);
      if (settled !== undefined) await api.destroyDomain({ ref: String(settled) }).catch(() => undefined);
    }
    // The create's own reason (QEMU's, say) is what the relay's broken stream above followed from.
    if (!running && failed instanceof Error && failed !== e) log(`migration target: ${failed.message}`);
    // Xen's words: a domain that was made here is destroyed (below); else its create failed.
    if (!running && !reported) log(domid === undefined ? 'migration target: Domain creation failed (code -3).' : 'migration target: Failure, destroying our copy.');
    throw e;
  } finally {
    if (domid !== undefined) await api.destroyDomain({ ref: String(domid) }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Connects to the Unix socket QEMU listens on once it is there. `go` throws to stop (the create
 * failed, a signal came): it is asked before each try and once connected, when the connection is
 * closed again if it throws.
 */
async function connectWhenListening(path: string, go: () => void): Promise<Socket> {
  for (;;) {
    go();
    let s: Socket;
    try {
      s = await new Promise<Socket>((resolve, reject) => {
        const c = connect(path);
        c.once('connect', () => {
          c.off('error', reject);
          resolve(c);
        });
        c.once('error', reject);
      });
    } catch {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    try {
      go();
    } catch (e) {
      s.destroy();
      throw e;
    }
    return s;
  }
}

/**
 * `StreamReader.relayUntil` with socat copying (a fifth of the CPU Node's copying takes, and the
 * receiving host's QEMU gets the stream sooner): socat reads this process's stdin itself and
 * writes into `sink` until `done` settles, then it is stopped and the reader reads again (the
 * sender sends nothing more before "ready", so socat can have taken nothing else). False, having
 * done nothing, when socat is not installed or the reader cannot give its stream away.
 */
async function relayWithSocat(reader: StreamReader, sink: Socket, done: Promise<unknown>): Promise<boolean> {
  const detached = reader.detach();
  if (detached === undefined) return false;
  let copier: ChildProcess | undefined;
  try {
    if (detached.held.length > 0) await writeAll(sink, detached.held);
    // socat waits a whole second when a write would block: its end of QEMU's socket (Node's,
    // non-blocking) is made blocking, so a write waits for QEMU to read instead.
    // A socket QEMU has closed already (it failed at once) cannot be handed on.
    if (sink.destroyed) {
      throw new ToolstackError('MIGRATION', 'migration stream: the receiving QEMU closed its end before the stream came', { hint: 'see the messages above' });
    }
    const c = spawn('socat', ['-u', '-b', String(1 << 20), 'STDIN', 'FD:3,nonblock=0'], { stdio: [detached.fd, 'ignore', 'pipe', sink] });
    let errors = '';
    c.stderr?.on('data', (d: Buffer) => (errors += d.toString()));
    const exited = new Promise<string>((resolve) => c.once('exit', (code, signal) => resolve(signal ?? `exit status ${code}`)));
    if (!await new Promise<boolean>((resolve) => c.once('spawn', () => resolve(true)).once('error', () => resolve(false)))) return false;
    copier = c;
    const ended = await Promise.race([done.then(() => undefined), exited]);
    if (ended !== undefined) {
      throw new ToolstackError('MIGRATION', `migration stream: the stream ended before the domain's state was complete (socat: ${errors.trim() || ended})`, {
        hint: 'the other end of the migration stopped; see its messages above',
      });
    }
    return true;
  } finally {
    if (copier !== undefined && copier.exitCode === null && copier.signalCode === null) {
      const c = copier;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await gone;
    }
    reader.resume();
  }
}

