import { connectToolstack, libxlJson, SHUTDOWN_REASONS } from '../../api/index.js';
import type { DomainConfigEntry, DomainInfo } from '../../api/index.js';
import { isToolstackError, ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

interface ListOptions {
  readonly verbose: boolean;
  readonly context: boolean;
  readonly cpupool: boolean;
  readonly numa: boolean;
}

/** What `xl list` shows; `--json` prints the API's data (`toJSON`). */
type ListView =
  | { readonly long: false; readonly options: ListOptions; readonly domains: readonly DomainInfo[]; toJSON(): unknown }
  | { readonly long: true; readonly entries: readonly DomainConfigEntry[]; toJSON(): unknown };

const LONG_OPTIONS = [
  { name: 'long', hasArg: false, short: 'l' },
  { name: 'verbose', hasArg: false, short: 'v' },
  { name: 'context', hasArg: false, short: 'Z' },
  { name: 'cpupool', hasArg: false, short: 'c' },
  { name: 'numa', hasArg: false, short: 'n' },
];

/** `xl list [options] [Domain]` (xl_info.c `main_list`). */
export const listCommand = defineCommand<ListView>({
  name: 'list',
  summary: 'List information about all/some domains',
  usage: '[options] [Domain]\n',
  optionsHelp: '-l, --long              Output all VM details\n' +
    '-v, --verbose           Prints out UUIDs and security context\n' +
    '-Z, --context           Prints out security context\n' +
    '-c, --cpupool           Prints the cpupool the domain is in\n' +
    '-n, --numa              Prints out NUMA node affinity',
  canDryRun: false,
  modifies: false,
  async run(ctx, args) {
    const p = getopt(args, 'lvZcn', LONG_OPTIONS);
    if (p.positional.length > 1) {
      // Xen prints the help and fails (exit 1, not a usage error); help.js imports the table: load it late.
      const { commandHelp } = await import('./help.js');
      ctx.stdout.write(commandHelp(listCommand));
      return { exitCode: 1 };
    }
    const api = connectToolstack(ctx);
    const ref = p.positional[0];
    if (p.has('l')) {
      let entries: DomainConfigEntry[];
      if (ref === undefined) {
        entries = await api.listDomainConfigs();
      } else {
        const d = await getListed(() => api.getDomain({ ref }), ref);
        entries = d.domid === 0 ? [] : [await api.getDomainConfig({ ref: String(d.domid) })];
      }
      return { data: { long: true, entries, toJSON: () => entries } };
    }
    const domains = ref === undefined ? await api.listDomains() : [await getListed(() => api.getDomain({ ref }), ref)];
    const options = { verbose: p.has('v'), context: p.has('Z'), cpupool: p.has('c'), numa: p.has('n') };
    return { data: { long: false, options, domains, toJSON: () => domains } };
  },
  render(view) {
    if (view.long) {
      const value = view.entries.map((e) => ({ domid: e.domid, config: e.config }));
      return `${libxlJson(value)}\n`;
    }
    return renderList(view.domains, view.options);
  },
});

/** A missing domid is `list`'s own error; a missing name fails as xl's find_domain. */
async function getListed(get: () => Promise<DomainInfo>, ref: string): Promise<DomainInfo> {
  try {
    return await get();
  } catch (e: unknown) {
    if (isToolstackError(e, 'DOMAIN_NOT_FOUND') && e.lines === undefined) {
      throw new ToolstackError('DOMAIN_NOT_FOUND', e.message, { lines: [`Error: Domain '${ref}' does not exist.`] });
    }
    throw e;
  }
}

/** Xen's `list_domains` table, byte for byte (TABs in the header, `%-40s %5d %5lu %5d ...`). */
export function renderList(domains: readonly DomainInfo[], o: ListOptions): string {
  let out = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';
  if (o.verbose) out += '   UUID                            Reason-Code\tSecurity Label';
  if (o.context && !o.verbose) out += '   Security Label';
  if (o.cpupool) out += '         Cpupool';
  if (o.numa) out += ' NODE Affinity';
  out += '\n';
  for (const d of domains) {
    const code = d.shutdownReason === null ? 0 : SHUTDOWN_REASONS.indexOf(d.shutdownReason);
    const f = d.flags;
    const letters = (f.running ? 'r' : '-') + (f.blocked ? 'b' : '-') + (f.paused ? 'p' : '-') +
      (f.shutdown ? 's' : '-') + (f.shutdown ? ('-rscwS'[code] ?? '?') : '-') + (f.dying ? 'd' : '-');
    const cpuSec = Math.fround(d.cpuTimeNs) / 1e9;
    out += `${d.name.padEnd(40)} ${pad(d.domid, 5)} ${pad(Math.floor(d.memKiB / 1024), 5)} ${pad(d.vcpus, 5)}     ${letters}  ${printfFixed(cpuSec, 1).padStart(8)}`;
    if (o.verbose) out += ` ${d.uuid} ${f.shutdown ? code.toString(16).padStart(8) : '-'.padStart(8)}`;
    if (o.verbose || o.context) out += ` ${'-'.padStart(16)}`;
    if (o.cpupool) out += 'Pool-0'.padStart(16);
    if (o.numa) out += ' all';
    out += '\n';
  }
  return out;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}

/** printf's `%.Nf`: like toFixed, but an exact binary tie rounds to even as glibc does. */
export function printfFixed(x: number, digits: number): string {
  const scale = 10 ** digits;
  const y = x * scale;
  if (!Number.isInteger(y) && Number.isInteger(y * 2) && y / scale === x) {
    const down = Math.floor(y);
    return ((down % 2 === 0 ? down : down + 1) / scale).toFixed(digits);
  }
  return x.toFixed(digits);
}
