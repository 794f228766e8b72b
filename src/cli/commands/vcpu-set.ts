import { connectToolstack } from '../../api/index.js';
import type { VcpusSet } from '../../api/index.js';
import { isToolstackError, ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { attachDomid } from '../domain-arg.js';
import { getopt, requireArgs } from '../getopt.js';

const INT_MAX = 2n ** 31n - 1n;

/**
 * `xl vcpu-set [-i] <Domain> <vCPUs>` (xl_vcpu.c): vCPUs 0..N-1 online, by QEMU CPU hotplug (the
 * guest onlines a CPU it is given, and ejects one it is asked to release). More than the host's
 * CPUs is refused unless `-i` (xl's "overcommitting" line); the domain's rules (1 to maxvcpus)
 * are libxl's, with its lines. vCPUs the guest has not released yet are named on stderr.
 */
export const vcpuSetCommand = defineCommand<VcpusSet>({
  async run(ctx, args) {
    const o = getopt(args, 'i', [{ name: 'ignore-host', hasArg: false, short: 'i' }]);
    requireArgs('vcpu-set', o.positional, 2);
    const [ref, countArg] = o.positional as [string, string];
    const domid = await attachDomid(ctx, ref, `${ref} is an invalid domain identifier (rc=-6)`);
    // xl's strtoul: leading digits; a negative number wraps past INT_MAX.
    const m = /^\s*([+-]?)(\d+)/.exec(countArg);
    const n = m === null ? undefined : (m[1] === '-' && BigInt(m[2] as string) !== 0n ? INT_MAX + 1n : BigInt(m[2] as string));
    if (n === undefined || n > INT_MAX) throw new ToolstackError('VCPU', 'Error: Invalid argument.', { lines: ['Error: Invalid argument.'], hint: 'give a number of vCPUs' });
    const count = Number(n);
    const api = connectToolstack(ctx);
    const noDomain = `libxl: error: libxl_domain.c:356:libxl_domain_info: Domain ${domid}:Getting domain info: No such process`;
    if (!o.has('i')) {
      const host = await api.hostInfo();
      const hostCpus = Math.max(0, ...host.facts.cpus.map((c) => c.cpu)) + 1;
      const online = await api.getDomain({ ref: String(domid) }).then((d) => d.vcpus, (e: unknown) => {
        throw isToolstackError(e, 'DOMAIN_NOT_FOUND') ? new ToolstackError(e.code, e.message, { cause: e, lines: [noDomain] }) : e;
      });
      if (count > online && count > hostCpus) {
        const line = `You are overcommmitting! You have ${hostCpus} physical CPUs and want ${count} vCPUs! Aborting, use --ignore-host to continue`;
        throw new ToolstackError('VCPU', line, { lines: [line], hint: 'under TCG more vCPUs than CPUs only share them; -i allows it' });
      }
    }
    try {
      const done = await api.setVcpus({ ref: String(domid), count });
      if (done.pending.length > 0) {
        ctx.warn(`vCPU(s) ${done.pending.join(',')} of domain ${domid}: asked to go, the guest has not released them yet (they go when it does; xl vcpu-list shows them until then)`);
      }
      return { data: done };
    } catch (e: unknown) {
      if (!isToolstackError(e) || e.code === 'DAEMON_UNAVAILABLE') throw e;
      const lines = e.code === 'DOMAIN_NOT_FOUND'
        ? [noDomain, `libxl: error: libxl_domain.c:1860:libxl_set_vcpuonline: Domain ${domid}:Getting domain info list: No such process`, `Domain ${domid} does not exist.`]
        : [...(e.lines ?? [e.message]), `libxl_set_vcpuonline failed domid=${domid} max_vcpus=${count}, rc: -3`];
      throw new ToolstackError(e.code, e.message, { cause: e, lines, ...(e.hint === undefined ? {} : { hint: e.hint }) });
    }
  },
  render: () => '',
});
