/**
 * The options of `parse_config_data` that build device lists with more to them than one spec
 * per item (those are `deviceList` rows in options.ts): what xl does between keys (pci defaults
 * and the rdm policy, the vkb of each vfb, the vfb the top-level vnc keys make), vsnd's list of
 * lists, and the xl.conf defaults of each vif.
 */
import { isToolstackError, ToolstackError } from '../../common/index.js';
import { cfgValueList } from '../cfg/access.js';
import { UNTERMINATED } from '../spec/c-parse.js';
import { parsePciSpec, parseRdm } from '../spec/pci.js';
import { parseVfbSpec } from '../spec/vfb.js';
import type { VifDefaults } from '../spec/vif.js';
import { newVkb, parseVkbSpec } from '../spec/vkb.js';
import { parseVsndCard } from '../spec/vsnd.js';
import type { XlConf } from '../xlconf.js';
import { cfgError } from './context.js';
import type { ResolveContext } from './context.js';
import type { VfbDevice, VsndDevice } from './domain-config.js';
import { CfgReader } from './reader.js';

/**
 * `rdm="strategy=host,policy=strict|relaxed"`; a spec libxlutil rejects is ignored. libxlutil
 * (Xen 4.15 on) also rejects every *valid* `policy=` (its check of `parse_rdm_policy` is
 * inverted), so only `strategy=host` alone takes effect.
 */
export function rdm(ctx: ResolveContext): void {
  const s = ctx.r.string('rdm');
  if (s === undefined) return;
  let r;
  try {
    r = parseRdm(s);
  } catch (e) {
    if (!isToolstackError(e, 'SPEC_PCI')) throw e;
    // libxlutil's complaint (if it made one) has no newline: it runs on into xl's next output.
    const line = e.lines?.[0];
    if (line?.startsWith('Unknown RDM ') === true) ctx.r.warn(line + UNTERMINATED);
    return;
  }
  if (r.policy !== 'invalid') return;
  // xl copies the whole reserve from an uninitialised local, so the policy `strategy=host` leaves
  // is stack garbage: no enum value, which libxl writes as JSON null.
  ctx.rdmPolicyGarbage = true;
  if (ctx.type === 'hvm') ((ctx.config.b_info.u ??= {}).hvm ??= {}).rdm = { strategy: r.strategy, policy: null };
}

/** `pci=[...]`, each with the pci_* and rdm policy defaults; any pci on PV sets e820_host. */
export function pci(ctx: ResolveContext): void {
  const list = ctx.r.listItems('pci');
  if (list === undefined) return;
  // xl copies b_info.u.hvm.rdm.policy: unset on HVM; on PV/PVH that union memory reads as 0,
  // strict; after rdm="strategy=host", garbage (null in the JSON).
  const rdmPolicy = ctx.rdmPolicyGarbage === true ? null : ctx.type === 'hvm' ? 'invalid' : 'strict';
  ctx.config.pcidevs = list.map((spec) => {
    try {
      return parsePciSpec(spec, { ...ctx.pciDefaults, rdm_policy: rdmPolicy });
    } catch (e) {
      if (!isToolstackError(e, 'SPEC_PCI')) throw e;
      // xl's own last line names the purpose; it exits with libxlutil's -rc (ERROR_INVAL, 6, unless
      // libxl's enum parser failed: ERROR_FAIL, 3).
      throw new ToolstackError(e.code, e.message, {
        lines: (e.lines ?? []).map((l) => l.replace(/unable to parse PCI_SPEC_STRING `.*'$/s, `unable to parse PCI_SPEC_STRING \`${spec}' for passthrough`)),
        exitCode: e.exitCode === 3 ? 3 : 6,
        ...(e.hint === undefined ? {} : { hint: e.hint }),
      });
    }
  });
  if (list.length > 0 && ctx.type === 'pv') ((ctx.config.b_info.u ??= {}).pv ??= {}).e820_host = true;
}

/** `vsnd=[[...], ...]`: a list of cards, each a list of item strings. */
export function vsnds(ctx: ResolveContext): void {
  const l = ctx.r.list('vsnd');
  if (l === undefined) return;
  const cards: VsndDevice[] = [];
  for (const card of l.items) {
    const items = cfgValueList(ctx.r.doc, card, { warnings: ctx.r.warnings });
    if (items === undefined) throw cfgError(ctx, 'vsnd', ['Failed to get vsnd card list: Invalid argument'], { hint: 'vsnd is a list of lists: vsnd = [["card, ...", "pcm, ..."]]' });
    cards.push(parseVsndCard(CfgReader.items(items), cards.length));
  }
  ctx.config.vsnds = cards;
}

/** xl.conf's `vif.default.*`, which xl applies to each vif before its spec. */
export function vifDefaults(x: XlConf): VifDefaults {
  return {
    ...(x.vifDefaultScript === undefined ? {} : { script: x.vifDefaultScript }),
    ...(x.vifDefaultBridge === undefined ? {} : { bridge: x.vifDefaultBridge }),
    ...(x.vifDefaultGatewaydev === undefined ? {} : { gatewaydev: x.vifDefaultGatewaydev }),
    ...(x.vifDefaultBackend === undefined ? {} : { backend: x.vifDefaultBackend }),
  };
}

/** `vfb=[...]`: each vfb also gets a vkb (same devid). */
export function vfbs(ctx: ResolveContext): void {
  const list = ctx.r.listItems('vfb');
  if (list === undefined) return;
  ctx.config.vfbs = list.map((spec, devid) => parseVfbSpec(spec, devid));
  ctx.config.vkbs = list.map((_, devid) => newVkb(devid));
}

/**
 * Top-level vnc/sdl keys: a PV guest without `vfb=` gets a vfb+vkb from them when `vnc` is
 * true; other guests put them in the HVM display settings.
 */
export function topLevelDisplay(ctx: ResolveContext): void {
  const r = ctx.r;
  const read = (): Pick<VfbDevice, 'vnc' | 'sdl'> => ({
    vnc: defined({ enable: r.bool('vnc'), listen: r.string('vnclisten'), passwd: r.string('vncpasswd'), display: r.long('vncdisplay'), findunused: r.bool('vncunused') }),
    sdl: defined({ enable: r.bool('sdl'), opengl: r.bool('opengl'), display: r.string('display'), xauthority: r.string('xauthority') }),
  });
  const c = ctx.config;
  if (ctx.type === 'pv' && (c.vfbs?.length ?? 0) === 0) {
    if ((r.long('vnc') ?? 0) === 0) return;
    const vfb: VfbDevice = { devid: c.vfbs?.length ?? 0, ...read() };
    const keymap = r.string('keymap');
    if (keymap !== undefined) vfb.keymap = keymap;
    c.vfbs = [...(c.vfbs ?? []), vfb];
    c.vkbs = [...(c.vkbs ?? []), newVkb(c.vkbs?.length ?? 0)];
  } else {
    // xl reads them here for a PV guest with vfb=[] too (into union memory a PV dump never shows).
    const display = read();
    if (ctx.type === 'hvm') Object.assign((c.b_info.u ??= {}).hvm ??= {}, display);
  }
}

/** `o` without its undefined members. */
function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** `vkb=[...]`: devids continue after the vkbs the vfbs made. */
export function vkbs(ctx: ResolveContext): void {
  const list = ctx.r.listItems('vkb');
  if (list === undefined) return;
  const base = ctx.config.vkbs?.length ?? 0;
  ctx.config.vkbs = [...(ctx.config.vkbs ?? []), ...list.map((spec, i) => parseVkbSpec(spec, base + i))];
}

