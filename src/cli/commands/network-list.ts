import { connectToolstack } from '../../api/index.js';
import type { DeviceInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { rowsOfDomains } from '../domain-arg.js';

/**
 * `xl network-list <Domain(s)>`: Xen's table of each domain's vifs — devid (Idx), backend domain,
 * MAC, devid again (`handle`), the frontend's XenbusState, event channel, tx/rx ring references
 * (-1: no PV frontend writes them here), backend path. A name that is no domain gets Xen's stderr
 * line and the others are still listed (exit 0); a domid with no domain lists nothing.
 */
export const networkListCommand = defineCommand<DeviceInfo[]>({
  async run(ctx, args) {
    const api = connectToolstack(ctx);
    return { data: await rowsOfDomains(ctx, 'network-list', args, (ref) => api.listDevices({ ref, kind: 'vif' })) };
  },
  render: (rows) => [
    `${'Idx'.padEnd(3)} ${'BE'.padEnd(2)} ${'Mac Addr.'.padEnd(17)} ${'handle'.padEnd(6)} ${'state'.padEnd(5)} ${'evt-ch'.padEnd(6)} ${'tx-'.padStart(5)}/${'rx-ring-ref'.padEnd(5)} ${'BE-path'.padEnd(30)}\n`,
    ...rows.map((d) => {
      const mac = typeof d.device['mac'] === 'string' ? d.device['mac'].toLowerCase() : '00:00:00:00:00:00';
      const num = (v: number, w: number): string => String(v).padStart(w);
      return `${String(d.devid).padEnd(3)} ${String(d.backendId).padEnd(2)} ${mac}${num(d.devid, 6)} ${num(d.state, 5)} ${num(d.evtch, 6)} ${num(d.rref, 5)}/${String(d.rref).padEnd(11)} ${d.backendPath.padEnd(30)}\n`;
    }),
  ].join(''),
});
