import { connectToolstack } from '../../api/index.js';
import type { HostInfo, SchedulingInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';
import { XEN_EXTRA, XEN_MAJOR, XEN_MINOR, XEN_VERSION } from '../xen-version.js';

interface InfoView {
  readonly lines: ReadonlyArray<readonly [string, string]>;
  /** `-n`: the topology tables, printed after `free_cpus` as xl does. */
  readonly numa: string | undefined;
  /** `xl info NAME`: only the values of the lines whose key starts with NAME. */
  readonly filter: string | undefined;
  toJSON(): unknown;
}

/**
 * `xl info [-n] [-x] [NAME]` (xl_info.c `main_info`): the host, in Xen's lines. dom0 has no
 * hypervisor, so the Xen-only fields get the values that say so, as listed here:
 * - xen_major/minor/version: the Xen release whose `xl` interface dom0 follows (4.17); xen_extra
 *   `-dom0`; xen_caps: what a 64-bit Xen on this machine type offers, since QEMU runs all of them;
 * - virt_caps: ` pv hvm` (PV guests boot as QEMU direct-kernel machines, HVM as PCs);
 * - sharing_*, outstanding_claims: 0 (no page sharing, no claims); free_cpus: the CPUs in no pool;
 * - xen_scheduler: the host's scheduler (xl.conf `sched=`, as Xen's boot option; credit2 by default);
 * - platform_params virt_start 0 (there is no hypervisor mapping), xen_commandline empty,
 *   xen_changeset, the cc_ fields and build_id describing dom0's own build;
 * - free_memory: the host's available memory, less what the guests were given (whichever is less);
 * - `accelerator` (ours, before xend_config_format): kvm or tcg and why.
 */
export const infoCommand = defineCommand<InfoView>({
  async run(ctx, args) {
    const p = getopt(args, 'nx', [{ name: 'numa', hasArg: false, short: 'n' }, { name: 'xenstore', hasArg: false, short: 'x' }]);
    const api = connectToolstack(ctx);
    // One after the other: the first call may have to start dom0d.
    const h = await api.hostInfo();
    const sched = await api.getScheduling();
    const lines = infoLines(h, sched, p.has('x'));
    const numa = p.has('n') ? numaTables(h) : undefined;
    const filter = p.has('n') ? undefined : p.positional[0];
    return {
      data: {
        lines, numa, filter,
        toJSON: () => ({
          ...Object.fromEntries(lines.filter(([k]) => filter === undefined || k.startsWith(filter))),
          ...(numa === undefined ? {} : { cpu_topology: h.facts.cpus, numa_info: h.facts.nodes }),
        }),
      },
    };
  },
  render(v) {
    if (v.filter !== undefined) {
      const f = v.filter;
      return v.lines.filter(([k]) => k.startsWith(f)).map(([, val]) => `${val}\n`).join('');
    }
    let out = '';
    for (const [k, val] of v.lines) {
      out += `${k.padEnd(23)}: ${val}\n`;
      if (k === 'free_cpus' && v.numa !== undefined) out += v.numa;
    }
    return out;
  },
});

function infoLines(h: HostInfo, sched: SchedulingInfo, xenstore: boolean): Array<[string, string]> {
  const f = h.facts;
  const cpus = f.cpus;
  const first = cpus[0];
  const inFirstSocket = cpus.filter((c) => c.socket === (first?.socket ?? 0));
  const threads = first === undefined ? 1 : inFirstSocket.filter((c) => c.core === first.core).length;
  const mib = (kib: number): string => String(Math.floor(kib / 1024));
  const x86 = f.machine === 'x86_64';
  return [
    ['host', f.host], ['release', f.release], ['version', f.version], ['machine', f.machine],
    ['nr_cpus', String(cpus.length)],
    ['max_cpu_id', String(cpus.reduce((m, c) => Math.max(m, c.cpu), 0))],
    ['nr_nodes', String(f.nodes.length)],
    ['cores_per_socket', String(new Set(inFirstSocket.map((c) => c.core)).size || 1)],
    ['threads_per_core', String(threads || 1)],
    ['cpu_mhz', `${Math.floor(f.cpuKhz / 1000)}.${String(f.cpuKhz % 1000).padStart(3, '0')}`],
    ['hw_caps', f.hwCaps.map((w) => w.toString(16).padStart(8, '0')).join(':')],
    ['virt_caps', 'pv hvm'],
    ['total_memory', mib(f.totalKiB)], ['free_memory', mib(h.freeKiB)],
    ['sharing_freed_memory', '0'], ['sharing_used_memory', '0'], ['outstanding_claims', '0'], ['free_cpus', String(sched.freeCpus.length)],
    ['xen_major', String(XEN_MAJOR)], ['xen_minor', String(XEN_MINOR)], ['xen_extra', XEN_EXTRA], ['xen_version', XEN_VERSION],
    ['xen_caps', x86 ? 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64' : `xen-3.0-${f.machine}`],
    ['xen_scheduler', sched.scheduler], ['xen_pagesize', '4096'], ['platform_params', 'virt_start=0x0'],
    ['xen_changeset', 'dom0'], ['xen_commandline', ''],
    ['cc_compiler', `node ${process.version}`], ['cc_compile_by', 'dom0'], ['cc_compile_domain', ''], ['cc_compile_date', ''],
    ['build_id', ''],
    ...(xenstore ? [['xenstore_features', '0x00000000'] as [string, string]] : []),
    ['accelerator', h.accel === undefined ? 'none (dom0d runs no QEMU)' : `${h.accel.accel} (${h.accel.reason})`],
    ['xend_config_format', '4'],
  ];
}

/** xl's `-n` tables: cpu_topology, device topology (none: no PCI devices are assigned), numa_info. */
function numaTables(h: HostInfo): string {
  let out = 'cpu_topology           :\ncpu:    core    socket     node\n';
  for (const c of h.facts.cpus) {
    out += `${String(c.cpu).padStart(3)}:    ${String(c.core).padStart(4)}     ${String(c.socket).padStart(4)}     ${String(c.node).padStart(4)}\n`;
  }
  out += 'device topology        :\ndevice           node\nNo device topology data available\n';
  out += 'numa_info              :\nnode:    memsize    memfree    distances\n';
  for (const n of h.facts.nodes) {
    const mem = (kib: number): string => String(Math.floor(kib / 1024)).padStart(6);
    out += `${String(n.node).padStart(4)}:    ${mem(n.totalKiB)}     ${mem(n.freeKiB)}      ${n.distances.join(',')}\n`;
  }
  return out;
}
