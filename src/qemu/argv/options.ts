/**
 * Small pieces every part of the argv builder shares: QEMU's `key=value,...` option strings,
 * the kinds of user error it raises, and the accumulator the parts append to.
 *
 * How a config value reaches QEMU, so that none can add an option of its own:
 * - the value of a `key=` inside an option string (`-device`, `-chardev`, `-netdev`, `-fsdev`,
 *   `-smbios`, `-acpitable`, `-name`): through `opts`/`escapeOpt`, whose `,,` QEMU's
 *   option parser reads back as one comma;
 * - the head of an option string (`-vnc HOST:DISPLAY`), or a value QEMU splits further by its
 *   own rules (`-initrd` at commas, `-acpitable file=` at colons, `-k` as a file name): checked
 *   where it is built, and refused with `invalid` (CFG_VALUE) when it does not fit;
 * - a value that is the whole argument and parsed no further (`-kernel`, `-append`, `-bios`,
 *   `-uuid`): as it is;
 * - `-blockdev`: JSON, so any string stays a string;
 * - raw QEMU syntax by design, passed as given: xl's `serial=` items other than `pty` (one
 *   `-serial` each) and `device_model_args*` (appended last).
 * Device and chardev ids are fixed prefixes plus a devid or index, or a vdev `parseVdev` accepted.
 */
import { ToolstackError } from '../../common/index.js';
import { deviceType, hasDevice } from '../capabilities.js';
import type { ArgvEnv, PciPlacement } from './types.js';

/** A value inside a QEMU option string: a comma is written twice (QEMU's escape). */
export function escapeOpt(value: string): string {
  return value.replaceAll(',', ',,');
}

/**
 * `head,k=v,...` with every value escaped; undefined values are left out, booleans are `on`/`off`.
 * Keys keep the order given, so the text is stable.
 */
export function opts(head: string, pairs: Readonly<Record<string, string | number | boolean | undefined>> = {}): string {
  const parts = [head];
  for (const [k, v] of Object.entries(pairs)) {
    if (v === undefined) continue;
    parts.push(`${k}=${typeof v === 'boolean' ? (v ? 'on' : 'off') : escapeOpt(String(v))}`);
  }
  return parts.join(',');
}

/** How a config key and its value are quoted in messages: `vga="qxl"`, `vcpus=300`. */
export function setting(key: string, value: string | number | boolean): string {
  return typeof value === 'string' ? `${key}="${value}"` : `${key}=${typeof value === 'boolean' ? Number(value) : value}`;
}

/** `-chardev socket` + `-mon` serving QMP on `path` (what the QEMU launcher connects to). */
export function qmpMonitorArgs(path: string): string[] {
  return ['-chardev', opts('socket', { id: 'qmp', path, server: true, wait: false }), '-mon', 'chardev=qmp,mode=control'];
}

/** A config value this toolstack cannot turn into a QEMU device or option (CFG_VALUE). */
export function unsupported(key: string, value: string | number | boolean, why: string, hint: string): ToolstackError {
  return new ToolstackError('CFG_VALUE', `Unsupported ${setting(key, value)}: ${why}`, { hint });
}

/** A config value that does not have the form its setting takes (CFG_VALUE). */
export function invalid(key: string, value: string, why: string, hint: string): ToolstackError {
  return new ToolstackError('CFG_VALUE', `Invalid ${setting(key, value)}: ${why}`, { hint });
}

/** A config value that needs something this host (or its QEMU) lacks (HOST_CAPABILITY). */
export function hostLacks(key: string, value: string | number | boolean, what: string, hint: string): ToolstackError {
  return new ToolstackError('HOST_CAPABILITY', `${setting(key, value)} needs ${what}`, { hint });
}

/** Slots of a PC's root PCI bus: 0 is the host bridge, 1 the PIIX3 (ISA, IDE, ACPI functions). */
const PCI_FIRST_FREE_SLOT = 2;
const PCI_SLOTS = 32;

/** `addr=` of a PCI device. */
function pciAddr(slot: number, func: number): string {
  return `${slot.toString(16).padStart(2, '0')}.${func}`;
}

/** The argv under construction, with the environment the parts read. */
export class Argv {
  readonly args: string[] = [];
  /** With `runtime.layout`: the kept places by device id, and every slot taken so far. */
  readonly #pci: { readonly kept: ReadonlyMap<string, PciPlacement>; readonly taken: Set<number> } | undefined;

  constructor(readonly env: ArgvEnv) {
    const kept = env.runtime.layout?.pci;
    if (kept !== undefined) {
      this.#pci = { kept: new Map(kept.map((p) => [p.id, p])), taken: new Set([0, 1, ...kept.map((p) => p.slot)]) };
    }
  }

  /** Appends arguments. A NUL cannot be passed to a process: it is refused (a value from the API may carry one). */
  push(...args: string[]): void {
    const bad = args.find((x) => x.includes('\0'));
    if (bad !== undefined) throw invalid('value', bad.replaceAll('\0', '\\0'), 'it contains a NUL character, which no program argument can hold', 'remove the NUL from the config value');
    this.args.push(...args);
  }

  /** `-device TYPE,props`, after checking that this QEMU has TYPE (else HOST_CAPABILITY for `key`). */
  device(type: string, props: Readonly<Record<string, string | number | boolean | undefined>>, key: string, value: string | number | boolean): void {
    this.need(type, key, value);
    this.push('-device', opts(type, this.#placed(type, props)));
  }

  /** `props` with an explicit PCI address where the machine's places are kept (see `MachineLayout`). */
  #placed(type: string, props: Readonly<Record<string, string | number | boolean | undefined>>): Readonly<Record<string, string | number | boolean | undefined>> {
    const pci = this.#pci;
    if (pci === undefined || deviceType(this.env.caps, type)?.bus !== 'PCI') return props;
    const given = props['addr'];
    if (given !== undefined) {
      pci.taken.add(Number.parseInt(String(given).split('.')[0] ?? '', 16));
      return props;
    }
    const id = props['id'];
    const kept = typeof id === 'string' ? pci.kept.get(id) : undefined;
    if (kept !== undefined) return { ...props, addr: pciAddr(kept.slot, kept.func) };
    for (let slot = PCI_FIRST_FREE_SLOT; slot < PCI_SLOTS; slot++) {
      if (pci.taken.has(slot)) continue;
      pci.taken.add(slot);
      return { ...props, addr: pciAddr(slot, 0) };
    }
    return props;
  }

  /** Throws HOST_CAPABILITY unless this QEMU has the device type. */
  need(type: string, key: string, value: string | number | boolean): void {
    if (!hasDevice(this.env.caps, type)) {
      throw hostLacks(key, value, `the QEMU device '${type}', which ${this.env.caps.binary} (${this.env.caps.versionText}) lacks`,
        'install a QEMU build with that device, or change the setting');
    }
  }
}
