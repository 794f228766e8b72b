import { connectToolstack } from '../api/index.js';
import { ToolstackError } from '../common/index.js';
import type { CommandImpl } from './command.js';
import { defineCommand } from './command.js';
import { attachDomid, rowsOfDomains } from './domain-arg.js';
import { getopt, requireArgs } from './getopt.js';

/**
 * A Xen device family whose back-end does not exist on this host (vTPM without swtpm, PV sound,
 * PV display): what Xen's xl does against a host without that back-end, in one place.
 */
export interface AbsentDevice {
  /** xl's command prefix: `vtpm`, `vsnd`, `vdispl`. */
  readonly name: string;
  /** Why no device of the family can be made here, and what to use instead. */
  readonly why: string;
  readonly hint: string;
  /** `*-list`'s header line (Xen prints one for vtpm; none for vsnd and vdispl). */
  readonly listHeader: string;
  /** `*-detach`'s line for a device the domain does not have (`%s`: the argument). */
  readonly notFound: string;
}

/** `xl NAME-attach <Domain> ...`: the domain must exist; then the family's reason and xl's libxl line. */
export function absentAttach(d: AbsentDevice): CommandImpl {
  return defineCommand<never>({
    async run(ctx, args) {
      const { positional } = getopt(args, '');
      requireArgs(`${d.name}-attach`, positional, 1);
      const domain = positional[0] as string;
      await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
      const line = `Cannot add a ${d.name} device to domain '${domain}': ${d.why}`;
      throw new ToolstackError('NOT_SUPPORTED', line, { lines: [line, `libxl_device_${d.name}_add failed.`], hint: d.hint });
    },
    render: () => '',
  });
}

/** `xl NAME-list <Domain(s)>`: the header, and no device; a name that is no domain gets Xen's line. */
export function absentList(d: AbsentDevice): CommandImpl {
  return defineCommand<readonly never[]>({
    async run(ctx, args) {
      const api = connectToolstack(ctx);
      const none = async (ref: string): Promise<never[]> => {
        await api.getDomain({ ref });
        return [];
      };
      return { data: await rowsOfDomains(ctx, `${d.name}-list`, args, none) };
    },
    render: () => d.listHeader,
  });
}

/** `xl NAME-detach <Domain> <DevId>`: no domain has such a device here. */
export function absentDetach(d: AbsentDevice): CommandImpl {
  return defineCommand<never>({
    async run(ctx, args) {
      const { positional } = getopt(args, '');
      requireArgs(`${d.name}-detach`, positional, 2);
      const [domain, id] = positional as [string, string];
      await attachDomid(ctx, domain, `${domain} is an invalid domain identifier (rc=-6)`);
      const line = d.notFound.replace('%s', id);
      throw new ToolstackError('DEVICE_NOT_FOUND', line, { lines: [line], hint: `${d.name} devices do not exist here: ${d.why}` });
    },
    render: () => '',
  });
}

export const VTPM: AbsentDevice = {
  name: 'vtpm',
  why: 'there is no vTPM back-end in dom0 (swtpm is not installed)',
  hint: 'install swtpm for a TPM emulator; Xen\'s vTPM needs a vtpm stub domain, which QEMU has no counterpart for',
  listHeader: `${'Idx'.padEnd(3)} ${'BE'.padEnd(2)} ${'Uuid'.padEnd(36)} ${'handle'.padEnd(6)} ${'state'.padEnd(5)} ${'evt-ch'.padEnd(6)} ${'ring-ref'.padEnd(5)} ${'BE-path'.padEnd(10)}\n`,
  notFound: 'Unknown device %s.',
};

export const VSND: AbsentDevice = {
  name: 'vsnd',
  why: 'there is no PV sound back-end in dom0',
  hint: 'give an HVM guest an emulated sound card instead: soundhw="hda"',
  listHeader: '',
  notFound: 'Error: Device %s not connected.',
};

export const VDISPL: AbsentDevice = {
  name: 'vdispl',
  why: 'there is no PV display back-end in dom0 (QEMU has no counterpart to its connectors)',
  hint: 'use vfb = [ "vnc=1" ] for a guest display',
  listHeader: '',
  notFound: 'Error: Device %s not connected.',
};
