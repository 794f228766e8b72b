/** The state one resolution of an xl.cfg into a DomainConfig carries (see `resolve.ts`). */
import { ToolstackError } from '../../common/index.js';
import type { ErrorCode } from '../../common/index.js';
import type { DomainConfig, PciDevice } from './domain-config.js';
import type { CfgReader } from './reader.js';
import type { XlConf } from '../xlconf.js';

export type GuestType = 'pv' | 'pvh' | 'hvm';

export interface ResolveOptions {
  /** Global settings from xl.conf; defaults when absent. */
  readonly xlConf?: XlConf;
  /** Host CPUs, for CPU bitmaps (`cpus="all"`): libxl sizes them in whole bytes of this count. */
  readonly hostCpus?: number;
  /** Host NUMA nodes (vnuma `pnode=` must be below); 1 when absent. */
  readonly hostNumaNodes?: number;
  /** Makes the UUID of a config without `uuid=` (xl generates a random one). */
  readonly generateUuid?: () => string;
  /** `xl create -i`: do not AND xl.conf's `vm.*cpumask` into hard affinity. */
  readonly ignoreGlobalAffinityMasks?: boolean;
  /**
   * A lower limit of vCPUs than MAX_VCPU_COUNT, and why (the machine that will run the config):
   * dom0d resolves configs with it, so that a few bytes of config cannot have it expand a vCPU
   * list per vCPU of a million (seconds and gigabytes of its one event loop).
   */
  readonly vcpuLimit?: { readonly max: number; readonly why: string };
}

/** Everything the option appliers share while one config is resolved. */
export interface ResolveContext {
  readonly r: CfgReader;
  readonly config: MutableConfig;
  /** The guest type once decided (type/builder); `pv` before. */
  type: GuestType;
  readonly options: ResolveOptions;
  readonly xl: XlConf;
  /** `vcpus=` as given (0 when absent). */
  vcpus: number;
  /** pci_* defaults for each pci device. */
  readonly pciDefaults: Pick<PciDevice, 'msitranslate' | 'power_mgmt' | 'permissive' | 'seize'>;
  /**
   * `rdm="strategy=host"` took effect: xl then copies an uninitialised policy into b_info (for
   * every guest type: it writes the union unconditionally) and so into each pci device.
   */
  rdmPolicyGarbage?: true;
}

/** `DomainConfig` with its top-level structs present (resolution fills them in). */
export type MutableConfig = DomainConfig & {
  c_info: NonNullable<DomainConfig['c_info']>;
  b_info: NonNullable<DomainConfig['b_info']>;
};

/**
 * A config value xl rejects: `lines` are Xen's own message (printed verbatim); the hint names
 * the key, where it was set and, when there is a fixed set, the values allowed.
 */
export function cfgError(
  ctx: ResolveContext,
  key: string | undefined,
  lines: readonly string[],
  options: { allowed?: readonly string[]; hint?: string; exitCode?: number; code?: ErrorCode } = {},
): ToolstackError {
  const line = key === undefined ? undefined : ctx.r.line(key);
  const where = line === undefined ? ctx.r.doc.source : `${ctx.r.doc.source}:${line}`;
  const parts: string[] = [];
  if (key !== undefined) parts.push(`${where}: \`${key}'`);
  if (options.allowed !== undefined) parts.push(`allowed values: ${options.allowed.join(', ')}`);
  if (options.hint !== undefined) parts.push(options.hint);
  return new ToolstackError(options.code ?? 'CFG_VALUE', lines[0] ?? 'invalid config value', {
    lines,
    ...(parts.length > 0 ? { hint: parts.join('; ') } : {}),
    ...(line === undefined ? {} : { pos: { file: ctx.r.doc.source, line } }),
    exitCode: options.exitCode ?? 1,
  });
}

/**
 * The most vCPUs a config may ask for. xl allocates a bitmap of that many bits per vCPU list and
 * prints every bit: past INT_MAX it dies on a failed allocation (Xen 4.17: `libxl: FATAL ERROR:
 * memory allocation failure`, exit 255), well before that it prints gigabytes. We refuse instead.
 */
export const MAX_VCPU_COUNT = 1 << 20;

/** A count of vCPUs a list is made for (one entry or map per vCPU): MAX_VCPU_COUNT and the resolver's `vcpuLimit`. */
export function checkVcpuCount(ctx: ResolveContext, key: string, n: number): void {
  if (n > MAX_VCPU_COUNT) {
    throw cfgError(ctx, key, [`xl: ${key}=${n} is more vCPUs than can be described (at most ${MAX_VCPU_COUNT})`], { hint: 'give a real vCPU count' });
  }
  checkVcpuLimit(ctx, key, n);
}

/** The resolver's `vcpuLimit` alone (`maxvcpus=` is only a number for xl, which takes up to INT_MAX). */
export function checkVcpuLimit(ctx: ResolveContext, key: string, n: number): void {
  const limit = ctx.options.vcpuLimit;
  if (limit !== undefined && n > limit.max) throw cfgError(ctx, key, [`${key}=${n}: ${limit.why}`], { hint: `give at most ${limit.max}` });
}
