import { homedir } from 'node:os';
import { connectToolstack } from '../../api/index.js';
import type { HostInfo, ToolstackApi, VcpuAffinityResult } from '../../api/index.js';
import { isToolstackError, resolvePaths, ToolstackError } from '../../common/index.js';
import { formatCpuMap, globalAffinityMask, parseCpuList, readXlConf } from '../../config/index.js';
import type { GuestType } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

const LONG_OPTIONS = [
  { name: 'force', hasArg: false, short: 'f' },
  { name: 'ignore-global-affinity-masks', hasArg: false, short: 'i' },
] as const;

const LONG_MAX = (1n << 63n) - 1n;

/** What `xl vcpu-pin` returns: the `-N` line, or the domain's vCPUs after the pin. */
type VcpuPinView = { readonly dryRun: true; readonly text: string } | VcpuAffinityResult;

/**
 * `xl vcpu-pin [-f] [-i] <Domain> <VCPU|all> <Hard|-|all> [<Soft|-|all>]` (xl_vcpu.c): CPU maps
 * in xl's syntax (grammar.md §4: `3`, `0-2,^1`, `all`, `nodes:0`) over this host's CPUs; `-`
 * (or no soft map) leaves that affinity as it is. The hard map is ANDed with xl.conf's global
 * masks unless `-i`. With `-N` it prints `cpumap: HARD [SOFT]` and changes nothing. `-f` (undo a
 * pin the guest kernel made: Xen's temporary pins have no QEMU counterpart) only refuses `all`.
 * xl's lines and statuses, including its exit 0 when pinning `all` fails.
 */
export const vcpuPinCommand = defineCommand<VcpuPinView>({
  async run(ctx, args) {
    const o = getopt(args, 'fi', LONG_OPTIONS);
    requireArgs('vcpu-pin', o.positional, 3);
    const [ref, vcpuArg, hardArg, softArg] = o.positional as [string, string, string, string | undefined];
    const domid = await attachDomid(ctx, ref, `${ref} is an invalid domain identifier (rc=-6)`);
    const vcpu = parseVcpu(vcpuArg, o.has('f'));
    const api = connectToolstack(ctx);
    const { nrCpus, cpuNodes } = cpuTopology(await api.hostInfo());
    const map = (s: string | undefined): number[] | undefined => (s === undefined || s === '-' ? undefined : parseCpuList(s, nrCpus, { cpuNodes }));
    let hard = map(hardArg);
    const soft = map(softArg);
    if (ctx.dryRun) {
      const text = `cpumap: ${hard === undefined ? '-' : formatCpuMap(hard, nrCpus)}${soft === undefined ? '' : ` ${formatCpuMap(soft, nrCpus)}`}\n`;
      return { data: { dryRun: true, text } };
    }
    if (hard !== undefined && !o.has('i')) {
      const paths = resolvePaths(ctx.env, { uid: process.getuid?.() ?? 0, home: homedir(), cwd: ctx.cwd });
      const mask = globalAffinityMask(readXlConf(paths.configDir), await guestType(api, domid), nrCpus);
      if (mask !== undefined) hard = hard.filter((c) => mask.includes(c));
      if (hard.length === 0) {
        throw new ToolstackError('VCPU', 'vcpu hard affinity map is empty', {
          lines: ['vcpu hard affinity map is empty'], hint: 'the map shares no CPU with xl.conf\'s vm.cpumask / vm.*.cpumask (-i ignores them)',
        });
      }
    }
    try {
      const done = await api.setVcpuAffinity({ ref: String(domid), vcpu: vcpu.id, ...(hard === undefined ? {} : { hard }), ...(soft === undefined ? {} : { soft }) });
      for (const w of done.warnings) ctx.warn(w);
      return { data: done };
    } catch (e: unknown) {
      if (!isToolstackError(e) || e.code === 'DAEMON_UNAVAILABLE') throw e;
      const gone = e.code === 'DOMAIN_NOT_FOUND';
      if (vcpu.id === 'all') {
        if (gone) throw xlFailure(e, [`libxl: error: libxl_domain.c:1671:libxl_list_vcpu: Domain ${domid}:Getting dominfo: No such process`, 'libxl_list_vcpu failed.']);
        // xl reports a failed `all` and exits 0 (libxl_set_vcpuaffinity_all's failure is only printed).
        for (const l of [...(e.lines ?? [e.message]), 'Could not set affinity.']) ctx.warn(l);
        return { data: await api.listVcpus({ ref: String(domid) }).then((l) => ({ ...l, warnings: [] })), exitCode: 0 };
      }
      const lines = gone ? [`libxl: error: libxl_sched.c:62:libxl__set_vcpuaffinity: Domain ${domid}:Setting vcpu affinity: No such process`] : e.lines ?? [e.message];
      throw xlFailure(e, [...lines, `Could not set affinity for vcpu \`${vcpu.text}'.`]);
    }
  },
  render: (data) => ('dryRun' in data ? data.text : ''),
});

/** xl's `strtol` reading of the VCPU argument (leading digits; `all`), with its messages. */
function parseVcpu(arg: string, force: boolean): { readonly id: number | 'all'; readonly text: string } {
  const m = /^\s*([+-]?\d+)/.exec(arg);
  const n = m === null ? undefined : BigInt(m[1] as string);
  if (n !== undefined && n >= 0n) {
    const v = n > LONG_MAX ? LONG_MAX : n;
    return { id: Number(v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : v), text: String(v) };
  }
  const fail = (line: string): ToolstackError => new ToolstackError('VCPU', line, { lines: [line], hint: 'a vCPU is a number from 0, or all' });
  if (arg !== 'all') throw fail(`Error: Invalid argument ${arg} as VCPU.`);
  if (force) throw fail("Error: --force and 'all' as VCPU not allowed.");
  return { id: 'all', text: 'all' };
}

/** libxl's CPU count (`max_cpu_id + 1`) and the NUMA node of each CPU, for `parse_cpurange`. */
function cpuTopology(host: HostInfo): { readonly nrCpus: number; readonly cpuNodes: number[] } {
  const nrCpus = Math.max(0, ...host.facts.cpus.map((c) => c.cpu)) + 1;
  const cpuNodes = Array.from({ length: nrCpus }, (_, cpu) => host.facts.cpus.find((c) => c.cpu === cpu)?.node ?? -1);
  return { nrCpus, cpuNodes };
}

/** The domain's type, for xl.conf's masks (Domain-0: PV); xl's lines when it does not exist. */
async function guestType(api: ToolstackApi, domid: number): Promise<GuestType> {
  if (domid === 0) return 'pv';
  try {
    const cInfo = (await api.getDomainConfig({ ref: String(domid) })).config['c_info'] as { readonly type?: GuestType } | undefined;
    return cInfo?.type ?? 'pv';
  } catch (e: unknown) {
    if (!isToolstackError(e, 'DOMAIN_NOT_FOUND')) throw e;
    throw xlFailure(e, [`libxl: error: libxl_domain.c:356:libxl_domain_info: Domain ${domid}:Getting domain info: No such process`, 'Could not get domain info']);
  }
}

function xlFailure(e: ToolstackError, lines: readonly string[]): ToolstackError {
  return new ToolstackError(e.code, e.message, { cause: e, lines, ...(e.hint === undefined ? {} : { hint: e.hint }) });
}
