import { connectToolstack } from '../../api/index.js';
import type { ChannelInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { rowsOfDomains } from '../domain-arg.js';

/**
 * `xl channel-list <Domain(s)>` (xl_console.c `main_channellist`): each domain's `channel=`
 * devices — devid, backend, XenbusState, event channel and ring reference (-1: no PV frontend
 * here), the connection and, for a pty, where `xl console -t pv -n DEVID+1` attaches. A name
 * that is no domain gets Xen's line and the others are still listed (exit 0).
 */
export const channelListCommand = defineCommand<ChannelInfo[]>({
  async run(ctx, args) {
    const api = connectToolstack(ctx);
    return { data: await rowsOfDomains(ctx, 'channel-list', args, (ref) => api.listChannels({ ref })) };
  },
  render: (rows) => [
    `${'Idx'.padEnd(3)} ${'BE'.padEnd(2)} ${'state'.padEnd(5)} ${'evt-ch'.padEnd(6)} ${'ring-ref'.padStart(8)} ${'connection'.padEnd(10)} ${''.padEnd(30)}\n`,
    ...rows.map((c) => `${String(c.devid).padEnd(3)} ${String(c.backendId).padEnd(2)} ${String(c.state).padEnd(5)} ${String(c.evtch).padEnd(6)} ${String(c.rref).padEnd(8)} ${c.connection.padEnd(10)} ${
      c.connection === 'pty' ? `${(c.path ?? '').padEnd(30)} ` : ''}\n`),
  ].join(''),
});
