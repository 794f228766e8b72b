import { connectToolstack } from '../../api/index.js';
import type { VcpuList } from '../../api/index.js';
import { isToolstackError } from '../../common/index.js';
import { formatCpuMap } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';
import { printfFixed } from '../list-render.js';

/**
 * `xl vcpu-list [Domain ...]` (xl_vcpu.c): every vCPU of the domains named, or of all (Domain-0
 * first). A name that is no domain ends the listing as xl's find_domain does (what was listed
 * stays printed, exit 1); a domid that is none gets libxl's line and the listing goes on (exit 0).
 */
export const vcpuListCommand = defineCommand<VcpuList[]>({
  async run(ctx, args) {
    const refs = getopt(args, '').positional;
    const api = connectToolstack(ctx);
    const domains = refs.length > 0 ? refs : (await api.listDomains()).map((d) => String(d.domid));
    const lists: VcpuList[] = [];
    for (const ref of domains) {
      try {
        lists.push(await api.listVcpus({ ref }));
      } catch (e: unknown) {
        if (!isToolstackError(e, 'DOMAIN_NOT_FOUND')) throw e;
        if (!/^\d+$/.test(ref)) {
          if (!ctx.json) ctx.stdout.write(renderVcpuList(lists));
          throw e;
        }
        ctx.warn(`libxl: error: libxl_domain.c:1671:libxl_list_vcpu: Domain ${Number(ref)}:Getting dominfo: No such process`);
      }
    }
    return { data: lists };
  },
  render: (lists) => renderVcpuList(lists),
});

/**
 * Xen's vcpu-list table: `%-32s %5u %5u`, then an online vCPU's `%5u %3c%c- ` (CPU, r, b) or an
 * offline one's `    -   --p `, `%9.1f  ` seconds, and the hard / soft maps as print_bitmap
 * shows them over the host's CPUs (`all`, `none`, `0,2-3`).
 */
export function renderVcpuList(lists: readonly VcpuList[]): string {
  let out = `${'Name'.padEnd(32)} ${'ID'.padStart(5)} ${'VCPU'.padStart(5)} ${'CPU'.padStart(5)} ${'State'.padStart(5)} ${'Time(s)'.padStart(9)} Affinity (Hard / Soft)\n`;
  for (const l of lists) {
    const map = (cpus: readonly number[] | null): string => (cpus === null ? 'all' : formatCpuMap(cpus, l.nrCpus));
    for (const v of l.vcpus) {
      const where = v.cpu === null || !v.online
        ? `${'-'.padStart(5)} ${'-'.padStart(3)}-p `
        : `${String(v.cpu).padStart(5)} ${(v.running ? 'r' : '-').padStart(3)}${v.blocked ? 'b' : '-'}- `;
      out += `${l.name.padEnd(32)} ${String(l.domid).padStart(5)} ${String(v.vcpu).padStart(5)}${where}${printfFixed(v.timeNs / 1e9, 1).padStart(9)}  ${map(v.hard)} / ${map(v.soft)}\n`;
    }
  }
  return out;
}
