import { ToolstackError } from '../../common/index.js';
import { usbWithDefaults } from '../../config/index.js';
import type { UsbController, UsbHostDevice } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';
import { listedConfig } from '../passthrough.js';

interface UsbList {
  readonly usbctrls: readonly UsbController[];
  readonly usbdevs: readonly UsbHostDevice[];
}

const hex3 = (v: number | undefined): string => (v ?? 0).toString(16).padStart(3, '0');

/**
 * `xl usb-list <Domain>`: per USB controller of the domain's config, Xen's header and row
 * (devid, type, back-end domain 0, state — 0 for a controller QEMU emulates, as libxl reports
 * it —, USB version, ports), then each port with the host device on it (`Bus %03x Device %03x`:
 * xl prints the decimal bus and address in hex). A second argument is xl's `Invalid arguments.`
 * (exit 255).
 */
export const usbListCommand = defineCommand<UsbList>({
  async run(ctx, args) {
    const { positional } = getopt(args, '');
    requireArgs('usb-list', positional, 1);
    const config = await listedConfig(ctx, positional[0] as string);
    if (positional.length > 1) throw new ToolstackError('USAGE', 'Invalid arguments.', { lines: ['Invalid arguments.'], exitCode: 255, hint: 'usb-list takes one domain' });
    return { data: config === undefined ? { usbctrls: [], usbdevs: [] } : usbWithDefaults(config) };
  },
  render: ({ usbctrls, usbdevs }) => usbctrls.map((c) => {
    const lines = [
      `${'Devid'.padEnd(6)} ${'Type'.padEnd(12)} ${'BE'.padEnd(3)} ${'state'.padEnd(5)} ${'usb-ver'.padEnd(7)} ${'ports'.padEnd(5)}\n`,
      `${String(c.devid).padEnd(6)} ${(c.type ?? '').padEnd(12)} ${'0'.padEnd(3)} ${'0'.padEnd(5)} ${String(c.version).padEnd(7)} ${String(c.ports).padEnd(5)}\n`,
    ];
    for (let port = 1; port <= c.ports; port++) {
      const d = usbdevs.find((u) => u.ctrl === c.devid && u.port === port)?.u?.hostdev;
      lines.push(`  Port ${port}:${d === undefined ? '' : ` Bus ${hex3(d.hostbus)} Device ${hex3(d.hostaddr)}`}\n`);
    }
    return lines.join('');
  }).join(''),
});
