/**
 * vif specifications (`vif=[...]` items, `xl network-attach` arguments): xl's
 * `parse_nic_config` (one `key=value` token at a time, exact `key=` prefixes) and libxlutil's
 * `xlu_vif_parse_rate`.
 */
import type { ToolstackError } from '../../common/index.js';
import { NIC_COLO_KEYS } from '../domain-config/domain-config.js';
import type { NicDevice } from '../domain-config/domain-config.js';
import { parseUlong, specError, strtokItems, strtoul, toInt32, toUint32, withEarlierLines } from './c-parse.js';
import type { SpecResult } from './c-parse.js';

/** xl.conf `vif.default.*` values, applied before the spec (xl's `set_default_nic_values`). */
export interface VifDefaults {
  readonly script?: string;
  readonly bridge?: string;
  readonly gatewaydev?: string;
  readonly backend?: string;
}

export interface VifParseOptions {
  readonly defaults?: VifDefaults;
  /** The name printed before rate errors: the config file, or `command line` (the default). */
  readonly source?: string;
  /** Initial devid (xl uses the list index for `vif=` items; -1 for network-attach). */
  readonly devid?: number;
}

const HINT = 'see xl.cfg(5) vif: key=value items such as mac=00:16:3e:xx:xx:xx, bridge=, rate=10Mb/s@50ms';

/** `00:16:3e:0a:0b:0c` (libxl's `LIBXL_MAC_FMT`, lower-case hex). */
function formatMac(mac: readonly number[]): string {
  return mac.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A nic as `libxl_device_nic_init` + xl's `set_default_nic_values` leave it. */
function newNic(options: VifParseOptions): NicDevice {
  const n: NicDevice = { devid: options.devid ?? -1 };
  const d = options.defaults;
  if (d?.script !== undefined) n.script = d.script;
  if (d?.bridge !== undefined) n.bridge = d.bridge;
  if (d?.gatewaydev !== undefined) n.gatewaydev = d.gatewaydev;
  if (d?.backend !== undefined) n.backend_domname = d.backend;
  return n;
}

type StringField = 'bridge' | 'gatewaydev' | 'ip' | 'script' | 'backend_domname' | 'ifname' | 'model' | 'coloft_forwarddev' | 'vlan' | (typeof NIC_COLO_KEYS)[number];

const STRING_KEYS: ReadonlyArray<readonly [key: string, field: StringField]> = [
  ['bridge', 'bridge'],
  ['gatewaydev', 'gatewaydev'],
  ['ip', 'ip'],
  ['script', 'script'],
  ['backend', 'backend_domname'],
  ['vifname', 'ifname'],
  ['model', 'model'],
  ['forwarddev', 'coloft_forwarddev'],
  ['vlan', 'vlan'],
  ...NIC_COLO_KEYS.map((k) => [k, k] as const),
];

/**
 * `parse_nic_config` for one token. Returns the line xl prints when the token is rejected (xl's
 * return 1), or undefined. Fatal errors (bad `rate=`, bad numbers) throw SPEC_VIF. `notices`
 * receives xl's informational lines (deprecated `netdev=`, unsupported `accel=`).
 */
function applyToken(n: NicDevice, token: string, source: string, notices: string[]): string | undefined {
  const eq = token.indexOf('=');
  const key = eq < 0 ? undefined : token.slice(0, eq);
  const val = token.slice(eq + 1);
  if (key === 'type') {
    if (val === 'vif') n.nictype = 'vif';
    else if (val === 'ioemu') n.nictype = 'vif_ioemu';
    else return 'Invalid parameter `type\'.';
    return undefined;
  }
  if (key === 'mac') {
    const { bytes, ok } = parseMac(val);
    // xl stores each byte as it reads it: a failure keeps the bytes before it.
    const old = (n.mac ?? '00:00:00:00:00:00').split(':').map((h) => parseInt(h, 16));
    n.mac = formatMac([...bytes, ...old.slice(bytes.length)]);
    return ok ? undefined : 'Invalid parameter `mac\'.';
  }
  if (key === 'netdev') {
    notices.push('the netdev parameter is deprecated, please use gatewaydev instead');
    n.gatewaydev = val;
    return undefined;
  }
  const str = STRING_KEYS.find(([k]) => k === key);
  if (str !== undefined) {
    n[str[1]] = val;
    return undefined;
  }
  switch (key) {
    case 'rate': {
      const r = parseVifRate(val, source);
      n.rate_bytes_per_interval = r.bytesPerInterval;
      n.rate_interval_usecs = r.intervalUsecs;
      return undefined;
    }
    case 'accel':
      notices.push('the accel parameter for vifs is currently not supported');
      return undefined;
    case 'devid':
      n.devid = toInt32(parseUlong(val, 'SPEC_VIF', HINT));
      return undefined;
    case 'mtu':
      n.mtu = toInt32(parseUlong(val, 'SPEC_VIF', HINT));
      return undefined;
  }
  if (token === 'trusted') n.trusted = true;
  else if (token === 'untrusted') n.trusted = false;
  else return `unrecognized argument \`${token}'`;
  return undefined;
}

/**
 * xl's mac loop: six times `strtoul(p, &end, 16)` (no digits or, cut to 32 bits, > 255 fails), then
 * skip exactly one separator character whatever it is. Running off the end of the string fails
 * here (in C it reads past the string). Returns the bytes read before any failure.
 */
function parseMac(text: string): { bytes: number[]; ok: boolean } {
  const bytes: number[] = [];
  let p = 0;
  for (let i = 0; i < 6; i++) {
    if (p > text.length) return { bytes, ok: false };
    const r = strtoul(text.slice(p), 16);
    // xl keeps strtoul's result in an unsigned int: the value is cut to 32 bits first.
    const v = toUint32(r.value);
    if (r.end === 0 || v > 255) return { bytes, ok: false };
    bytes.push(v);
    p += r.end + 1;
  }
  return { bytes, ok: true };
}

/**
 * `network-attach` semantics: each argument is one token (not split on commas); the first
 * rejected token fails with Xen's line (SPEC_VIF). `notices` gets xl's informational lines.
 */
export function parseVifArgs(args: readonly string[], options: VifParseOptions = {}, notices: string[] = []): NicDevice {
  const n = newNic(options);
  const source = options.source ?? 'command line';
  for (const token of args) {
    const line = applyToken(n, token, source, notices);
    if (line !== undefined) throw specError('SPEC_VIF', [line], HINT);
  }
  return n;
}

/**
 * A `vif=[...]` item as `parse_config_data` reads it: strtok on `,`, leading spaces skipped, each
 * token applied; rejected tokens are reported as warnings and ignored (xl ignores the return
 * code there); fatal errors (rate, numbers) throw SPEC_VIF, their lines after the warnings so far.
 */
export function parseVifSpec(spec: string, options: VifParseOptions = {}): SpecResult<NicDevice> {
  const n = newNic(options);
  const warnings: string[] = [];
  const source = options.source ?? 'command line';
  for (const token of strtokItems(spec)) {
    let line: string | undefined;
    try {
      line = applyToken(n, token, source, warnings);
    } catch (e) {
      throw withEarlierLines(e, warnings); // xl has printed those by the time a fatal token exits
    }
    if (line !== undefined) warnings.push(line);
  }
  return { device: n, warnings };
}

export interface VifRate {
  readonly bytesPerInterval: number;
  readonly intervalUsecs: number;
}

const UINT32_MAX = 0xffffffffn;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * `xlu_vif_parse_rate`: `RATE[@INTERVAL]`, RATE `^[0-9]+[GMK]?[Bb]/s$` (numbers read with base 0,
 * so a leading 0 is octal), INTERVAL `^[0-9]+[mu]?s?$` (default 50 ms). Errors are
 * `<source>: config parsing error in vif: <msg> in `<text>'` (SPEC_VIF).
 */
export function parseVifRate(rate: string, source = 'command line'): VifRate {
  const fail = (msg: string, text: string): ToolstackError =>
    specError('SPEC_VIF', [`${source}: config parsing error in vif: ${msg} in \`${text}'`], 'rate=RATE[@INTERVAL], e.g. rate=10Mb/s@50ms (units B or b per s, K/M/G prefixes; interval s, ms or us)');
  const at = rate.indexOf('@');
  const bytes = at < 0 ? rate : rate.slice(0, at);
  const interval = at < 0 ? undefined : rate.slice(at + 1);
  if (bytes === '') throw fail('no rate specified', rate);
  if (!/^[0-9]+[GMK]?[Bb]\/s$/.test(bytes)) throw fail('invalid rate', bytes);
  const b = strtoul(bytes, 0);
  if (b.value === 0n || b.value > UINT32_MAX) throw fail('rate overflow', bytes);
  let perSec = b.value;
  const unit = bytes.slice(b.end);
  if (unit.startsWith('G')) perSec *= 1000000000n;
  else if (unit.startsWith('M')) perSec *= 1000000n;
  else if (unit.startsWith('K')) perSec *= 1000n;
  if (unit[0] === 'b' || unit[1] === 'b') perSec /= 8n;
  let usecs = 50000n;
  if (interval !== undefined) {
    if (!/^[0-9]+[mu]?s?$/.test(interval)) throw fail('invalid replenishment interval', interval);
    const i = strtoul(interval, 0);
    if (i.value === 0n || i.value > UINT32_MAX) throw fail('replenishment interval overflow', interval);
    usecs = i.value;
    const u = interval.slice(i.end);
    if (u === '' || u[0] === 's') usecs *= 1000000n;
    else if (u[0] === 'm') usecs *= 1000n;
    if (usecs > UINT32_MAX) throw fail('replenishment interval overflow', interval);
  }
  if (perSec > UINT64_MAX / usecs) throw fail('rate overflow', rate);
  return { bytesPerInterval: Number((perSec * usecs) / 1000000n), intervalUsecs: Number(usecs) };
}

