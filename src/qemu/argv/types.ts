/** What the argv builder takes besides the DomainConfig, and what it asks of the domain layer. */
import type { Accel } from '../accel.js';
import type { QemuCapabilities } from '../capabilities.js';

/** Where one console chardev of the domain lives: a Unix socket QEMU listens on. */
export interface ConsoleEndpoint {
  /** QEMU serves it (`server=on,wait=off`); the console layer connects and keeps reading. */
  readonly socket: string;
  /** QEMU also appends every byte the guest writes here, connected or not. */
  readonly logFile?: string;
}

/** The host side of one vif, decided by the network layer. */
export interface NicRuntime {
  /** An existing tap device QEMU attaches to (`script=no`: the network layer plugs it). */
  readonly tap: string;
  /** Used when the config's MAC is unset (all zero); libxl generates one at create time. */
  readonly mac?: string;
}

/** A file a disk image's header names, as the domain layer checked it. */
export interface ChainedImage {
  readonly path: string;
  /** QEMU's driver of it (`raw`, `qcow2`, ...), as the header recorded it (never guessed). */
  readonly format: string;
  /** Opened as a block device (`host_device`), not a file. */
  readonly blockDevice: boolean;
}

/**
 * What a disk image's header names, as the domain layer checked it before QEMU opens the image:
 * the medium node names each of these itself (and `backing: null` below the last), so QEMU never
 * opens the backing files a header names at that moment (rewritten after the check, or never
 * checked). A data file is named when the check found one; QEMU has no way to say "none", so one
 * a header gained between the check and the open would still be opened. Formats without backing
 * files (raw, vpc) need none.
 */
export interface ImageChain {
  /** Its backing files, top down. */
  readonly backing: readonly ChainedImage[];
  /** A qcow2 image's external data file. */
  readonly dataFile?: ChainedImage;
}

/** What the domain layer decides when it creates the domain (paths under the run dir, ids). */
export interface DomainRuntime {
  readonly domid: number;
  readonly qmpSocket: string;
  readonly pidFile: string;
  /** One endpoint per console chardev id that `argvRequirements(config).consoles` lists. */
  readonly consoles: Readonly<Record<string, ConsoleEndpoint>>;
  /** Per `config.nics` element, in order. */
  readonly nics: readonly NicRuntime[];
  /** A VNC display already chosen; otherwise QEMU searches from the config's (`to=99`). */
  readonly vncDisplay?: number;
  /** A per-domain writable copy of the OVMF variable store (when `needsOvmfVars`). */
  readonly ovmfVars?: string;
  /** The X display dom0d may give QEMU (its DISPLAY), for `sdl=1` without `display=`. */
  readonly hostDisplay?: string;
  /** The creation time, for `rtc_timeoffset` (QEMU takes an absolute RTC base). */
  readonly clock?: { readonly nowMs: number; readonly utcOffsetMinutes: number };
  /** `-S`: QEMU waits for QMP `cont` (`xl create -p`, or set-up before the guest runs). */
  readonly startPaused?: boolean;
  /** `-incoming URI`: restore or migration target. */
  readonly incoming?: string;
  /** The checked chain of each disk (by vdev) whose format has backing files (see `ImageChain`). */
  readonly diskChains?: Readonly<Record<string, ImageChain>>;
  /** The machine a restore or migration continues, as it was (see `MachineLayout`). */
  readonly layout?: MachineLayout;
  /**
   * The path QEMU is given for a host path of the config (a serial port's file or FIFOs, a
   * channel's or serial port's socket), where it differs: one dom0d holds open for it.
   */
  readonly hostPaths?: ReadonlyMap<string, string>;
}

/**
 * What a machine's state stream needs of the machine that loads it beyond what the domain's
 * config makes: the stream holds RAM of one size and names each device's section by its PCI
 * address. A config can make another: `xl mem-max` raised its maximum for the next boot, and
 * QEMU gives a device without `addr=` the first free slot in the order it meets them, so devices
 * hot-plugged into the running machine sit where the same devices listed in a config do not.
 * Built with a layout, the machine has its RAM, and every PCI device an explicit address: its
 * own when its id is here, else the lowest slot none of these holds.
 */
export interface MachineLayout {
  readonly pci: readonly PciPlacement[];
  readonly ramKiB: number;
}

/** A PCI device's place on the machine's root bus (`addr=SLOT.FUNCTION`), by its qdev id. */
export interface PciPlacement {
  readonly id: string;
  readonly slot: number;
  readonly func: number;
}

/** What a probe found, plus the display back-ends when the probe knows them. */
export type ArgvCapabilities = QemuCapabilities & {
  /** `-display help` names; absent = not probed (SDL is then not checked against it). */
  readonly displays?: readonly string[];
};

export interface ArgvEnv {
  readonly caps: ArgvCapabilities;
  readonly accel: Accel;
  readonly runtime: DomainRuntime;
}

/** Which console a chardev is: what `xl console -t` and the console layer attach to. */
export type ConsoleKind = 'pv' | 'serial' | 'channel' | 'debug';

export interface ConsoleRequirement {
  /** The chardev id, also the key in `DomainRuntime.consoles`. */
  readonly id: string;
  readonly kind: ConsoleKind;
  /** `pv`: 0 (hvc0); `serial`: the COM port index; `channel`: the channel's devid; `debug`: 0. */
  readonly index: number;
  /** A channel's name (`org.qemu.guest_agent.0`, ...). */
  readonly name?: string;
}

/** What the runtime must supply for a config (see `argvRequirements`). */
export interface ArgvRequirements {
  readonly consoles: readonly ConsoleRequirement[];
  /** Taps (and MACs where the config has none) for this many vifs. */
  readonly nics: number;
  /** `DomainRuntime.ovmfVars` is needed: a copy of `caps.firmware.ovmfVars` the guest may write. */
  readonly ovmfVars: boolean;
  /** `DomainRuntime.clock` is needed. */
  readonly clock: boolean;
}
