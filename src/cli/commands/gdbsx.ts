import { rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { connectToolstack } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand, FailureOnStdout } from '../command.js';
import type { CommandContext } from '../command.js';
import { makeTempDir } from '../temp-dir.js';

const USAGE = 'Usage 1: gdbsx -a domid <32|64> PORT [-d]\n         PORT to listen for a TCP connection.\n         Eg. gdbsx -a 3 32 9999\n\n' +
  'Usage 2: gdbsx -c domid <32|64> [vcpu#] [-d]\n         to dump vcpu context(s) for given domid\n\n';

/**
 * Xen's `gdbsx` (bin/gdbsx; also `xl gdbsx`), with its command line and messages:
 * - `-a domid 32|64 PORT`: waits on TCP PORT for one gdb (`target remote HOST:PORT`) and serves
 *   it through QEMU's gdbstub, which dom0d opens for the domain on a private Unix socket (HMP
 *   `gdbserver`): gdb stops the guest when it attaches, and the guest runs again when gdb detaches
 *   or goes; then the gdbstub is closed and gdbsx exits, as Xen's does.
 * - `-c domid 32|64 [vcpu]`: prints the vCPUs' registers (HMP `info registers -a`), or one's.
 * Bad arguments print its usage and exit 1.
 */
export const gdbsxCommand = defineCommand<undefined>({
  async run(ctx, rawArgs) {
    const args = [...rawArgs];
    if (args.at(-1) === '-d') args.pop();
    // gdbsx prints its usage on stdout (with --json: the error there, the usage on stderr).
    const usage = (): never => {
      throw new FailureOnStdout('USAGE', 'gdbsx: bad arguments', USAGE, { lines: [], exitCode: 1 });
    };
    const [mode, dom, bits, extra] = args;
    const num = (s: string | undefined): number | undefined => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);
    if (args.length < 3 || mode === '-h' || (mode === '-a' && args.length < 4) || args.length > 4) return usage();
    const domid = num(dom);
    if (domid === undefined || domid === 0 || (bits !== '32' && bits !== '64') || (mode !== '-a' && mode !== '-c')) return usage();
    const api = connectToolstack(ctx);
    if (mode === '-c') {
      const vcpu = extra === undefined ? undefined : num(extra);
      if (extra !== undefined && vcpu === undefined) return usage();
      const { output } = await api.monitorCommand({ ref: String(domid), command: 'info registers -a' });
      const blocks = output.trim().split(/\r?\n(?=CPU#\d+)/);
      const shown = vcpu === undefined ? blocks : blocks.filter((b) => b.startsWith(`CPU#${vcpu}\n`) || b.startsWith(`CPU#${vcpu}\r`));
      if (shown.length === 0) {
        ctx.stdout.write(`gdbsx: Invalid VCPU id:${String(vcpu)}\n`);
        return usage();
      }
      ctx.stdout.write(`${shown.join('\n').trimEnd()}\n`);
      return {};
    }
    const port = num(extra);
    if (port === undefined || port > 65535) return usage();
    return serve(ctx, domid, port);
  },
  render: () => '',
});

async function serve(ctx: CommandContext, domid: number, port: number): Promise<{ exitCode?: number }> {
  const api = connectToolstack(ctx);
  const say = (line: string): void => void ctx.stdout.write(`${line}\n`);
  const dir = makeTempDir('dom0-gdbsx-');
  const stub = join(dir, 'gdb.sock');
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new ToolstackError('IO', `Cannot listen on port ${port}: ${e.message}`, {
        hint: e.code === 'EADDRINUSE' ? `another program has port ${port}: give another` : e.code === 'EACCES' ? 'ports below 1024 need root' : 'give another port',
        cause: e,
      })));
      server.listen(port, () => resolve());
    });
    say(`Listening on port ${port}`);
    const gdb = await new Promise<Socket>((resolve) => server.once('connection', resolve));
    server.close();
    say(`Remote debugging from host ${gdb.remoteAddress?.replace(/^::ffff:/, '') ?? '?'}`);
    const { output } = await api.monitorCommand({ ref: String(domid), command: `gdbserver unix:${stub},server=on,wait=off` });
    if (!/Waiting for gdb connection/i.test(output) && output.trim() !== '') {
      gdb.destroy();
      say(`ERROR: failed to attach to domain:${domid} (${output.trim()})`);
      return { exitCode: 1 };
    }
    const qemu = await new Promise<Socket>((resolve, reject) => {
      const s = connect(stub);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    gdb.pipe(qemu);
    qemu.pipe(gdb);
    await new Promise<void>((resolve) => {
      gdb.once('close', resolve);
      qemu.once('close', resolve);
    });
    gdb.destroy();
    qemu.destroy();
    say('Detaching from guest');
    // The gdbstub goes; a guest gdb left stopped runs again (Xen's gdbsx unpauses it on detach).
    await api.monitorCommand({ ref: String(domid), command: 'gdbserver none' }).catch(() => undefined);
    const dom = await api.getDomain({ ref: String(domid) });
    if (dom.state === 'running') await api.monitorCommand({ ref: String(domid), command: 'cont' }).catch(() => undefined);
    say('Exiting.. Remote side has terminated connection');
    return {};
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
