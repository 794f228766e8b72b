import { connectToolstack } from '../../api/index.js';
import type { DeviceInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { rowsOfDomains } from '../domain-arg.js';

/**
 * `xl vkb-list <Domain(s)>`: Xen's table of each domain's vkbs — devid, backend domain, handle,
 * state (4: in the machine), event channel and ring reference (-1: no PV frontend here), unique
 * id, backend type, and `-` for the backend path (QEMU's device has no xenstore back-end).
 */
export const vkbListCommand = defineCommand<DeviceInfo[]>({
  async run(ctx, args) {
    const api = connectToolstack(ctx);
    return { data: await rowsOfDomains(ctx, 'vkb-list', args, (ref) => api.listDevices({ ref, kind: 'vkbd' })) };
  },
  render: (rows) => [
    `${'Idx'.padEnd(3)} ${'BE'.padEnd(2)} ${'handle'.padEnd(6)} ${'state'.padEnd(5)} ${'evt-ch'.padEnd(6)} ${'ref'.padStart(6)} ${'ID'.padEnd(10)} ${'BE-type'.padEnd(10)} ${'BE-path'.padEnd(30)}\n`,
    ...rows.map((d) => {
      const id = typeof d.device['unique_id'] === 'string' ? d.device['unique_id'] : '(null)';
      const type = typeof d.device['backend_type'] === 'string' ? d.device['backend_type'] : 'unknown';
      const n = (v: number, w: number): string => String(v).padStart(w);
      return `${String(d.devid).padEnd(3)} ${String(d.backendId).padEnd(2)} ${n(d.devid, 6)} ${n(d.state < 0 ? 4 : d.state, 5)} ${n(d.evtch, 6)} ${n(d.rref, 6)} ${id.padEnd(10)} ${type.padEnd(10)} ${(d.backendPath || '-').padEnd(30)}\n`;
    }),
  ].join(''),
});
