import type { PciDevice } from '../../config/index.js';
import { defineCommand } from '../command.js';
import { domainArg } from '../domain-arg.js';
import { listedConfig } from '../passthrough.js';

const hex = (v: number | undefined, w: number): string => (v ?? 0).toString(16).padStart(w, '0');

/**
 * `xl pci-list <Domain>`: the domain's passed-through PCI functions from its config, in Xen's
 * `Vdev Device` table (virtual slot.function, host DDDD:BB:DD.F; `00.0` where the spec gave no
 * v-slot and QEMU chose one). A domain with none prints nothing, as xl.
 */
export const pciListCommand = defineCommand<PciDevice[]>({
  async run(ctx, args) {
    const config = await listedConfig(ctx, domainArg('pci-list', args));
    return { data: config?.pcidevs ?? [] };
  },
  render: (pcis) => (pcis.length === 0 ? '' : [
    'Vdev Device\n',
    ...pcis.map((p) => {
      const vdevfn = p.vdevfn ?? 0;
      return `${hex((vdevfn >> 3) & 0x1f, 2)}.${hex(vdevfn & 7, 1)} ${hex(p.domain, 4)}:${hex(p.bus, 2)}:${hex(p.dev, 2)}.${hex(p.func, 1)}\n`;
    }),
  ].join('')),
});
