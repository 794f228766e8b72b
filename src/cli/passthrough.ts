/**
 * What the PCI and USB commands (`pci-*`, `usbctrl-*`, `usbdev-*`, `usb-list`) share: xl's
 * reading of a PCI_SPEC_STRING argument and of the domain whose devices a list shows.
 */
import { connectToolstack } from '../api/index.js';
import { isToolstackError, ToolstackError } from '../common/index.js';
import { DOMAIN_CONFIG, idlFromJson, parsePciSpec } from '../config/index.js';
import type { DomainConfig, PciDevice } from '../config/index.js';
import type { CommandContext } from './command.js';

/**
 * A PCI_SPEC_STRING as `xl pci-attach`/`pci-detach` reads it; a malformed one is libxlutil's
 * diagnostic (if any) run on into `<command>: malformed PCI_SPEC_STRING "<spec>"`, exit 2.
 */
export function pciSpecArg(command: string, spec: string): PciDevice {
  try {
    return parsePciSpec(spec);
  } catch (e: unknown) {
    if (!isToolstackError(e, 'SPEC_PCI')) throw e;
    const diagnostic = (e.lines?.[0] ?? '').replace(/unable to parse PCI_SPEC_STRING `.*'$/s, '');
    const line = `${diagnostic}${command}: malformed PCI_SPEC_STRING "${spec}"`;
    throw new ToolstackError('SPEC_PCI', line, { lines: [line], exitCode: 2, ...(e.hint === undefined ? {} : { hint: e.hint }) });
  }
}

/**
 * The stored config of the domain `ref` names, for a list: xl's find_domain refuses a name no
 * domain has (`NAME is an invalid domain identifier (rc=-6)`); a domid with no domain, and
 * Domain-0, have no devices (undefined).
 */
export async function listedConfig(ctx: CommandContext, ref: string): Promise<DomainConfig | undefined> {
  if (ref === 'Domain-0' || /^0*$/.test(ref)) return undefined;
  try {
    return idlFromJson(DOMAIN_CONFIG, (await connectToolstack(ctx).getDomainConfig({ ref })).config);
  } catch (e: unknown) {
    if (!isToolstackError(e, 'DOMAIN_NOT_FOUND')) throw e;
    if (/^\d+$/.test(ref)) return undefined;
    const line = `${ref} is an invalid domain identifier (rc=-6)`;
    throw new ToolstackError('DOMAIN_NOT_FOUND', line, { lines: [line], hint: 'no domain of that name exists; give a domain\'s name or id (xl list)' });
  }
}
