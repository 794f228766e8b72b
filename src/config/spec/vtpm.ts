/**
 * Virtual TPMs (`vtpm=[...]`) and PV calls interfaces (`pvcalls=[...]`): xl's strtok-style loops
 * where each token is `key=value` (split at the first `=`), a token without `=` ends the item and
 * an unknown key is fatal.
 */
import { libxlStruct } from '../libxl-json.js';
import type { LibxlJsonObject } from '../libxl-json.js';
import { specError, strtokItems } from './c-parse.js';

/** libxl_device_vtpm: libxl's JSON keys in IDL order. */
export interface VtpmDevice {
  backend_domid?: number;
  backend_domname?: string;
  devid: number;
  /** Lower-case `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`; absent = nil (libxl generates one). */
  uuid?: string;
}

/** libxl_device_pvcallsif. */
export interface PvcallsDevice {
  backend_domid?: number;
  backend_domname?: string;
  devid: number;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export function vtpmToJson(v: VtpmDevice): LibxlJsonObject {
  return libxlStruct([
    ['backend_domid', 'integer', v.backend_domid],
    ['backend_domname', 'string', v.backend_domname],
    ['devid', { init: -1 }, v.devid],
    ['uuid', 'uuid', v.uuid ?? NIL_UUID],
  ]);
}

export function pvcallsToJson(p: PvcallsDevice): LibxlJsonObject {
  return libxlStruct([
    ['backend_domid', 'integer', p.backend_domid],
    ['backend_domname', 'string', p.backend_domname],
    ['devid', { init: -1 }, p.devid],
  ]);
}

/** `libxl_uuid_from_string` (libuuid's `uuid_parse`): 36 characters, hyphens at 8, 13, 18, 23. */
export function parseUuid(s: string): string | undefined {
  return /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s) ? s.toLowerCase() : undefined;
}

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
