import type { ReadStream, WriteStream } from 'node:tty';
import { connectToolstack } from '../../api/index.js';
import type { StatsSample, ToolstackApi } from '../../api/index.js';
import { monotonicMs, toJson, ToolstackError, WakeablePause } from '../../common/index.js';
import type { StopSignal } from '../../common/index.js';
import type { CommandContext } from '../command.js';
import { defineCommand } from '../command.js';
import { leaveRawMode } from '../console-session.js';
import { getopt } from '../getopt.js';
import { interruptedError, stopSignals } from '../interrupt.js';
import { XENTOP_FIELDS, xentopJson, xentopSummary, xentopTable } from '../xentop.js';
import type { XentopView } from '../xentop.js';

/** xentop's usage text (`-h`), for the program name it was started as. */
export function xentopUsage(program: string): string {
  return `Usage: ${program} [OPTION]\nDisplays ongoing information about xen vm resources \n\n` +
    '-h, --help           display this help and exit\n' +
    '-V, --version        output version information and exit\n' +
    '-d, --delay=SECONDS  seconds between updates (default 3)\n' +
    '-n, --networks       output vif network data\n' +
    '-x, --vbds           output vbd block device data\n' +
    '-r, --repeat-header  repeat table header before each domain\n' +
    '-v, --vcpus          output vcpu data\n' +
    '-b, --batch          output in batch mode, no user input accepted\n' +
    '-p, --pcpus          show physical CPU stats\n' +
    '-i, --iterations     number of iterations before exiting\n' +
    '-f, --full-name      output the full domain name (not truncated)\n' +
    '-z, --dom0-first     display dom0 first (ignore sorting)\n';
}

/**
 * `xl top [OPTION]` (and `xentop`, bin/xentop): Xen's xl runs xentop; this is xentop, with its
 * options. Batch mode (`-b`) prints the table every `-d` seconds, `-i` times (else until
 * SIGINT/SIGTERM), with `--json` one JSON object a line; otherwise a full-screen view of the
 * terminal, redrawn every `-d` seconds and at each key: D delay, N networks, B vbds, V vCPUs,
 * R repeat header, S sort column, arrows scroll, Q or Esc quits. `-p` (physical CPU stats) has
 * no source here and prints nothing, as xentop where the hypervisor gives none.
 */
export const topCommand = defineCommand<undefined>({
  async run(ctx, args) {
    const p = getopt(args, 'hVnxrvd:bpi:fz', [
      { name: 'help', hasArg: false, short: 'h' }, { name: 'version', hasArg: false, short: 'V' },
      { name: 'networks', hasArg: false, short: 'n' }, { name: 'vbds', hasArg: false, short: 'x' },
      { name: 'repeat-header', hasArg: false, short: 'r' }, { name: 'vcpus', hasArg: false, short: 'v' },
      { name: 'delay', hasArg: true, short: 'd' }, { name: 'batch', hasArg: false, short: 'b' },
      { name: 'pcpus', hasArg: false, short: 'p' }, { name: 'iterations', hasArg: true, short: 'i' },
      { name: 'full-name', hasArg: false, short: 'f' }, { name: 'dom0-first', hasArg: false, short: 'z' },
    ]);
    const has = (k: string): boolean => p.has(k);
    const program = ctx.env['DOM0_XENTOP_NAME'] ?? 'xl top';
    if (has('h')) {
      ctx.stdout.write(xentopUsage(program));
      return {};
    }
    if (has('V')) {
      ctx.stdout.write('xentop 1.0 (dom0)\n');
      return {};
    }
    // As xentop's atoi: a value that is not a number is 0 (no wait; for -i, one iteration).
    const int = (k: string, dflt: number): number => {
      const v = p.value(k);
      return v === undefined ? dflt : Number.parseInt(/^\s*[-+]?\d+/.exec(v)?.[0] ?? '0', 10);
    };
    const view: XentopView = {
      vcpus: has('v'), networks: has('n'), vbds: has('x'), repeatHeader: has('r'), fullName: has('f'), dom0First: has('z'), sortField: 0,
    };
    const delaySec = Math.max(0, int('d', 3));
    const iterations = has('i') ? Math.max(1, int('i', 1)) : undefined;
    const api = connectToolstack(ctx);
    if (has('b') || ctx.json) await batch(ctx, api, view, delaySec, iterations);
    else await interactive(ctx, api, view, delaySec, iterations);
    return {};
  },
  render: () => '',
});

async function batch(ctx: CommandContext, api: ToolstackApi, view: XentopView, delaySec: number, iterations: number | undefined): Promise<void> {
  // A stop signal ends the loop at once, not after the interval (-d) in progress, and xl by it.
  let stoppedBy: StopSignal | undefined;
  const pause = new WakeablePause();
  const signals = stopSignals();
  const onSignal = (sig: StopSignal): void => {
    stoppedBy ??= sig;
    pause.wake();
  };
  for (const sig of signals) process.on(sig, onSignal);
  try {
    let prev: StatsSample | undefined;
    for (let n = 1; stoppedBy === undefined; n++) {
      const cur = await api.domainStats();
      ctx.stdout.write(ctx.json ? `${toJson(xentopJson(cur, prev))}\n` : xentopTable(cur, prev, view));
      prev = cur;
      if (iterations !== undefined && n >= iterations) break;
      await pause.pause(delaySec * 1000);
    }
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
  }
  if (stoppedBy !== undefined) throw interruptedError(stoppedBy);
}

async function interactive(ctx: CommandContext, api: ToolstackApi, start: XentopView, delaySec: number, iterations: number | undefined): Promise<void> {
  const input = ctx.stdin as ReadStream;
  const output = ctx.stdout as WriteStream;
  if (input.isTTY !== true || output.isTTY !== true) {
    throw new ToolstackError('USAGE', 'xentop needs a terminal for its screen', { hint: 'use batch mode: -b (with -i N for N samples, -d S between them)' });
  }
  let view = start;
  let delay = delaySec;
  let first = 0;
  let prompt: string | undefined;
  let wake: (() => void) | undefined;
  let quit = false;
  const onKey = (chunk: Buffer): void => {
    const k = chunk.toString('latin1');
    if (prompt !== undefined) {
      if (k === '\r' || k === '\n') {
        const v = Number.parseInt(prompt, 10);
        if (Number.isInteger(v) && v > 0) delay = v;
        prompt = undefined;
      } else if (k === '\x7f' || k === '\b') prompt = prompt.slice(0, -1);
      else if (k === '\x1b') prompt = undefined;
      else prompt += k.replace(/[^\d]/g, '');
    } else if (k === 'q' || k === 'Q' || k === '\x1b' || k === '\x03') quit = true;
    else if (k === 'n' || k === 'N') view = { ...view, networks: !view.networks };
    else if (k === 'b' || k === 'B') view = { ...view, vbds: !view.vbds };
    else if (k === 'v' || k === 'V') view = { ...view, vcpus: !view.vcpus };
    else if (k === 'r' || k === 'R') view = { ...view, repeatHeader: !view.repeatHeader };
    else if (k === 's' || k === 'S') view = { ...view, sortField: (view.sortField + 1) % XENTOP_FIELDS.length };
    else if (k === 'd' || k === 'D') prompt = '';
    else if (k === '\x1b[B') first++;
    else if (k === '\x1b[A') first = Math.max(0, first - 1);
    wake?.();
  };
  // A SIGTERM, SIGINT (kill -INT: Ctrl-C is a key here) or SIGHUP (the terminal closed) ends the
  // loop too, so the screen is put back; so does a terminal that went away (its reads fail).
  const signals = stopSignals();
  let stoppedBy: StopSignal | undefined;
  const onSignal = (sig: StopSignal): void => {
    // A second signal ends xl as it would have (a dom0d that does not answer holds the loop).
    for (const s of signals) process.off(s, onSignal);
    stoppedBy ??= sig;
    quit = true;
    wake?.();
  };
  const onInputGone = (): void => {
    quit = true;
    wake?.();
  };
  input.setRawMode(true);
  input.on('data', onKey);
  input.on('error', onInputGone);
  for (const sig of signals) process.on(sig, onSignal);
  output.write('\x1b[?1049h\x1b[?25l');
  try {
    let prev: StatsSample | undefined;
    let lastSample = 0;
    for (let n = 0; !quit;) {
      if (monotonicMs() - lastSample >= delay * 1000 || prev === undefined) {
        const cur = await api.domainStats();
        lastSample = monotonicMs();
        draw(output, cur, prev, view, first, prompt);
        prev = cur;
        n++;
        if (iterations !== undefined && n >= iterations) break;
      } else if (prev !== undefined) {
        draw(output, prev, undefined, view, first, prompt);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(0, delay * 1000 - (monotonicMs() - lastSample)));
        wake = (): void => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    input.off('data', onKey);
    leaveRawMode(input);
    input.pause();
    output.write('\x1b[?25h\x1b[?1049l');
  }
  if (stoppedBy !== undefined) throw interruptedError(stoppedBy);
}

/** One screen: summary, table (from domain `first` on), and the key line on the last row. */
function draw(out: WriteStream, cur: StatsSample, prev: StatsSample | undefined, view: XentopView, first: number, prompt: string | undefined): void {
  const rows = out.rows > 1 ? out.rows : 24;
  const shown = { ...cur, domains: cur.domains.slice(Math.min(first, Math.max(0, cur.domains.length - 1))) };
  const table = xentopTable(shown, prev, view, (h) => `\x1b[7m${h}\x1b[0m`);
  const lines = `${xentopSummary(cur)}${table}`.split('\n').slice(0, rows - 1);
  const bottom = prompt !== undefined ? `Delay(sec): ${prompt}` : 'Delay  Networks  vBds  VCPUs  Repeat header  Sort order  Quit';
  out.write(`\x1b[H\x1b[2J${lines.join('\r\n')}\x1b[${rows};3H${bottom}`);
}
