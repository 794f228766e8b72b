/**
 * The global `xl.conf` (`<config dir>/xl.conf`, xl's `parse_global_config`): settings every xl
 * command shares. Absent keys take xl's defaults; `vif.default.*` are left unset when absent
 * (libxl then applies `vif-bridge` / `xenbr0` itself, so they never show in a dry run).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ToolstackError } from '../common/index.js';
import { PARSE_FAILED_TRAILER, parseCfg } from './cfg/parser.js';
import { readCfgFile, withExtraConfig } from './cfg/read.js';
import type { CfgDocument } from './cfg/types.js';
import { CfgReader } from './domain-config/reader.js';
import { parseCpuList } from './spec/cpulist.js';

export interface XlConf {
  /** `autoballoon`: `on`, `off` or `auto` (off iff Xen's command line has `dom0_mem=`). */
  readonly autoballoon: 'on' | 'off' | 'auto';
  readonly runHotplugScripts: boolean;
  readonly lockfile: string;
  readonly vifDefaultScript: string | undefined;
  readonly vifDefaultBridge: string | undefined;
  readonly vifDefaultGatewaydev: string | undefined;
  readonly vifDefaultBackend: string | undefined;
  readonly outputFormat: 'json' | 'sxp';
  readonly blkdevStart: string | undefined;
  readonly claimMode: boolean;
  readonly remusNetbufscript: string | undefined;
  readonly coloProxyscript: string | undefined;
  /** Grant limits for domains that do not set their own; undefined = Xen's default. */
  readonly maxGrantFrames: number | undefined;
  readonly maxMaptrackFrames: number | undefined;
  readonly maxGrantVersion: number | undefined;
  /** `vm.cpumask`, `vm.hvm.cpumask`, `vm.pv.cpumask` (cpulist strings). */
  readonly vmCpumask: string | undefined;
  readonly vmHvmCpumask: string | undefined;
  readonly vmPvCpumask: string | undefined;
  readonly domidPolicy: 'xen' | 'random';
  readonly bootloaderRestrict: boolean | undefined;
  /**
   * dom0's own (no Xen key): `vif.nat.bridge`, the bridge name that means dom0's NAT network
   * (made on demand, with DHCP), and `vif.nat.subnet`, its IPv4 network (undefined: dom0 picks a
   * free /24 of 10.0.200.0-10.0.254.0).
   */
  readonly natBridge: string;
  readonly natSubnet: string | undefined;
  /**
   * dom0's stand-in for Xen's `sched=` boot option (no xl key): the host's scheduler, which
   * Pool-0 runs and a new pool gets by default; undefined: Xen's default (credit2).
   */
  readonly sched: string | undefined;
  /** Ours: where dom0d also serves its API over TCP (`ADDR:PORT`, `[V6]:PORT`); off when unset. */
  readonly apiListen: string | undefined;
  /** Ours: the PEM certificate and key that make that listener HTTPS. */
  readonly apiTlsCert: string | undefined;
  readonly apiTlsKey: string | undefined;
  /** Warnings met while reading (deprecated keys), as xl prints them. */
  readonly warnings: readonly string[];
}

/** xl.conf as it is when the file is absent. */
export const XL_CONF_DEFAULTS: XlConf = {
  autoballoon: 'auto',
  runHotplugScripts: true,
  lockfile: '/var/lock/xl',
  vifDefaultScript: undefined,
  vifDefaultBridge: undefined,
  vifDefaultGatewaydev: undefined,
  vifDefaultBackend: undefined,
  outputFormat: 'json',
  blkdevStart: undefined,
  claimMode: true,
  remusNetbufscript: undefined,
  coloProxyscript: undefined,
  maxGrantFrames: undefined,
  maxMaptrackFrames: undefined,
  maxGrantVersion: undefined,
  vmCpumask: undefined,
  vmHvmCpumask: undefined,
  vmPvCpumask: undefined,
  domidPolicy: 'xen',
  bootloaderRestrict: undefined,
  natBridge: 'dom0nat',
  natSubnet: undefined,
  sched: undefined,
  apiListen: undefined,
  apiTlsCert: undefined,
  apiTlsKey: undefined,
  warnings: [],
};

/**
 * The settings of a parsed xl.conf, with xl's defaults for absent keys. Bad values warn and keep
 * the default, as xl does, except the grant limits, which make xl exit 1 (ToolstackError).
 */
export function xlConfFromDoc(doc: CfgDocument): XlConf {
  const r = new CfgReader(doc);
  const fail = (line: string, key: string): never => {
    throw new ToolstackError('CFG_VALUE', line === '' ? `invalid ${key} in ${doc.source}` : line, {
      lines: line === '' ? [] : [line],
      hint: `${doc.source}:${r.line(key) ?? '?'}: \`${key}' must be a number from 0 to 2147483647`,
    });
  };
  let autoballoon = XL_CONF_DEFAULTS.autoballoon;
  const ab = r.string('autoballoon');
  if (ab !== undefined) {
    if (ab === 'on' || ab === '1') autoballoon = 'on';
    else if (ab === 'off' || ab === '0') autoballoon = 'off';
    else if (ab === 'auto') autoballoon = 'auto';
    else r.warn('invalid autoballoon option');
  }
  const bounded = (key: string): number | undefined => {
    const v = r.longResult(key, true);
    if (v.kind === 'absent') return undefined;
    // xl reads these with dont_warn set and exits 1 on a bad value, without a word.
    if (v.kind === 'invalid' || v.value < 0 || v.value > 2147483647) return fail('', key);
    return v.value;
  };
  let vifScript = r.string('vifscript');
  if (vifScript !== undefined) r.warn('the global config option vifscript is deprecated, please switch to vif.default.script');
  vifScript = r.string('vif.default.script') ?? vifScript;
  let bridge = r.string('defaultbridge');
  if (bridge !== undefined) r.warn('the global config option defaultbridge is deprecated, please switch to vif.default.bridge');
  bridge = r.string('vif.default.bridge') ?? bridge;
  let outputFormat = XL_CONF_DEFAULTS.outputFormat;
  const of = r.string('output_format');
  if (of !== undefined) {
    if (of === 'json' || of === 'sxp') outputFormat = of;
    else r.warn(`invalid default output format "${of}"`);
  }
  let domidPolicy = XL_CONF_DEFAULTS.domidPolicy;
  const dp = r.string('domid_policy');
  if (dp !== undefined) {
    if (dp === 'xen' || dp === 'random') domidPolicy = dp;
    else r.warn('invalid domid_policy option');
  }
  return {
    autoballoon,
    runHotplugScripts: (r.long('run_hotplug_scripts') ?? 1) !== 0,
    lockfile: r.string('lockfile') ?? XL_CONF_DEFAULTS.lockfile,
    vifDefaultScript: vifScript,
    vifDefaultBridge: bridge,
    vifDefaultGatewaydev: r.string('vif.default.gatewaydev'),
    vifDefaultBackend: r.string('vif.default.backend'),
    outputFormat,
    blkdevStart: r.string('blkdev_start'),
    claimMode: (r.long('claim_mode') ?? 1) !== 0,
    remusNetbufscript: r.string('remus.default.netbufscript'),
    coloProxyscript: r.string('colo.default.proxyscript'),
    maxGrantFrames: bounded('max_grant_frames'),
    maxMaptrackFrames: bounded('max_maptrack_frames'),
    maxGrantVersion: bounded('max_grant_version'),
    vmCpumask: cpumask(r, 'vm.cpumask'),
    vmHvmCpumask: cpumask(r, 'vm.hvm.cpumask'),
    vmPvCpumask: cpumask(r, 'vm.pv.cpumask'),
    domidPolicy,
    bootloaderRestrict: r.bool('bootloader_restrict'),
    natBridge: r.string('vif.nat.bridge') ?? XL_CONF_DEFAULTS.natBridge,
    natSubnet: r.string('vif.nat.subnet'),
    sched: r.string('sched'),
    apiListen: r.string('api_listen'),
    apiTlsCert: r.string('api_tls_cert'),
    apiTlsKey: r.string('api_tls_key'),
    warnings: [...doc.warnings, ...r.warnings],
  };
}

/**
 * A `vm.*cpumask` as xl keeps it: xl parses it while reading xl.conf, into a map that starts
 * empty, and on a bad item prints its complaint and keeps the items before it. So the result is
 * the valid leading items ('' = an empty map).
 */
function cpumask(r: CfgReader, key: string): string | undefined {
  const text = r.string(key);
  if (text === undefined) return undefined;
  const items = text.split(',');
  for (let i = 0; i < items.length; i++) {
    try {
      parseCpuList(items[i] as string, 1);
    } catch (e) {
      if (!(e instanceof ToolstackError) || e.lines === undefined) throw e;
      for (const l of e.lines) r.warn(l);
      return items.slice(0, i).join(',');
    }
  }
  return text;
}

/**
 * Reads `<configDir>/xl.conf` (configDir: `$DOM0_CONFIG_DIR` or `/etc/xen`, see common/paths).
 * A missing file means all defaults; unlike xl, which warns `Failed to read config file` on
 * every command, we stay silent, since most hosts have none. One that cannot be read (a
 * directory, a FIFO) is xl's warning, in `warnings`, and the defaults, as xl goes on with them. A
 * bad file throws as xl exits.
 */
export function readXlConf(configDir: string): XlConf {
  const path = join(configDir, 'xl.conf');
  if (!existsSync(path)) return XL_CONF_DEFAULTS;
  let doc: CfgDocument;
  try {
    doc = readOtherConfig(path);
  } catch (e: unknown) {
    if (!(e instanceof ToolstackError) || e.code !== 'CFG_READ') throw e;
    return { ...XL_CONF_DEFAULTS, warnings: [...XL_CONF_DEFAULTS.warnings, ...(e.lines ?? [e.message])] };
  }
  return xlConfFromDoc(doc);
}

/**
 * Reads a config that is not a domain's (xl.conf, a CPU pool's) as xl reads those: the file, or
 * only the `key=value` arguments (`command line`) when `path` is undefined, then `extra`; no
 * legacy configs; a syntax error ends with `Failed to parse config file: Invalid argument`.
 */
export function readOtherConfig(path: string | undefined, extra: readonly string[] = []): CfgDocument {
  try {
    return path === undefined ? parseCfg(withExtraConfig('', extra), { source: 'command line' }) : readCfgFile(path, { legacy: false, extra });
  } catch (e) {
    if (!(e instanceof ToolstackError) || e.code !== 'CFG_SYNTAX' || e.lines === undefined) throw e;
    const lines = e.lines.map((l) => (l === PARSE_FAILED_TRAILER ? 'Failed to parse config file: Invalid argument' : l));
    throw new ToolstackError(e.code, e.message, { lines, ...(e.hint === undefined ? {} : { hint: e.hint }), ...(e.pos === undefined ? {} : { pos: e.pos }) });
  }
}
