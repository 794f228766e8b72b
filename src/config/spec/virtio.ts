/**
 * Generic virtio devices (`virtio=[...]`): xl's `parse_virtio_list` / `parse_virtio_config`,
 * strtok style with exact `key=` prefixes. A `type=virtio...` value may itself contain one comma
 * (`type=virtio,device22`): the next token is joined back onto it.
 */
import type { VirtioDevice } from '../domain-config/domain-config.js';
import { matchOption, specError, splitStringList, strtoul } from './c-parse.js';

const HINT = 'virtio spec: type=virtio,deviceN, transport=mmio[, backend=DOMAIN][, grant_usage=0|1]';

/** A `virtio=[...]` item; `devid` is its index in the list. Throws SPEC_DEVICE. */
export function parseVirtioSpec(spec: string, devid = -1): VirtioDevice {
  const v: VirtioDevice = { devid };
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

