import { connectToolstack } from '../../api/index.js';
import type { CpupoolInfo } from '../../api/index.js';
import { cpupoolConfig, readOtherConfig } from '../../config/index.js';
import type { CpupoolConfig } from '../../config/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand, FailureOnStdout } from '../command.js';
import { withXlLine } from '../cpupool.js';
import { getopt } from '../getopt.js';

interface CreateData {
  readonly source: string;
  readonly config: CpupoolConfig;
  /** The pool made; null for a dry run. */
  readonly pool: CpupoolInfo | null;
}

/**
 * `xl cpupool-create [-f FILE] [-n] [<ConfigFile>] [Variable=value ...]` (`main_cpupoolcreate`):
 * reads the pool's config (xlcpupool.cfg: name, sched, nodes, cpus; `key=value` arguments after
 * the file), prints what it makes, then makes it (its cpuset) unless it is a dry run (`-n`, or
 * the global `-N`). xl's failure line: `error on creating cpupool`.
 */
export const cpupoolCreateCommand = defineCommand<CreateData>({
  async run(ctx, args) {
    const o = getopt(args, 'nf:', [{ name: 'defconfig', hasArg: true, short: 'f' }, { name: 'dryrun', hasArg: false, short: 'n' }]);
    let file = o.value('f');
    const extra: string[] = [];
    for (const a of o.positional) {
      if (a.includes('=')) extra.push(a);
      else if (file === undefined) file = a;
      else throw new ToolstackError('USAGE_ARGS', `Unexpected argument '${a}'`, { lines: [], exitCode: 1, hint: 'give one config file, then Variable=value settings' });
    }
    const api = connectToolstack(ctx);
    const info = await api.getScheduling();
    const warnings: string[] = [];
    const config = cpupoolConfig(readOtherConfig(file, extra), {
      cpus: info.cpus, freeCpus: info.freeCpus, poolNames: info.pools.map((p) => p.name), scheduler: info.scheduler,
    }, file, warnings);
    for (const w of warnings) ctx.warn(w);
    const source = file ?? 'command line';
    if (ctx.dryRun || o.has('n')) return { data: { source, config, pool: null } };
    try {
      const pool = await withXlLine('error on creating cpupool', () => api.createCpupool({ name: config.name, sched: config.sched, cpus: config.cpus }));
      return { data: { source, config, pool } };
    } catch (e: unknown) {
      if (!(e instanceof ToolstackError) || e.code === 'DAEMON_UNAVAILABLE') throw e;
      throw new FailureOnStdout(e.code, e.message, summary(source, config), { cause: e, ...(e.lines === undefined ? {} : { lines: e.lines }), ...(e.hint === undefined ? {} : { hint: e.hint }) });
    }
  },
  render: (d) => summary(d.source, d.config),
});

/** What xl prints before it makes the pool. */
function summary(source: string, c: CpupoolConfig): string {
  return `Using config file "${source}"\ncpupool name:   ${c.name}\nscheduler:      ${c.sched}\nnumber of cpus: ${c.cpus.length}\n`;
}
