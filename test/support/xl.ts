// Runs `xl` in-process (cli/main's xlMain) with captured output, for tests of commands.
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { xlMain } from '../../src/cli/main.js';

export interface XlRun {
  readonly rc: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The dom0 directories, all under `base`: a test's xl never reaches the host's own dom0d. */
function sandboxDirs(base: string): NodeJS.ProcessEnv {
  return {
    DOM0_CONFIG_DIR: join(base, 'etc'),
    DOM0_STATE_DIR: join(base, 'state'),
    DOM0_RUN_DIR: join(base, 'run'),
    DOM0_LOG_DIR: join(base, 'log'),
  };
}

/**
 * `xl ARGV...` with the given environment and working directory; stdin is empty. DOM0_*_DIR
 * not given in `env` point below `cwd` (never at the host's `/run/dom0`).
 */
export async function runXl(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd: string }): Promise<XlRun> {
  const stdout = capture();
  const stderr = capture();
  const rc = await xlMain(argv, { stdin: new PassThrough(), stdout: stdout.stream, stderr: stderr.stream, env: { ...sandboxDirs(join(options.cwd, '.dom0')), ...options.env }, cwd: options.cwd });
  return { rc, stdout: stdout.text(), stderr: stderr.text() };
}

/** A stream that keeps what is written to it, for `text()`. */
export function capture(): { readonly stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}
