/**
 * Every x86 xl.cfg option (shared/spec/xl-cfg-options.md), once: its value type, the guest types
 * that read it, where it lands in libxl's config (`field`), its allowed values and how xl reads
 * it. The table is in the order of xl's `parse_config_data`, so warnings and the first error come
 * out in Xen's order. Plain options are applied from their row (`value` + `field`); the others
 * carry their own `apply`. The same rows give the list of known keys (did-you-mean) and the
 * allowed values in error hints.
 */
import { own } from '../../common/index.js';
import { parseUuid } from '../spec/c-parse.js';
import type { SpecResult } from '../spec/c-parse.js';
import { parseChannelSpec } from '../spec/channel.js';
import { parseDiskSpec } from '../spec/disk.js';
import { parseP9Spec } from '../spec/p9.js';
import { parseUsbctrlSpec, parseUsbdevSpec } from '../spec/usb.js';
import { parseVdisplSpec } from '../spec/vdispl.js';
import { parseVifSpec } from '../spec/vif.js';
import { parseVirtioSpec } from '../spec/virtio.js';
import { parsePvcallsSpec, parseVtpmSpec } from '../spec/vtpm.js';
import { cfgError, checkVcpuCount, checkVcpuLimit } from './context.js';
import type { GuestType, ResolveContext } from './context.js';
import * as cpus from './cpus.js';
import * as dev from './devices.js';
import type { DomainConfig } from './domain-config.js';
import type { ACTIONS } from './domain-info.js';
import {
  ALTP2M_MODES, BIOS_TYPES, GFX_PASSTHRU_KINDS, HDTYPES, PASSTHROUGH, TEE_TYPES, TIMER_MODES, TSC_MODES, VENDOR_DEVICES, GIC_VERSIONS, VUART_TYPES,
} from './domain-info.js';
import * as platform from './platform.js';
import { CfgReader } from './reader.js';

export type OptionValue = 'string' | 'number' | 'boolean' | 'list' | 'string|list' | 'number|string';

export interface OptionSpec {
  readonly key: string;
  readonly value: OptionValue;
  /** Guest types xl reads it for; absent = all. */
  readonly applies?: readonly GuestType[];
  /** Where it lands: a path in libxl's config (`b_info.u.hvm.pae`). */
  readonly field?: string;
  /** Multiplier from the cfg unit to the field's (MiB → KiB). */
  readonly scale?: number;
  readonly allowed?: readonly string[];
  /** The replacement of a deprecated key. */
  readonly deprecatedBy?: string;
  /** Reading it prints this warning and has no other effect. */
  readonly ignoredWarning?: readonly string[];
  /** Read by another option's `apply` (no effect of its own here). */
  readonly readBy?: string;
  /** Not a key: a check xl makes at this point of its parse, after the keys before it. */
  readonly step?: true;
  readonly apply?: (ctx: ResolveContext) => void;
}

const HVM: readonly GuestType[] = ['hvm'];
const PVH: readonly GuestType[] = ['pvh'];

/** xl's spelling of the shutdown actions (`action_on_shutdown_names`) → libxl's enum. */
const ACTION_NAMES: Readonly<Record<string, (typeof ACTIONS)[number]>> = {
  'destroy': 'destroy',
  'restart': 'restart',
  'rename-restart': 'restart_rename',
  'preserve': 'preserve',
  'coredump-destroy': 'coredump_destroy',
  'coredump-restart': 'coredump_restart',
  'soft-reset': 'soft_reset',
};

/** Sets `path` (dotted, from the config root) to `v`, creating the structs on the way. */
export function setField(ctx: ResolveContext, path: string, v: unknown): void {
  const parts = path.split('.');
  let o = ctx.config as unknown as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) {
    o[p] ??= {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1] as string] = v;
}

function getField(ctx: ResolveContext, path: string): unknown {
  let o: unknown = ctx.config;
  for (const p of path.split('.')) o = (o as Record<string, unknown> | undefined)?.[p];
  return o;
}

/** libxl's `*_from_string`: case-insensitive match of an enum name. */
function enumFrom<V extends string>(values: readonly V[], s: string): V | undefined {
  return values.find((v) => v.toLowerCase() === s.toLowerCase());
}

/** xl's prefix match of `type=`/`builder=`: `strncmp(buf, name, strlen(buf)) == 0`. */
function prefixOf(buf: string, name: string): boolean {
  return name.startsWith(buf);
}

function action(key: string, dflt: string): OptionSpec {
  return {
    key,
    value: 'string',
    field: key,
    allowed: Object.keys(ACTION_NAMES),
    apply(ctx: ResolveContext): void {
      const buf = ctx.r.string(key) ?? dflt;
      const a = own(ACTION_NAMES, buf);
      if (a === undefined) {
        throw cfgError(ctx, key, [`Unknown ${key} action "${buf}" specified`], { allowed: Object.keys(ACTION_NAMES) });
      }
      ctx.config[key as 'on_poweroff'] = a;
    },
  };
}

/** An option read as a number or as one of an enum's names (tsc_mode, timer_mode, altp2m). */
function numberOrName(
  ctx: ResolveContext,
  key: string,
  names: readonly string[],
  range: readonly [number, number],
  set: (name: string) => void,
  deprecatedNumber: boolean,
): void {
  const n = ctx.r.longResult(key, true);
  const base = names[0] === 'unknown' ? -1 : 0;
  if (n.kind === 'ok') {
    if (deprecatedNumber) {
      // xl names it with libxl's *_to_string, whose enum argument is a C int.
      const s = names[Number(BigInt.asIntN(32, BigInt(n.value))) - base];
      ctx.r.warn(`WARNING: specifying "${key}" as an integer is deprecated. Please use the named parameter variant. ${s === undefined ? '' : `e.g. ${key}="${s}"`}`);
    }
    if (n.value < range[0] || n.value > range[1]) {
      throw cfgError(ctx, key, [`ERROR: invalid value ${n.value} for "${key}"`], { allowed: names.slice(range[0] - base, range[1] - base + 1) });
    }
    set(names[n.value - base] as string);
    return;
  }
  const s = ctx.r.string(key);
  if (s === undefined) return;
  if (key === 'tsc_mode') ctx.r.warn(`got a tsc mode string: "${s}"`);
  const v = enumFrom(names, s);
  if (v === undefined) {
    throw cfgError(ctx, key, [`ERROR: invalid value "${s}" for "${key}"`], { allowed: names.slice(range[0] - base, range[1] - base + 1) });
  }
  set(v);
}

/**
 * An option naming one value of a libxl enumeration (matched without regard to case, as libxl's
 * `*_from_string` does); an unknown name fails with xl's `message`.
 */
function enumOption(
  key: string,
  values: readonly string[],
  o: { field: string; message: (s: string) => string; allowed?: readonly string[]; applies?: readonly GuestType[]; exitCode?: number; quiet?: boolean },
): OptionSpec {
  const allowed = o.allowed ?? values;
  return {
    key, value: 'string', field: o.field, allowed, ...(o.applies === undefined ? {} : { applies: o.applies }),
    apply(ctx: ResolveContext): void {
      const s = ctx.r.string(key, o.quiet === true);
      if (s === undefined) return;
      const v = enumFrom(values, s);
      if (v === undefined) throw cfgError(ctx, key, [o.message(s)], { allowed, ...(o.exitCode === undefined ? {} : { exitCode: o.exitCode }) });
      setField(ctx, o.field, v);
    },
  };
}

/**
 * A list of device specs (`vtpm=[...]`) into `field`: each item through `parse`, with its index
 * in the list (the devid xl gives it).
 */
function deviceList<K extends keyof DomainConfig>(
  key: string,
  field: K,
  parse: (spec: string, devid: number, ctx: ResolveContext) => NonNullable<DomainConfig[K]> extends Array<infer E> ? E : never,
): OptionSpec {
  return {
    key, value: 'list', field,
    apply(ctx: ResolveContext): void {
      const list = ctx.r.listItems(key);
      if (list !== undefined) (ctx.config as Record<K, unknown[]>)[field] = list.map((spec, devid) => parse(spec, devid, ctx));
    },
  };
}

/** A spec parser's device, its warnings printed (xl prints them as it parses). */
function warned<T>(ctx: ResolveContext, r: SpecResult<T>): T {
  for (const w of r.warnings) ctx.r.warn(w);
  return r.device;
}

function stringList(ctx: ResolveContext, key: string, path: string): void {
  const l = ctx.r.list(key);
  if (l !== undefined) {
    setField(ctx, path, CfgReader.items(l));
  } else if (ctx.r.setting(key) !== undefined) {
    throw cfgError(ctx, key, [`xl: Unable to parse ${key}.`], { hint: 'give a list of strings', exitCode: 3 });
  }
}

/** `serial`/`usbdevice`: a list of strings, or one string (its own field). */
function listOrString(ctx: ResolveContext, key: string, listPath: string, stringPath: string): void {
  const l = ctx.r.list(key, true);
  if (l !== undefined) setField(ctx, listPath, CfgReader.items(l));
  else {
    const s = ctx.r.string(key, true);
    if (s !== undefined) setField(ctx, stringPath, s);
  }
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'init_seclabel', value: 'string', field: 'c_info.ssid_label',
  },
  {
    key: 'seclabel', value: 'string', field: 'c_info.ssid_label',
    apply(ctx: ResolveContext): void {
      const s = ctx.r.string('seclabel');
      if (s === undefined) return;
      if (ctx.config.c_info.ssid_label !== undefined) ctx.config.b_info.exec_ssid_label = s;
      else ctx.config.c_info.ssid_label = s;
    },
  },
  {
    key: 'type', value: 'string', field: 'c_info.type', allowed: ['pv', 'pvh', 'hvm'],
    apply(ctx: ResolveContext): void {
      const buf = ctx.r.string('type');
      let type: GuestType | undefined;
      if (buf !== undefined) {
        if (prefixOf(buf, 'hvm')) type = 'hvm';
        else if (prefixOf(buf, 'pv')) type = 'pv';
        else if (prefixOf(buf, 'pvh')) type = 'pvh';
        else throw cfgError(ctx, 'type', [`Invalid domain type ${buf}.`], { allowed: ['pv', 'pvh', 'hvm'] });
      }
      const b = ctx.r.string('builder');
      if (b !== undefined) {
        let bt: GuestType;
        if (prefixOf(b, 'hvm')) bt = 'hvm';
        else if (prefixOf(b, 'generic')) bt = 'pv';
        else throw cfgError(ctx, 'builder', [`Invalid domain type ${b}.`], { allowed: ['generic', 'hvm'] });
        if (type !== undefined && type !== bt) {
          throw cfgError(ctx, 'builder', ['Contradicting "builder" and "type" options specified.'], { hint: 'drop the deprecated builder=' });
        }
        type = bt;
      }
      ctx.type = type ?? 'pv';
      ctx.config.c_info.type = ctx.type;
      ctx.config.b_info.type = ctx.type;
    },
  },
  { key: 'builder', value: 'string', field: 'c_info.type', allowed: ['generic', 'hvm'], deprecatedBy: 'type', readBy: 'type' },
  { key: 'hap', value: 'boolean', field: 'c_info.hap' },
  {
    key: 'name', value: 'string', field: 'c_info.name',
    apply(ctx: ResolveContext): void {
      const n = ctx.r.string('name');
      if (n === undefined) throw cfgError(ctx, undefined, ['Domain name must be specified.'], { hint: 'add name="..." to the config' });
      ctx.config.c_info.name = n;
    },
  },
  {
    key: 'uuid', value: 'string', field: 'c_info.uuid',
    apply(ctx: ResolveContext): void {
      const u = ctx.r.string('uuid');
      if (u === undefined) {
        ctx.config.c_info.uuid = (ctx.options.generateUuid ?? (() => globalThis.crypto.randomUUID()))();
        return;
      }
      const uuid = parseUuid(u);
      if (uuid === undefined) throw cfgError(ctx, 'uuid', [`Failed to parse UUID: ${u}`], { hint: 'the form is xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx' });
      ctx.config.c_info.uuid = uuid;
    },
  },
  { key: 'oos', value: 'boolean', field: 'c_info.oos' },
  { key: 'pool', value: 'string', field: 'c_info.pool_name' },
  { key: 'pvshim', value: 'boolean', applies: PVH, field: 'b_info.u.pvh.pvshim' },
  { key: 'pvshim_path', value: 'string', applies: PVH, field: 'b_info.u.pvh.pvshim_path' },
  { key: 'pvshim_cmdline', value: 'string', applies: PVH, field: 'b_info.u.pvh.pvshim_cmdline' },
  { key: 'pvshim_extra', value: 'string', applies: PVH, field: 'b_info.u.pvh.pvshim_extra' },
  { key: 'cpu_weight', value: 'number', field: 'b_info.sched_params.weight' },
  { key: 'cap', value: 'number', field: 'b_info.sched_params.cap' },
  { key: 'period', value: 'number', field: 'b_info.sched_params.period' },
  { key: 'slice', value: 'number', field: 'b_info.sched_params.slice' },
  { key: 'latency', value: 'number', field: 'b_info.sched_params.latency' },
  { key: 'extratime', value: 'number', field: 'b_info.sched_params.extratime' },
  { key: 'memory', value: 'number', field: 'b_info.target_memkb', scale: 1024 },
  { key: 'maxmem', value: 'number', field: 'b_info.max_memkb', scale: 1024 },
  {
    key: 'vcpus', value: 'number', field: 'b_info.avail_vcpus',
    apply(ctx: ResolveContext): void {
      const given = ctx.r.long('vcpus');
      if (given === undefined) return;
      const l = Number(BigInt.asIntN(32, BigInt(given))); // xl keeps it in a C int
      if (l < 0) {
        throw cfgError(ctx, 'vcpus', ['libxl: error: libxl_utils.c:809:libxl_cpu_bitmap_alloc: invalid number of cpus provided', 'Unable to allocate cpumap'], { hint: 'vcpus is a count of at least 1' });
      }
      checkVcpuCount(ctx, 'vcpus', l);
      ctx.vcpus = l;
      ctx.config.b_info.avail_vcpus = Array.from({ length: Math.max(0, l) }, (_, i) => i);
    },
  },
  {
    key: 'maxvcpus', value: 'number', field: 'b_info.max_vcpus',
    apply(ctx: ResolveContext): void {
      const given = ctx.r.long('maxvcpus');
      if (given === undefined) return;
      const n = Number(BigInt.asIntN(32, BigInt(given))); // a C int in xl
      checkVcpuLimit(ctx, 'maxvcpus', n);
      ctx.config.b_info.max_vcpus = n;
    },
  },
  enumOption('vuart', VUART_TYPES, { field: 'b_info.arch_arm.vuart', allowed: ['sbsa_uart'], message: (s) => `ERROR: invalid value "${s}" for "vuart"` }),

  { key: 'vnuma', value: 'list', field: 'b_info.vnuma_nodes', apply: cpus.vnuma },
  {
    key: 'max_vcpus and max_memkb defaults', value: 'number', step: true,
    apply(ctx: ResolveContext): void {
      const b = ctx.config.b_info;
      if (b.max_memkb === undefined) {
        if (b.target_memkb !== undefined) b.max_memkb = b.target_memkb;
      }
      // max_vcpus is a C int: xl's checks see the truncated value.
      if (b.max_vcpus !== undefined) b.max_vcpus = Number(BigInt.asIntN(32, BigInt(b.max_vcpus)));
      if ((b.max_vcpus ?? 0) === 0 && ctx.vcpus !== 0) b.max_vcpus = ctx.vcpus;
      if (Number(b.max_vcpus ?? 0) < ctx.vcpus) {
        throw cfgError(ctx, 'maxvcpus', ['xl: maxvcpus < vcpus'], { hint: 'maxvcpus must be at least vcpus' });
      }
    },
  },
  { key: 'cpus', value: 'string|list', field: 'b_info.vcpu_hard_affinity', apply: (ctx: ResolveContext): void => cpus.vcpuAffinity(ctx, 'cpus', true) },
  { key: 'cpus_soft', value: 'string|list', field: 'b_info.vcpu_soft_affinity', apply: (ctx: ResolveContext): void => cpus.vcpuAffinity(ctx, 'cpus_soft', false) },
  ...(['max_grant_frames', 'max_maptrack_frames', 'max_grant_version'] as const).map((key): OptionSpec => ({
    key, value: 'number', field: `b_info.${key}`,
    apply(ctx: ResolveContext): void {
      const v = ctx.r.longResult(key, true);
      const global = { max_grant_frames: ctx.xl.maxGrantFrames, max_maptrack_frames: ctx.xl.maxMaptrackFrames, max_grant_version: ctx.xl.maxGrantVersion }[key];
      if (v.kind === 'absent') {
        if (global !== undefined) setField(ctx, `b_info.${key}`, global);
        return;
      }
      // xl reads it with dont_warn set: a bad value exits 1 without a word (the hint says why).
      if (v.kind === 'invalid' || v.value < 0 || v.value > 2147483647) {
        throw cfgError(ctx, key, [], { hint: 'a number from 0 to 2147483647' });
      }
      setField(ctx, `b_info.${key}`, v.value);
    },
  })),
  action('on_poweroff', 'destroy'),
  action('on_reboot', 'restart'),
  action('on_watchdog', 'destroy'),
  action('on_crash', 'destroy'),
  action('on_soft_reset', 'soft-reset'),
  { key: 'e820_host', value: 'boolean', applies: ['pv'], field: 'b_info.u.pv.e820_host' },
  ...(['pci_msitranslate', 'pci_power_mgmt', 'pci_permissive', 'pci_seize'] as const).map((key): OptionSpec => ({
    key, value: 'boolean', field: `pcidevs[].${key.slice(4)}`,
    apply(ctx: ResolveContext): void {
      const l = ctx.r.long(key);
      if (l !== undefined) ctx.pciDefaults[key.slice(4) as 'seize'] = l !== 0;
    },
  })),
  { key: 'rdm', value: 'string', field: 'b_info.u.hvm.rdm', apply: dev.rdm },
  { key: 'pci', value: 'list', field: 'pcidevs', apply: dev.pci },
  deviceList('dtdev', 'dtdevs', (path) => ({ path })),
  enumOption('passthrough', PASSTHROUGH, { field: 'c_info.passthrough', message: (s) => `ERROR: unknown passthrough option '${s}'` }),

  { key: 'shadow_memory', value: 'number', field: 'b_info.shadow_memkb', scale: 1024 },
  { key: 'nomigrate', value: 'boolean', field: 'b_info.disable_migrate' },
  {
    key: 'tsc_mode', value: 'number|string', field: 'b_info.tsc_mode', allowed: TSC_MODES,
    apply: (ctx: ResolveContext): void => numberOrName(ctx, 'tsc_mode', TSC_MODES, [0, 3], (v) => { ctx.config.b_info.tsc_mode = v as 'native'; }, true),
  },
  { key: 'rtc_timeoffset', value: 'number', field: 'b_info.rtc_timeoffset' },
  {
    key: 'vncviewer', value: 'number',
    apply(ctx: ResolveContext): void {
      if (ctx.r.long('vncviewer') !== undefined) {
        ctx.r.warn('WARNING: ignoring "vncviewer" option. Use "-V" option of "xl create" to automatically spawn vncviewer.');
      }
    },
  },
  { key: 'localtime', value: 'boolean', field: 'b_info.localtime' },
  { key: 'videoram', value: 'number', field: 'b_info.video_memkb', scale: 1024 },
  { key: 'max_event_channels', value: 'number', field: 'b_info.event_channels' },
  { key: 'kernel', value: 'string', field: 'b_info.kernel' },
  { key: 'ramdisk', value: 'string', field: 'b_info.ramdisk' },
  { key: 'device_tree', value: 'string', field: 'b_info.device_tree' },
  {
    key: 'cmdline', value: 'string', field: 'b_info.cmdline',
    apply(ctx: ResolveContext): void {
      const buf = ctx.r.string('cmdline');
      const root = ctx.r.string('root');
      const extra = ctx.r.string('extra');
      let cmdline: string | undefined;
      if (buf !== undefined) {
        cmdline = buf;
        if (root !== undefined || extra !== undefined) ctx.r.warn('Warning: ignoring root= and extra= in favour of cmdline=');
      } else if (root !== undefined && extra !== undefined) cmdline = `root=${root} ${extra}`;
      else if (root !== undefined) cmdline = `root=${root}`;
      else if (extra !== undefined) cmdline = extra;
      if (cmdline !== undefined) ctx.config.b_info.cmdline = cmdline;
    },
  },
  { key: 'root', value: 'string', field: 'b_info.cmdline', readBy: 'cmdline', deprecatedBy: 'cmdline' },
  { key: 'extra', value: 'string', field: 'b_info.cmdline', readBy: 'cmdline', deprecatedBy: 'cmdline' },
  { key: 'driver_domain', value: 'boolean', field: 'c_info.driver_domain' },
  { key: 'acpi', value: 'boolean', field: 'b_info.acpi' },
  { key: 'bootloader', value: 'string', field: 'b_info.bootloader' },
  {
    key: 'bootloader_args', value: 'string|list', field: 'b_info.bootloader_args',
    apply(ctx: ResolveContext): void {
      const l = ctx.r.list('bootloader_args', true);
      if (l !== undefined) {
        ctx.config.b_info.bootloader_args = CfgReader.items(l);
        return;
      }
      const s = ctx.r.string('bootloader_args');
      if (s === undefined) return;
      ctx.r.warn('WARNING: Specifying "bootloader_args" as a string is deprecated. Please use a list of arguments.');
      const parts = s.split(/[ \t\n]+/).filter((p) => p !== '');
      ctx.config.b_info.bootloader_args = parts.length === 0 ? [s] : parts;
    },
  },
  { key: 'bootloader_restrict', value: 'boolean', field: 'b_info.bootloader_restrict' },
  { key: 'bootloader_user', value: 'string', field: 'b_info.bootloader_user' },
  {
    key: 'timer_mode', value: 'number|string', field: 'b_info.timer_mode', allowed: TIMER_MODES.slice(1),
    apply(ctx: ResolveContext): void {
      if (ctx.r.setting('timer_mode') !== undefined && ctx.type === 'pv' && ctx.r.string('timer_mode', true) !== undefined) {
        throw cfgError(ctx, 'timer_mode', ['ERROR: "timer_mode" option is not supported for PV guests.'], { exitCode: 3, hint: 'timer_mode applies to HVM and PVH guests' });
      }
      numberOrName(ctx, 'timer_mode', TIMER_MODES, [0, 3], (v) => { ctx.config.b_info.timer_mode = v as 'unknown'; }, true);
    },
  },
  { key: 'nestedhvm', value: 'boolean', field: 'b_info.nested_hvm' },
  {
    key: 'firmware_override', value: 'string', applies: HVM, field: 'b_info.u.hvm.firmware',
    apply(ctx: ResolveContext): void {
      const k = ctx.config.b_info.kernel;
      if (k !== undefined && (k.split('/').pop() ?? '') === 'hvmloader') {
        ctx.r.warn('WARNING: you seem to be using "kernel" directive to override HVM guest firmware. Ignore that. Use "firmware_override" instead if you really want a non-default firmware');
        delete ctx.config.b_info.kernel;
      }
      const s = ctx.r.string('firmware_override');
      if (s !== undefined) setField(ctx, 'b_info.u.hvm.firmware', s);
    },
  },
  { key: 'bios_path_override', value: 'string', applies: HVM, field: 'b_info.u.hvm.system_firmware' },
  {
    key: 'bios', value: 'string', applies: HVM, field: 'b_info.u.hvm.bios', allowed: BIOS_TYPES.slice(1),
    apply(ctx: ResolveContext): void {
      const s = ctx.r.string('bios');
      if (s !== undefined) {
        const v = enumFrom(BIOS_TYPES, s);
        if (v === undefined) throw cfgError(ctx, 'bios', [`ERROR: invalid value "${s}" for "bios"`], { allowed: BIOS_TYPES.slice(1) });
        setField(ctx, 'b_info.u.hvm.bios', v);
      } else if (getField(ctx, 'b_info.u.hvm.system_firmware') !== undefined) {
        ctx.r.warn('WARNING: bios_path_override given without specific bios name');
      }
    },
  },
  ...(['pae', 'acpi_s3', 'acpi_s4', 'acpi_laptop_slate', 'nx', 'hpet', 'vpt_align'] as const).map((key): OptionSpec => ({
    key, value: 'boolean', applies: HVM, field: `b_info.u.hvm.${key}`,
  })),
  { key: 'apic', value: 'boolean', applies: HVM, field: 'b_info.apic' },
  { key: 'viridian', value: 'string|list', applies: HVM, field: 'b_info.u.hvm.viridian', apply: platform.viridian },
  {
    key: 'mmio_hole', value: 'number', applies: HVM, field: 'b_info.u.hvm.mmio_hole_memkb',
    apply(ctx: ResolveContext): void {
      const l = ctx.r.long('mmio_hole');
      if (l === undefined) return;
      setField(ctx, 'b_info.u.hvm.mmio_hole_memkb', l * 1024);
      if (l < 256 || l > 3840) {
        throw cfgError(ctx, 'mmio_hole', [`ERROR: invalid value ${l} for "mmio_hole"`], { hint: 'mmio_hole is in MiB, from 256 to 3840' });
      }
    },
  },
  {
    key: 'altp2mhvm', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.altp2m', deprecatedBy: 'altp2m',
    apply(ctx: ResolveContext): void {
      const b = ctx.r.bool('altp2mhvm');
      if (b === undefined) return;
      setField(ctx, 'b_info.u.hvm.altp2m', b);
      ctx.r.warn('WARNING: Specifying "altp2mhvm" is deprecated. Please use "altp2m" instead.');
    },
  },
  { key: 'smbios_firmware', value: 'string', applies: HVM, field: 'b_info.u.hvm.smbios_firmware' },
  { key: 'acpi_firmware', value: 'string', applies: HVM, field: 'b_info.u.hvm.acpi_firmware' },
  { key: 'smbios', value: 'list', applies: HVM, field: 'b_info.u.hvm.smbios', apply: platform.smbios },
  {
    key: 'ms_vm_genid', value: 'string', applies: HVM, field: 'b_info.u.hvm.ms_vm_genid', allowed: ['generate', 'none'],
    apply(ctx: ResolveContext): void {
      const s = ctx.r.string('ms_vm_genid');
      if (s === undefined || s === 'none') return;
      if (s !== 'generate') throw cfgError(ctx, 'ms_vm_genid', ['ERROR: "ms_vm_genid" option must be "generate" or "none"'], { allowed: ['generate', 'none'] });
      setField(ctx, 'b_info.u.hvm.ms_vm_genid', [...globalThis.crypto.getRandomValues(new Uint8Array(16))]);
    },
  },
  { key: 'rdm_mem_boundary', value: 'number', applies: HVM, field: 'b_info.u.hvm.rdm_mem_boundary_memkb', scale: 1024 },
  {
    key: 'mca_caps', value: 'list', applies: HVM, field: 'b_info.u.hvm.mca_caps', allowed: ['lmce'],
    apply(ctx: ResolveContext): void {
      const l = ctx.r.list('mca_caps', true);
      if (l === undefined) {
        if (ctx.r.setting('mca_caps') !== undefined) throw cfgError(ctx, 'mca_caps', ['ERROR: unable to parse mca_caps.'], { exitCode: 3, hint: 'give a list, e.g. ["lmce"]' });
        return;
      }
      let caps = 0;
      for (const c of CfgReader.items(l)) {
        if (c !== 'lmce') throw cfgError(ctx, 'mca_caps', [`ERROR: unrecognized MCA capability '${c}'.`], { allowed: ['lmce'], exitCode: 3 });
        caps |= 1;
      }
      setField(ctx, 'b_info.u.hvm.mca_caps', caps);
    },
  },
  {
    key: 'firmware', value: 'string', field: 'b_info.kernel / b_info.u.hvm.bios / b_info.u.hvm.firmware',
    allowed: ['pvgrub32', 'pvgrub64', 'bios', 'uefi', 'seabios', 'rombios', 'ovmf'],
    apply: platform.firmware,
  },
  {
    key: 'altp2m', value: 'number|string', field: 'b_info.altp2m', allowed: ALTP2M_MODES,
    apply: (ctx: ResolveContext): void => numberOrName(ctx, 'altp2m', ALTP2M_MODES, [0, 3], (v) => { ctx.config.b_info.altp2m = v as 'mixed'; }, false),
  },
  { key: 'altp2m_count', value: 'number', field: 'b_info.altp2m_count' },
  { key: 'ioports', value: 'list', field: 'b_info.ioports', apply: platform.ioports },
  { key: 'irqs', value: 'list', field: 'b_info.irqs', apply: platform.irqs },
  { key: 'iomem', value: 'list', field: 'b_info.iomem', apply: platform.iomem },
  { key: 'llc_colors', value: 'list', field: 'b_info.llc_colors', apply: platform.llcColors },
  deviceList('disk', 'disks', (spec, _, ctx) => parseDiskSpec([spec], { source: ctx.r.doc.source })),
  // xl re-initialises each p9 entry, so its devid stays unset.
  deviceList('p9', 'p9s', (spec, _, ctx) => parseP9Spec(spec, { domainName: ctx.config.c_info.name ?? '' })),
  deviceList('vtpm', 'vtpms', parseVtpmSpec),
  deviceList('vdispl', 'vdispls', (spec, devid, ctx) => warned(ctx, parseVdisplSpec(spec, devid))),
  deviceList('pvcalls', 'pvcallsifs', parsePvcallsSpec),
  { key: 'vsnd', value: 'list', field: 'vsnds', apply: dev.vsnds },
  deviceList('channel', 'channels', (spec, devid, ctx) => warned(ctx, parseChannelSpec(spec, devid))),
  deviceList('vif', 'nics', (spec, devid, ctx) => warned(ctx, parseVifSpec(spec, { defaults: dev.vifDefaults(ctx.xl), source: ctx.r.doc.source, devid }))),
  {
    key: 'vif2', value: 'list', ignoredWarning: ['WARNING: vif2: netchannel2 is deprecated and not supported by xl'],
    apply(ctx: ResolveContext): void {
      if (ctx.r.list('vif2') !== undefined) ctx.r.warn('WARNING: vif2: netchannel2 is deprecated and not supported by xl');
    },
  },
  { key: 'vfb', value: 'list', field: 'vfbs', apply: dev.vfbs },
  {
    // xm's restart=onreboot|always|never: xl does not read it, so it changes nothing (Xen prints
    // the same config); we say what replaces it.
    key: 'restart', value: 'string', allowed: ['onreboot', 'always', 'never'], deprecatedBy: 'on_poweroff, on_reboot, on_crash',
    apply(ctx: ResolveContext): void {
      const s = ctx.r.string('restart', true);
      if (s === undefined) return;
      const map: Record<string, string> = {
        onreboot: 'on_reboot="restart"',
        always: 'on_poweroff="restart", on_reboot="restart", on_crash="restart"',
        never: 'on_reboot="destroy"',
      };
      ctx.r.warn(`${ctx.r.doc.source}:${ctx.r.line('restart') ?? 0}: warning: \`restart' is an xm option that xl ignores; write ${own(map, s) ?? 'on_poweroff=, on_reboot=, on_crash='} instead`);
    },
  },
  deviceList('usbctrl', 'usbctrls', parseUsbctrlSpec),
  deviceList('usbdev', 'usbdevs', (spec) => parseUsbdevSpec(spec)),
  { key: 'cpuid', value: 'string|list', field: 'b_info.cpuid', apply: cpus.cpuid },
  {
    key: 'device_model', value: 'string', deprecatedBy: 'device_model_override',
    apply(ctx: ResolveContext): void {
      const s = ctx.r.string('device_model');
      if (s === undefined) return;
      ctx.r.warn('WARNING: ignoring device_model directive.');
      ctx.r.warn('WARNING: Use "device_model_override" instead if you really want a non-default device_model');
      if (s.includes('stubdom-dm')) {
        ctx.r.warn(ctx.type === 'hvm'
          ? 'WARNING: Or use "device_model_stubdomain_override" if you  want to enable stubdomains'
          : 'WARNING: ignoring "device_model_stubdomain_override" directive for pv guest');
      }
    },
  },
  { key: 'device_model_override', value: 'string', field: 'b_info.device_model' },
  {
    key: 'device_model_version', value: 'string', field: 'b_info.device_model_version', allowed: ['qemu-xen'],
    apply(ctx: ResolveContext): void {
      const s = ctx.r.string('device_model_version');
      if (s === 'qemu-xen') ctx.config.b_info.device_model_version = 'qemu_xen';
      else if (s === 'qemu-xen-traditional') ctx.config.b_info.device_model_version = 'qemu_xen_traditional';
      else if (s !== undefined) throw cfgError(ctx, 'device_model_version', [`Unknown device_model_version "${s}" specified`], { allowed: ['qemu-xen'] });
      else if (ctx.config.b_info.device_model !== undefined) ctx.r.warn('WARNING: device model override given without specific DM version');
    },
  },
  { key: 'device_model_stubdomain_override', value: 'boolean', field: 'b_info.device_model_stubdomain' },
  { key: 'device_model_stubdomain_seclabel', value: 'string', field: 'b_info.device_model_ssid_label' },
  { key: 'device_model_user', value: 'string', field: 'b_info.device_model_user' },
  { key: 'stubdomain_kernel', value: 'string', field: 'b_info.stubdomain_kernel' },
  { key: 'stubdomain_ramdisk', value: 'string', field: 'b_info.stubdomain_ramdisk' },
  { key: 'stubdomain_cmdline', value: 'string', field: 'b_info.stubdomain_cmdline' },
  { key: 'stubdomain_memory', value: 'number', field: 'b_info.stubdomain_memkb', scale: 1024 },
  { key: 'device_model_args', value: 'list', field: 'b_info.extra' },
  { key: 'device_model_args_pv', value: 'list', field: 'b_info.extra_pv' },
  { key: 'device_model_args_hvm', value: 'list', field: 'b_info.extra_hvm' },
  { key: 'vnc', value: 'boolean', field: 'b_info.u.hvm.vnc.enable (PV: an implicit vfb)', apply: dev.topLevelDisplay },
  ...(['vnclisten', 'vncpasswd', 'vncdisplay', 'vncunused', 'sdl', 'opengl', 'display', 'xauthority'] as const).map((key): OptionSpec => ({
    key, value: key === 'vncdisplay' ? 'number' : key === 'vncunused' || key === 'sdl' || key === 'opengl' ? 'boolean' : 'string',
    field: `b_info.u.hvm.${key.startsWith('vnc') ? `vnc.${key.slice(3) || 'enable'}` : `sdl.${key === 'sdl' ? 'enable' : key}`}`,
    readBy: 'vnc',
  })),
  { key: 'dm_restrict', value: 'boolean', field: 'b_info.dm_restrict' },
  {
    key: 'vga', value: 'string', applies: HVM, field: 'b_info.u.hvm.vga.kind', allowed: ['none', 'stdvga', 'cirrus', 'qxl'],
    apply(ctx: ResolveContext): void {
      const s = ctx.r.string('vga');
      const kinds: Record<string, 'std' | 'cirrus' | 'none' | 'qxl'> = { stdvga: 'std', cirrus: 'cirrus', none: 'none', qxl: 'qxl' };
      if (s !== undefined) {
        const k = own(kinds, s);
        if (k === undefined) throw cfgError(ctx, 'vga', [`Unknown vga "${s}" specified`], { allowed: Object.keys(kinds) });
        setField(ctx, 'b_info.u.hvm.vga.kind', k);
      } else {
        const l = ctx.r.long('stdvga');
        if (l !== undefined) setField(ctx, 'b_info.u.hvm.vga.kind', l !== 0 ? 'std' : 'cirrus');
      }
    },
  },
  { key: 'stdvga', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.vga.kind', deprecatedBy: 'vga', readBy: 'vga' },
  enumOption('hdtype', HDTYPES, { field: 'b_info.u.hvm.hdtype', applies: HVM, message: (s) => `ERROR: invalid value "${s}" for "hdtype"` }),

  { key: 'keymap', value: 'string', field: 'b_info.u.hvm.keymap (PV: the implicit vfb)', apply: (ctx: ResolveContext): void => { if (ctx.type === 'hvm') { const s = ctx.r.string('keymap'); if (s !== undefined) setField(ctx, 'b_info.u.hvm.keymap', s); } } },
  { key: 'spice', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.spice.enable' },
  { key: 'spiceport', value: 'number', applies: HVM, field: 'b_info.u.hvm.spice.port' },
  { key: 'spicetls_port', value: 'number', applies: HVM, field: 'b_info.u.hvm.spice.tls_port' },
  { key: 'spicehost', value: 'string', applies: HVM, field: 'b_info.u.hvm.spice.host' },
  { key: 'spicedisable_ticketing', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.spice.disable_ticketing' },
  { key: 'spicepasswd', value: 'string', applies: HVM, field: 'b_info.u.hvm.spice.passwd' },
  { key: 'spiceagent_mouse', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.spice.agent_mouse' },
  { key: 'spicevdagent', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.spice.vdagent' },
  { key: 'spice_clipboard_sharing', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.spice.clipboard_sharing' },
  { key: 'spiceusbredirection', value: 'number', applies: HVM, field: 'b_info.u.hvm.spice.usbredirection' },
  { key: 'spice_image_compression', value: 'string', applies: HVM, field: 'b_info.u.hvm.spice.image_compression' },
  { key: 'spice_streaming_video', value: 'string', applies: HVM, field: 'b_info.u.hvm.spice.streaming_video' },
  { key: 'nographic', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.nographic' },
  {
    key: 'gfx_passthru', value: 'number|string', applies: HVM, field: 'b_info.u.hvm.gfx_passthru', allowed: GFX_PASSTHRU_KINDS,
    apply(ctx: ResolveContext): void {
      const n = ctx.r.longResult('gfx_passthru', true);
      if (n.kind === 'ok') {
        setField(ctx, 'b_info.u.hvm.gfx_passthru', n.value !== 0);
        return;
      }
      const s = ctx.r.string('gfx_passthru');
      if (s === undefined) return;
      const v = enumFrom(GFX_PASSTHRU_KINDS, s);
      if (v === undefined) throw cfgError(ctx, 'gfx_passthru', [`ERROR: invalid value "${s}" for "gfx_passthru"`], { allowed: GFX_PASSTHRU_KINDS });
      setField(ctx, 'b_info.u.hvm.gfx_passthru_kind', v);
      setField(ctx, 'b_info.u.hvm.gfx_passthru', true);
    },
  },
  { key: 'serial', value: 'string|list', applies: HVM, field: 'b_info.u.hvm.serial_list', apply: (ctx: ResolveContext): void => listOrString(ctx, 'serial', 'b_info.u.hvm.serial_list', 'b_info.u.hvm.serial') },
  { key: 'boot', value: 'string', applies: HVM, field: 'b_info.u.hvm.boot' },
  { key: 'usb', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.usb' },
  { key: 'usbversion', value: 'number', applies: HVM, field: 'b_info.u.hvm.usbversion' },
  { key: 'usbdevice', value: 'string|list', applies: HVM, field: 'b_info.u.hvm.usbdevice_list', apply: (ctx: ResolveContext): void => listOrString(ctx, 'usbdevice', 'b_info.u.hvm.usbdevice_list', 'b_info.u.hvm.usbdevice') },
  { key: 'vkb_device', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.vkb_device' },
  { key: 'soundhw', value: 'string', applies: HVM, field: 'b_info.u.hvm.soundhw' },
  { key: 'xen_platform_pci', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.xen_platform_pci' },
  { key: 'xen_platform_pci_bar_uc', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.xen_platform_pci_bar_uc' },
  { key: 'hvm_pirq', value: 'boolean', applies: HVM, field: 'b_info.u.hvm.pirq' },
  {
    key: 'vnc display given twice', value: 'number', applies: HVM, step: true,
    apply(ctx: ResolveContext): void {
      const listen = getField(ctx, 'b_info.u.hvm.vnc.listen');
      const display = getField(ctx, 'b_info.u.hvm.vnc.display');
      if (typeof listen === 'string' && display !== undefined && display !== 0 && listen.includes(':')) {
        throw cfgError(ctx, 'vncdisplay', ['ERROR: Display specified both in vnclisten and vncdisplay!'], { hint: 'give the display in one of them' });
      }
    },
  },
  enumOption('vendor_device', VENDOR_DEVICES, { field: 'b_info.u.hvm.vendor_device', applies: HVM, exitCode: 3, message: (s) => `xl: unknown vendor_device '${s}'` }),

  enumOption('gic_version', GIC_VERSIONS, { field: 'b_info.arch_arm.gic_version', quiet: true, exitCode: 3, message: (s) => `Unknown gic_version "${s}" specified` }),

  enumOption('tee', TEE_TYPES, { field: 'b_info.tee', quiet: true, exitCode: 3, message: (s) => `Unknown tee "${s}" specified` }),

  { key: 'vkb', value: 'list', field: 'vkbs', apply: dev.vkbs },
  {
    key: 'vmtrace_buf_kb', value: 'number', field: 'b_info.vmtrace_buf_kb',
    apply(ctx: ResolveContext): void {
      const l = ctx.r.long('vmtrace_buf_kb', true);
      if (l !== undefined && l !== 0) ctx.config.b_info.vmtrace_buf_kb = l;
    },
  },
  { key: 'vpmu', value: 'boolean', field: 'b_info.vpmu' },
  {
    key: 'msr_relaxed', value: 'boolean', field: 'b_info.arch_x86.msr_relaxed',
    apply(ctx: ResolveContext): void {
      const b = ctx.r.bool('msr_relaxed');
      if (b === undefined) return;
      setField(ctx, 'b_info.arch_x86.msr_relaxed', b);
      ctx.r.warn('WARNING: msr_relaxed will be removed in future versions.');
      ctx.r.warn('If it fixes an issue you are having please report to xen-devel@lists.xenproject.org.');
    },
  },
  { key: 'trap_unmapped_accesses', value: 'boolean', field: 'b_info.trap_unmapped_accesses' },
  { key: 'nr_spis', value: 'number', field: 'b_info.arch_arm.nr_spis' },
  { key: 'xend_suspend_evtchn_compat', value: 'boolean', field: 'c_info.xend_suspend_evtchn_compat' },
  {
    key: 'xenstore_feature_mask', value: 'number', field: 'b_info.xenstore_feature_mask',
    apply(ctx: ResolveContext): void {
      const l = ctx.r.long('xenstore_feature_mask');
      if (l !== undefined) ctx.config.b_info.xenstore_feature_mask = l >>> 0;
    },
  },
  { key: 'xenstore_quota', value: 'list', field: 'b_info.xenstore_quota.quota', apply: platform.xenstoreQuota },
  deviceList('virtio', 'virtios', parseVirtioSpec),
];

/** `n * scale` as C's 64-bit arithmetic gives it: a number when exact, else a bigint. */
function exactProduct(n: number, scale: number): number | bigint {
  const p = BigInt(n) * BigInt(scale);
  return p >= BigInt(Number.MIN_SAFE_INTEGER) && p <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(p) : p;
}

/** Applies one row: its own `apply`, or the plain read its `value` and `field` describe (a list: of strings). */
export function applyOption(ctx: ResolveContext, o: OptionSpec): void {
  if (o.applies !== undefined && !o.applies.includes(ctx.type)) return;
  if (o.apply !== undefined) {
    o.apply(ctx);
    return;
  }
  if (o.readBy !== undefined || o.field === undefined) return;
  let v: unknown;
  if (o.value === 'string') v = ctx.r.string(o.key);
  else if (o.value === 'number') {
    const n = ctx.r.long(o.key);
    v = n === undefined ? undefined : o.scale === undefined ? n : exactProduct(n, o.scale);
  } else if (o.value === 'boolean') v = ctx.r.bool(o.key);
  else if (o.value === 'list') stringList(ctx, o.key, o.field);
  if (v !== undefined) setField(ctx, o.field, v);
}

/** Every key xl reads from a domain config (for did-you-mean). */
export const KNOWN_KEYS: readonly string[] = OPTIONS.filter((o) => o.step !== true).map((o) => o.key);
