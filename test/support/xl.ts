// Runs `xl` in-process (cli/main's xlMain) with captured output, for tests of commands.
import { PassThrough } from 'node:stream';
import { xlMain } from '../../src/cli/main.js';

export interface XlRun {
  readonly rc: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `xl ARGV...` with the given environment and working directory; stdin is empty. */
export async function runXl(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd: string }): Promise<XlRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  const rc = await xlMain(argv, { stdin: new PassThrough(), stdout, stderr, env: options.env ?? {}, cwd: options.cwd });
  return { rc, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
