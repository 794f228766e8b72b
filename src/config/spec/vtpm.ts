/**
 * Virtual TPMs (`vtpm=[...]`) and PV calls interfaces (`pvcalls=[...]`): xl's strtok-style loops
 * where each token is `key=value` (split at the first `=`), a token without `=` ends the item and
 * an unknown key is fatal.
 */
import type { PvcallsDevice, VtpmDevice } from '../domain-config/domain-config.js';
import { parseUuid, specError, strtokItems } from './c-parse.js';

function keyValues(spec: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const token of strtokItems(spec)) {
    const eq = token.indexOf('=');
    if (eq < 0) break;
    out.push([token.slice(0, eq), token.slice(eq + 1)]);
  }
  return out;
}

/** A `vtpm=[...]` item; `devid` is its index in the list. Throws SPEC_DEVICE with xl's line. */
export function parseVtpmSpec(spec: string, devid = -1): VtpmDevice {
  const hint = 'vtpm spec: backend=DOMAIN[, uuid=UUID]';
  const v: VtpmDevice = { devid };
  let gotBackend = false;
  for (const [key, val] of keyValues(spec)) {
    if (key === 'backend') {
      v.backend_domname = val;
      gotBackend = true;
    } else if (key === 'uuid') {
      const u = parseUuid(val);
      if (u === undefined) throw specError('SPEC_DEVICE', [`Failed to parse vtpm UUID: ${val}`], hint);
      v.uuid = u;
    } else {
      throw specError('SPEC_DEVICE', [`Unknown string \`${key}' in vtpm spec`], hint);
    }
  }
  if (!gotBackend) throw specError('SPEC_DEVICE', ['vtpm spec missing required backend field!'], hint);
  return v;
}

/** A `pvcalls=[...]` item; `devid` is its index in the list. Throws SPEC_DEVICE with xl's line. */
export function parsePvcallsSpec(spec: string, devid = -1): PvcallsDevice {
  const p: PvcallsDevice = { devid };
  for (const [key, val] of keyValues(spec)) {
    if (key !== 'backend') throw specError('SPEC_DEVICE', [`Unknown string \`${key}' in pvcalls spec`], 'pvcalls spec: backend=DOMAIN');
    p.backend_domname = val;
  }
  return p;
}
