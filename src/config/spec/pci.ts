/**
 * PCI pass-through specifications (`pci=[...]`, `xl pci-attach/detach`, `pci-assignable-*`) and
 * the `rdm=` setting: libxlutil's `xlu_pci_parse_spec_string`, `xlu_pci_parse_bdf` and
 * `xlu_rdm_parse`.
 *
 * `PCI_SPEC_STRING := BDF ['@' VSLOT] [',' KEY=VALUE]... | KEY=VALUE [',' KEY=VALUE]...` with
 * `BDF := [DDDD:]BB:DD.F` (hex; F may be `*` for every function). Exactly one of a BDF (positional
 * or `bdf=`) and `name=` must be given.
 */
import { ToolstackError } from '../../common/index.js';
import type { PciDevice } from '../domain-config/domain-config.js';
import { atoi, specError } from './c-parse.js';

type RdmPolicy = NonNullable<PciDevice['rdm_policy']>;

/** Per-device defaults from the config's `pci_*` keys and `rdm=` policy (xl sets them before parsing). */
export type PciDefaults = Readonly<Pick<PciDevice, 'msitranslate' | 'power_mgmt' | 'permissive' | 'seize' | 'rdm_policy'>>;

const HINT = 'PCI_SPEC_STRING is [DDDD:]BB:DD.F[@VSLOT][,key=value...] (hex; F may be *) or name=NAME[,key=value...]';
const FUNC_ALL = 0xffffffff;

/**
 * scanf `%x` at `pos`: optional blanks, sign and `0x`, then hex digits. Returns the value as
 * `unsigned int` and the index after it, or undefined when nothing converts.
 */
function scanHex(s: string, pos: number): { value: number; end: number } | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)/.exec(s.slice(pos));
  if (m === null) return undefined;
  let v = BigInt(`0x${m[3] as string}`);
  if (v > 0xffffffffn) v = 0xffffffffn;
  if (m[1] === '-') v = (0x100000000n - v) & 0xffffffffn;
  return { value: Number(v), end: pos + m[0].length };
}

function expect(s: string, pos: number, c: string): number | undefined {
  return s[pos] === c ? pos + 1 : undefined;
}

interface Bdf {
  readonly domain: number;
  readonly bus: number;
  readonly dev: number;
  readonly func: number;
  readonly vfunc_mask: number;
  readonly end: number;
}

/** libxlutil's `parse_bdf`: the colons in the leading `[0-9a-fA-F:]` run decide whether a domain is present. */
function parseBdf(s: string, pos: number): Bdf | undefined {
  const run = /^[0-9a-fA-F:]*/.exec(s.slice(pos))?.[0] ?? '';
  const colons = [...run].filter((c) => c === ':').length;
  let p: number | undefined = pos;
  const fields: number[] = [];
  const want = colons === 1 ? 2 : colons === 2 ? 3 : 0;
  if (want === 0) return undefined;
  for (let i = 0; i < want; i++) {
    const h: { value: number; end: number } | undefined = scanHex(s, p);
    if (h === undefined) return undefined;
    fields.push(h.value);
    p = expect(s, h.end, i < want - 1 ? ':' : '.');
    if (p === undefined) return undefined;
  }
  const [domain, bus, dev] = want === 2 ? [0, fields[0] as number, fields[1] as number] : (fields as [number, number, number]);
  if (domain > 0xffff || bus > 0xff || dev > 0x1f) return undefined;
  if (s[p] === '*') return { domain, bus, dev, func: 0, vfunc_mask: FUNC_ALL, end: p + 1 };
  const f = scanHex(s, p);
  if (f === undefined || f.value > 7) return undefined;
  return { domain, bus, dev, func: f.value, vfunc_mask: 1, end: f.end };
}

function parseVslot(s: string, pos: number): { vdevfn: number; end: number } | undefined {
  const h = scanHex(s, pos);
  if (h === undefined || h.value > 0x1f) return undefined;
  return { vdevfn: h.value << 3, end: h.end };
}

function rdmPolicyFromString(s: string): RdmPolicy | undefined {
  const v = s.toLowerCase();
  return v === 'invalid' || v === 'strict' || v === 'relaxed' ? v : undefined;
}

/**
 * libxlutil prints its diagnostic without a newline (`XLU__PCI_ERR`), so the caller's
 * `unable to parse ...` line runs on from it: the last line is `<diagnostic>unable to parse ...`.
 */
function fail(str: string, diagnostic = ''): never {
  throw specError('SPEC_PCI', [`${diagnostic}unable to parse PCI_SPEC_STRING \`${str}'`], HINT);
}

/** An unknown `rdm_policy=`: libxl's enum parser fails with ERROR_FAIL, not ERROR_INVAL (xl exits 3). */
const RDM_POLICY_EXIT = 3;

/**
 * `xlu_pci_parse_spec_string`. Throws SPEC_PCI; its one line is libxlutil's diagnostic (if any)
 * run on into `unable to parse PCI_SPEC_STRING `...'` (callers print their own command's wording
 * of that part where Xen's differs).
 */
export function parsePciSpec(str: string, defaults: PciDefaults = {}): PciDevice {
  const pci: PciDevice = { ...defaults };
  const setBdf = (b: Bdf): void => {
    Object.assign(pci, { domain: b.domain, bus: b.bus, dev: b.dev, func: b.func, vfunc_mask: b.vfunc_mask });
  };
  let bdfPresent = false;
  let namePresent = false;
  let pos = 0;
  const positional = parseBdf(str, 0);
  if (positional !== undefined) {
    bdfPresent = true;
    setBdf(positional);
    pos = positional.end;
    if (str[pos] === '@') {
      const v = parseVslot(str, pos + 1);
      if (v === undefined) fail(str);
      pci.vdevfn = v.vdevfn;
      pos = v.end;
    }
    if (str[pos] === ',') pos++;
    else if (pos < str.length) fail(str);
  }
  while (pos < str.length) {
    const eq = str.indexOf('=', pos);
    if (eq < 0) fail(str);
    const key = str.slice(pos, eq);
    const comma = str.indexOf(',', eq + 1);
    const val = str.slice(eq + 1, comma < 0 ? str.length : comma);
    pos = comma < 0 ? str.length : comma + 1;
    switch (key) {
      case 'bdf': {
        const b = parseBdf(val, 0);
        if (b === undefined) fail(str);
        setBdf(b);
        bdfPresent = true;
        break;
      }
      case 'vslot': {
        const v = parseVslot(val, 0);
        if (v === undefined) fail(str);
        pci.vdevfn = v.vdevfn;
        break;
      }
      case 'permissive':
      case 'msitranslate':
      case 'seize':
      case 'power_mgmt':
        pci[key] = atoi(val) !== 0;
        break;
      case 'rdm_policy': {
        const p = rdmPolicyFromString(val);
        if (p === undefined) {
          const line = `Unknown RDM policy: ${val}unable to parse PCI_SPEC_STRING \`${str}'`;
          throw new ToolstackError('SPEC_PCI', line, { lines: [line], hint: HINT, exitCode: RDM_POLICY_EXIT });
        }
        pci.rdm_policy = p;
        break;
      }
      case 'name':
        namePresent = true;
        pci.name = val;
        break;
      default:
        fail(str, `Unknown PCI_SPEC_STRING option: ${key}`);
    }
  }
  if (bdfPresent === namePresent) fail(str);
  return pci;
}

/** `DDDD:BB:DD.F` in lower-case hex, as libxl prints a device (`PCI_BDF`) and sysfs names it. */
export function pciBdfText(p: Pick<PciDevice, 'domain' | 'bus' | 'dev' | 'func'>): string {
  const hex = (v: number | undefined, w: number): string => (v ?? 0).toString(16).padStart(w, '0');
  return `${hex(p.domain, 4)}:${hex(p.bus, 2)}:${hex(p.dev, 2)}.${hex(p.func, 1)}`;
}

/** True when the spec names every function of its device (`BB:DD.*`). */
export function pciAllFunctions(p: Pick<PciDevice, 'vfunc_mask'>): boolean {
  return p.vfunc_mask === FUNC_ALL;
}

/** `xlu_pci_parse_bdf` (a plain BDF, as `pci-assignable-add` takes): domain, bus, dev, func. */
export function parsePciBdf(str: string): Pick<PciDevice, 'domain' | 'bus' | 'dev' | 'func' | 'vfunc_mask'> {
  const b = parseBdf(str, 0);
  if (b === undefined) throw specError('SPEC_PCI', [`invalid BDF \`${str}'`], 'a BDF is [DDDD:]BB:DD.F in hex');
  return { domain: b.domain, bus: b.bus, dev: b.dev, func: b.func, vfunc_mask: b.vfunc_mask };
}

/** libxl_rdm_reserve (`b_info."type.hvm".rdm`). */
interface RdmReserve {
  strategy: 'ignore' | 'host';
  policy: RdmPolicy;
}

/**
 * `xlu_rdm_parse`: `strategy=host` and `policy=strict|relaxed`, comma-separated, in any order;
 * anything else fails (xl then ignores the setting). Throws SPEC_PCI with libxlutil's diagnostic.
 */
export function parseRdm(str: string): RdmReserve {
  const rdm: RdmReserve = { strategy: 'ignore', policy: 'invalid' };
  const bad = (diag: string[]): never => {
    throw specError('SPEC_PCI', diag.length > 0 ? diag : [`invalid rdm setting \`${str}'`], 'rdm="strategy=host,policy=strict|relaxed"');
  };
  let rest = str;
  for (;;) {
    const eq = rest.indexOf('=');
    if (eq < 0) bad([]);
    const key = rest.slice(0, eq);
    if (key !== 'strategy' && key !== 'policy') bad([`Unknown RDM state option: ${key}`]);
    const comma = rest.indexOf(',', eq + 1);
    const val = rest.slice(eq + 1, comma < 0 ? rest.length : comma);
    if (key === 'strategy') {
      if (val !== 'host') bad([`Unknown RDM strategy option: ${val}`]);
      rdm.strategy = 'host';
    } else {
      const p = rdmPolicyFromString(val);
      if (p === undefined) return bad([`Unknown RDM policy: ${val}`]);
      rdm.policy = p;
    }
    if (comma < 0) return rdm;
    rest = rest.slice(comma + 1);
  }
}
