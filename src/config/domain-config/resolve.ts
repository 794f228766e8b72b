/**
 * xl.cfg → DomainConfig, as xl's `parse_config_data` fills `libxl_domain_config` (only what xl
 * sets; libxl's own defaults are applied later, at creation, and never show in a dry run).
 */
import { readCfgFile } from '../cfg/read.js';
import { ToolstackError } from '../../common/index.js';
import type { CfgDocument, CfgSetting } from '../cfg/types.js';
import { libxlJson } from '../libxl-json.js';
import type { LibxlJsonObject } from '../libxl-json.js';
import { joinUnterminated, UNTERMINATED, withEarlierLines } from '../spec/c-parse.js';
import { XL_CONF_DEFAULTS } from '../xlconf.js';
import { cfgError, checkVcpuCount } from './context.js';
import type { MutableConfig, ResolveContext, ResolveOptions } from './context.js';
import { globalAffinityMask, parseCpuRange } from './cpus.js';
import { DOMAIN_CONFIG } from './domain-config.js';
import type { DomainConfig } from './domain-config.js';
import { idlToJson } from './idl-json.js';
import { applyOption, KNOWN_KEYS, OPTIONS } from './options.js';
import { CfgReader } from './reader.js';
import { domainConfigToSxp, SxpUnsupported } from './sxp.js';

export interface ResolvedDomainConfig {
  readonly config: DomainConfig;
  /** Settings of keys xl does not know: ignored (as Xen does), kept here, warned about. */
  readonly unknown: readonly CfgSetting[];
  /**
   * What xl prints to stderr while parsing (in order), then ours (unknown keys). A last line xl
   * leaves without its newline ends with `UNTERMINATED` (print it without one).
   */
  readonly warnings: string[];
}

/**
 * Resolves a parsed domain config. Throws ToolstackError (Xen's message in `lines`, a hint
 * naming the key, its line and the allowed values) where xl exits.
 */
export function resolveDomainConfig(doc: CfgDocument, options: ResolveOptions = {}): ResolvedDomainConfig {
  const xl = options.xlConf ?? XL_CONF_DEFAULTS;
  const config: MutableConfig = { c_info: {}, b_info: {} };
  const ctx: ResolveContext = {
    r: new CfgReader(doc),
    config,
    type: 'pv',
    options,
    xl,
    vcpus: 0,
    pciDefaults: {},
  };
  config.c_info.run_hotplug_scripts = xl.runHotplugScripts;
  if (xl.blkdevStart !== undefined) config.b_info.blkdev_start = xl.blkdevStart;
  config.b_info.claim_mode = xl.claimMode;
  try {
    for (const o of OPTIONS) applyOption(ctx, o);
  } catch (e) {
    // xl has printed its warnings by the time it exits: they precede the error's lines.
    throw withEarlierLines(e, [...doc.warnings, ...ctx.r.warnings]);
  }
  if (options.ignoreGlobalAffinityMasks !== true) applyGlobalAffinityMasks(ctx);
  // A last unterminated line stays so (it runs on into nothing on stderr), unless ours follow.
  const warnings = joinUnterminated([...doc.warnings, ...ctx.r.warnings]);
  const unknown = ctx.r.unusedKeys().filter((s) => !KNOWN_KEYS.includes(s.name));
  const last = warnings[warnings.length - 1];
  if (unknown.length > 0 && last?.endsWith(UNTERMINATED) === true) warnings[warnings.length - 1] = last.slice(0, -1);
  for (const [i, s] of unknown.entries()) {
    // Suggestions for the first few: a file of 80,000 unknown keys took 20 s of them.
    const near = i < MAX_SUGGESTIONS ? didYouMean(s.name, KNOWN_KEYS) : undefined;
    warnings.push(`${doc.source}:${s.line}: warning: unknown option \`${s.name}' (kept, ignored)${near === undefined ? '' : `; did you mean \`${near}'?`}`);
  }
  return { config, unknown, warnings };
}

/** How many unknown keys get a "did you mean" (each is compared with every known key). */
const MAX_SUGGESTIONS = 100;

export interface LoadDomainConfigOptions extends ResolveOptions {
  /** Command-line `key=value` overrides, appended to the file as xl does. */
  readonly extra?: readonly string[];
}

/**
 * `xl create FILE [key=value ...]` up to the dry run: reads FILE (`/dev/null` = empty), appends
 * the overrides, resolves. Also returns the parsed document (for `config-parse`).
 */
export function loadDomainConfig(path: string, options: LoadDomainConfigOptions = {}): ResolvedDomainConfig & { doc: CfgDocument } {
  const doc = readCfgFile(path, options.extra === undefined ? {} : { extra: options.extra });
  return { ...resolveDomainConfig(doc, options), doc };
}

/**
 * xl.conf `vm.cpumask` and `vm.pv.cpumask` (PV) / `vm.hvm.cpumask` (HVM and PVH), ANDed into each
 * vCPU's hard affinity (xl's `apply_global_affinity_masks`). Without `cpus=`, a mask that is not
 * full first gives every vCPU an all-CPUs hard affinity.
 */
function applyGlobalAffinityMasks(ctx: ResolveContext): void {
  const all = parseCpuRange(ctx, 'all');
  const mask = globalAffinityMask(ctx.xl, ctx.type, ctx.options.hostCpus ?? 8);
  const b = ctx.config.b_info;
  if (b.vcpu_hard_affinity === undefined || b.vcpu_hard_affinity.length === 0) {
    if (mask === undefined || mask.length === all.length) return;
    checkVcpuCount(ctx, 'maxvcpus', Number(b.max_vcpus ?? 0));
    b.vcpu_hard_affinity = Array.from({ length: Number(b.max_vcpus ?? 0) }, () => [...all]);
  }
  b.vcpu_hard_affinity = b.vcpu_hard_affinity.map((set) => (mask === undefined ? set : set.filter((c) => mask.includes(c))));
  if (b.vcpu_hard_affinity.some((set) => set.length === 0)) {
    throw cfgError(ctx, 'cpus', ['vcpu hard affinity map is empty'], { hint: 'every vCPU needs at least one host CPU (cpus=, and xl.conf vm.*cpumask)' });
  }
}

/**
 * The closest known key within a small edit distance, if any. A distance is at least the keys'
 * difference in length: keys that far apart are not compared (a 200,000-character key was
 * compared with every known one, for 46 s).
 */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    if (Math.abs(k.length - key.length) >= bestD) continue;
    const d = editDistance(key, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

/** Damerau–Levenshtein (optimal string alignment): a swap of neighbours costs one. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = v;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The config as libxl's `libxl_domain_config_to_json` writes it (the object, in key order). */
export function domainConfigToLibxlObject(config: DomainConfig): LibxlJsonObject {
  return idlToJson(DOMAIN_CONFIG, config);
}

/**
 * The text `xl -N create` (and `-d`) prints in xl.conf's `output_format`: libxl's JSON, or the
 * legacy SXP. A PVH domain has no SXP form: xl fails with `Unknown domain type 3`, having
 * printed part of it (`partialConfigText`).
 */
export function domainConfigText(config: DomainConfig, format: 'json' | 'sxp'): string {
  if (format === 'json') return domainConfigToLibxlJson(config);
  try {
    return domainConfigToSxp(config);
  } catch (e) {
    if (!(e instanceof SxpUnsupported)) throw e;
    throw new ToolstackError('NOT_SUPPORTED', e.message, { lines: [e.message], cause: e, hint: 'xl.conf output_format="sxp" cannot show PVH guests; use "json"' });
  }
}

/** What xl had printed on stdout before the failure `e` of `domainConfigText` (SXP of a PVH domain). */
export function partialConfigText(e: unknown): string | undefined {
  return e instanceof ToolstackError && e.cause instanceof SxpUnsupported ? e.cause.partial : undefined;
}

/** The text `xl -N create` prints: the config JSON in libxl's (YAJL) style, newline-ended. */
export function domainConfigToLibxlJson(config: DomainConfig): string {
  return libxlJson(domainConfigToLibxlObject(config));
}
