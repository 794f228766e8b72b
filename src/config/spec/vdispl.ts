/**
 * Virtual displays (`vdispl=[...]`, `xl vdispl-attach`): xl's `parse_vdispl_config`, strtok style;
 * `connectors=ID:WxH;ID:WxH` (split on `;`, each at its first `:`, resolution `%ux%u`).
 */
import type { VdisplDevice } from '../domain-config/domain-config.js';
import { matchOption, specError, splitStringList, strtokItems, strtoul, toUint32, withEarlierLines } from './c-parse.js';
import type { SpecResult } from './c-parse.js';

type VdisplConnector = NonNullable<VdisplDevice['connectors']>[number];

const HINT = 'vdispl spec: connectors=ID:WxH[;ID:WxH...][, backend=DOMAIN][, be-alloc=0|1]';

/**
 * sscanf `%ux%u`: how many of the two numbers converted (-1 when the input is empty or blank),
 * and their values.
 */
function scanResolution(s: string): { n: number; w: number; h: number } {
  if (/^[ \t\n\v\f\r]*$/.test(s)) return { n: -1, w: 0, h: 0 };
  const m1 = /^[ \t\n\v\f\r]*[+-]?\d+/.exec(s);
  if (m1 === null) return { n: 0, w: 0, h: 0 };
  const w = toUint32(strtoul(m1[0], 10).value);
  const rest = s.slice(m1[0].length);
  if (!rest.startsWith('x')) return { n: 1, w, h: 0 };
  const m2 = /^[ \t\n\v\f\r]*[+-]?\d+/.exec(rest.slice(1));
  if (m2 === null) return { n: 1, w, h: 0 };
  return { n: 2, w, h: toUint32(strtoul(m2[0], 10).value) };
}

/**
 * `parse_vdispl_config` for one token. xl's quirk: a resolution with no number at all prints the
 * error but counts as success (width and height 0).
 */
export function applyVdisplToken(v: VdisplDevice, token: string, warnings: string[]): void {
  const backend = matchOption('backend', token);
  if (backend !== undefined) {
    v.backend_domname = backend;
    return;
  }
  const beAlloc = matchOption('be-alloc', token);
  if (beAlloc !== undefined) {
    v.be_alloc = strtoul(beAlloc, 0).value !== 0n;
    return;
  }
  const conns = matchOption('connectors', token);
  if (conns === undefined) throw specError('SPEC_DEVICE', [`Unknown string "${token}" in vdispl spec`], HINT);
  const items = splitStringList(conns, ';');
  const connectors: VdisplConnector[] = items.map(() => ({}));
  v.connectors = connectors;
  for (const [i, c] of items.entries()) {
    const parts = c.split(':').filter((x) => x !== '');
    const conn = connectors[i] as VdisplConnector;
    if (parts[0] !== undefined) conn.unique_id = parts[0];
    const r = scanResolution(parts[1] ?? '');
    conn.width = r.w;
    conn.height = r.h;
    if (r.n !== 2) {
      if (r.n !== 0) throw specError('SPEC_DEVICE', ['Can\'t parse connector resolution'], HINT);
      warnings.push('Can\'t parse connector resolution');
      return;
    }
  }
}

/**
 * A `vdispl=[...]` item; `devid` is its index in the list. Throws SPEC_DEVICE with xl's line;
 * warns of a connector resolution xl could not read at all.
 */
export function parseVdisplSpec(spec: string, devid = -1): SpecResult<VdisplDevice> {
  const vdispl: VdisplDevice = { devid };
  const warnings: string[] = [];
  try {
    for (const token of strtokItems(spec)) applyVdisplToken(vdispl, token, warnings);
    if ((vdispl.connectors ?? []).length === 0) throw specError('SPEC_DEVICE', ['At least one connector should be specified.'], HINT);
  } catch (e) {
    throw withEarlierLines(e, warnings); // xl has printed those by the time it exits
  }
  return { device: vdispl, warnings };
}
