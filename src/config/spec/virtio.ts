/**
 * Generic virtio devices (`virtio=[...]`): xl's `parse_virtio_list` / `parse_virtio_config`,
 * strtok style with exact `key=` prefixes. A `type=virtio...` value may itself contain one comma
 * (`type=virtio,device22`): the next token is joined back onto it.
 */
import { defboolJson, libxlStruct } from '../libxl-json.js';
import type { LibxlJsonObject } from '../libxl-json.js';
import { matchOption, specError, splitStringList, strtoul } from './c-parse.js';

/** libxl_device_virtio: libxl's JSON keys in IDL order. */
export interface VirtioDevice {
  backend_domid?: number;
  backend_domname?: string;
  type?: string;
  transport: 'unknown' | 'mmio';
  grant_usage?: boolean;
  devid: number;
}

const HINT = 'virtio spec: type=virtio,deviceN, transport=mmio[, backend=DOMAIN][, grant_usage=0|1]';

export function virtioToJson(v: VirtioDevice): LibxlJsonObject {
  return libxlStruct([
    ['backend_domid', 'integer', v.backend_domid],
    ['backend_domname', 'string', v.backend_domname],
    ['type', 'string', v.type],
    ['transport', { init: 'unknown' }, v.transport],
    ['grant_usage', 'defbool', defboolJson(v.grant_usage)],
    ['devid', { init: -1 }, v.devid],
    ['irq', 'integer', 0],
    ['base', 'integer', 0],
  ]);
}

/** A `virtio=[...]` item; `devid` is its index in the list. Throws SPEC_DEVICE. */
export function parseVirtioSpec(spec: string, devid = -1): VirtioDevice {
  const v: VirtioDevice = { transport: 'unknown', devid };
  const raw = splitStringList(spec, ',');
  for (let i = 0; i < raw.length; i++) {
    let token = (raw[i] as string).replace(/^ +/, '');
    // The joined-on item is taken as strtok returns it (leading blanks kept).
    if (matchOption('type', token)?.startsWith('virtio') === true && i + 1 < raw.length) {
      i++;
      token = `${token},${raw[i] as string}`;
    }
    const val = (k: string): string | undefined => matchOption(k, token);
    const backend = val('backend');
    const t = val('type');
    const transport = val('transport');
    const grant = val('grant_usage');
    if (backend !== undefined) v.backend_domname = backend;
    else if (t !== undefined) v.type = t;
    else if (transport !== undefined) {
      const tr = transport.toLowerCase();
      // libxl_virtio_transport_from_string fails without a message; xl then exits.
      if (tr !== 'unknown' && tr !== 'mmio') throw specError('SPEC_DEVICE', [], HINT);
      v.transport = tr;
    } else if (grant !== undefined) v.grant_usage = strtoul(grant, 0).value !== 0n;
    else throw specError('SPEC_DEVICE', [`Unknown string "${token}" in virtio spec`], HINT);
  }
  return v;
}

