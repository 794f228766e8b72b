import { connectToolstack } from '../../api/index.js';
import type { DeviceInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { rowsOfDomains } from '../domain-arg.js';

/**
 * `xl block-list <Domain(s)>`: Xen's table of each domain's disks — devid, backend domain,
 * frontend domain (labelled `handle`), the frontend's XenbusState, event channel and ring
 * reference (-1: no PV frontend writes them here), backend path. A name that is no domain gets
 * Xen's stderr line and the others are still listed (exit 0); a domid with no domain lists nothing.
 */
export const blockListCommand = defineCommand<DeviceInfo[]>({
  async run(ctx, args) {
    const api = connectToolstack(ctx);
    return { data: await rowsOfDomains(ctx, 'block-list', args, (ref) => api.listDevices({ ref, kind: 'vbd' })) };
  },
  render: (rows) => [
    row(['Vdev', 5], ['BE', 3], ['handle', 6], ['state', 5], ['evt-ch', 6], ['ring-ref', 8], ['BE-path', 30]),
    ...rows.map((d) => row([d.devid, 5], [d.backendId, 3], [d.domid, 6], [d.state, 5], [d.evtch, 6], [d.rref, 8], [d.backendPath, 30])),
  ].join(''),
});

/** printf's `%-Nd %-Ns ...\n`: each value left-aligned in its width, one space between. */
function row(...cols: readonly (readonly [string | number, number])[]): string {
  return `${cols.map(([v, w]) => String(v).padEnd(w)).join(' ')}\n`;
}
