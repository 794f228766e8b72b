/**
 * Host commands run as children: argv in, stdout out, a typed failure (exit status or signal,
 * stderr's tail) otherwise. A command is done when it exits: output its own children still hold
 * open (a hotplug script that starts a daemon) is read for EXIT_GRACE_MS more, then let go.
 */
import { spawn } from 'node:child_process';

/** A host command that failed: its argv, exit status (or signal) and the tail of its stderr. */
export class CommandFailed extends Error {
  override readonly name: string = 'CommandFailed';
  /**
   * @param spawnError the errno code of a command that could not be started (EAGAIN, EMFILE,
   *   ENOENT, ...); undefined once it ran.
   */
  constructor(readonly argv: readonly string[], readonly status: string, readonly stderr: string, readonly spawnError?: string) {
    super(`${argv.join(' ')}: ${status}${stderr === '' ? '' : `: ${stderr}`}`);
  }

  /** What the tool said (its last stderr line), else how it ended. */
  get detail(): string {
    return this.stderr.split('\n').filter((l) => l.trim() !== '').at(-1)?.trim() ?? this.status;
  }
}

export interface RunOptions {
  /** Written to the command's stdin. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Killed (its whole process group) after this long; default 20 s. */
  readonly timeoutMs?: number;
}

/** libxl's limit for a hotplug script (vif and block `script=`). */
export const HOTPLUG_TIMEOUT_MS = 40_000;

const OUTPUT_LIMIT = 1 << 20;
/** How long output is still read after the command exited (see the module comment). */
const EXIT_GRACE_MS = 200;

/**
 * Runs `binary args`, resolving with its stdout; rejects with `CommandFailed` on a non-zero exit,
 * a signal, the timeout or a binary that cannot be started. The command runs in its own process
 * group so that a timeout also ends what it started; once it has exited, what it started is left
 * alone.
 */
export function runCommand(binary: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const argv = [binary, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...(options.env === undefined ? {} : { env: options.env }) });
    // A spawn that failed for want of file descriptors (EMFILE, ENFILE) has no stdio streams, and
    // its 'error' comes on the next tick.
    let timer: NodeJS.Timeout | undefined = undefined;
    let settled = false;
    child.once('error', (e) => {
      clearTimeout(timer);
      settled = true;
      reject(new CommandFailed(argv, `cannot run it (${e.message})`, '', (e as NodeJS.ErrnoException).code));
    });
    if (child.pid === undefined) {
      for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
      return;
    }
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { if (out.length < OUTPUT_LIMIT) out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { if (err.length < OUTPUT_LIMIT) err += c.toString(); });
    child.stdin.on('error', () => { /* the command did not read its input: its exit status tells */ });
    child.stdin.end(options.input ?? '');
    let timedOut = false;
    const timeoutMs = options.timeoutMs ?? 20_000;
    timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, timeoutMs);
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      if (code === 0) resolve(out);
      else {
        const status = timedOut ? `no answer within ${Math.round(timeoutMs / 1000)} s` : signal !== null ? `killed by ${signal}` : `exit status ${code ?? '?'}`;
        reject(new CommandFailed(argv, status, err.trim()));
      }
    };
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, signal);
      }, EXIT_GRACE_MS);
      child.once('close', () => {
        clearTimeout(grace);
        finish(code, signal);
      });
    });
  });
}
