/**
 * Virtual keyboards/pointers (`vkb=[...]`, `xl vkb-attach`): xl's `parse_vkb_config`, strtok
 * style with exact `key=` prefixes; numbers `strtoul(..., 0)`. `backend-type` is required; any
 * multi-touch size turns multi-touch on, and multi-touch needs a size.
 */
import type { VkbDevice } from '../domain-config/domain-config.js';
import { matchOption, specError, strtokItems, strtoul, toUint32 } from './c-parse.js';

const HINT = 'vkb spec: backend-type=qemu|linux[, backend=DOMAIN][, unique-id=ID][, feature-...=0|1][, width=N, height=N]';

/** A vkb as `libxl_device_vkb_init` leaves it (also the implicit vkb of each vfb). */
export function newVkb(devid = -1): VkbDevice {
  return { devid };
}

type VkbFlag = 'feature_disable_keyboard' | 'feature_disable_pointer' | 'feature_abs_pointer' | 'feature_raw_pointer' | 'feature_multi_touch';
type VkbSize = 'width' | 'height' | 'multi_touch_width' | 'multi_touch_height' | 'multi_touch_num_contacts';

const FLAGS: ReadonlyArray<readonly [string, VkbFlag]> = [
  ['feature-disable-keyboard', 'feature_disable_keyboard'],
  ['feature-disable-pointer', 'feature_disable_pointer'],
  ['feature-abs-pointer', 'feature_abs_pointer'],
  ['feature-raw-pointer', 'feature_raw_pointer'],
  ['feature-multi-touch', 'feature_multi_touch'],
];
const SIZES: ReadonlyArray<readonly [string, VkbSize]> = [
  ['multi-touch-width', 'multi_touch_width'],
  ['multi-touch-height', 'multi_touch_height'],
  ['multi-touch-num-contacts', 'multi_touch_num_contacts'],
  ['width', 'width'],
  ['height', 'height'],
];

/** `parse_vkb_config` for one token; throws SPEC_DEVICE with xl's line. */
export function applyVkbToken(v: VkbDevice, token: string): void {
  const backend = matchOption('backend', token);
  if (backend !== undefined) {
    v.backend_domname = backend;
    return;
  }
  const type = matchOption('backend-type', token);
  if (type !== undefined) {
    const t = type.toLowerCase();
    if (t !== 'unknown' && t !== 'qemu' && t !== 'linux') throw specError('SPEC_DEVICE', [`Unknown backend_type "${type}" in vkb spec`], HINT);
    v.backend_type = t;
    return;
  }
  const id = matchOption('unique-id', token);
  if (id !== undefined) {
    v.unique_id = id;
    return;
  }
  for (const [key, field] of FLAGS) {
    const val = matchOption(key, token);
    if (val !== undefined) {
      v[field] = strtoul(val, 0).value !== 0n;
      return;
    }
  }
  for (const [key, field] of SIZES) {
    const val = matchOption(key, token);
    if (val !== undefined) {
      v[field] = toUint32(strtoul(val, 0).value);
      return;
    }
  }
  throw specError('SPEC_DEVICE', [`Unknown string "${token}" in vkb spec`], HINT);
}

/** The checks xl makes once a vkb item is read (`parse_vkb_list`); throws SPEC_DEVICE. */
export function finishVkb(v: VkbDevice): VkbDevice {
  if ((v.backend_type ?? 'unknown') === 'unknown') throw specError('SPEC_DEVICE', ['backend-type should be set in vkb spec'], HINT);
  const sized = (v.multi_touch_height ?? 0) !== 0 || (v.multi_touch_width ?? 0) !== 0 || (v.multi_touch_num_contacts ?? 0) !== 0;
  if (sized) v.feature_multi_touch = true;
  if (v.feature_multi_touch === true && !sized) {
    throw specError('SPEC_DEVICE', ['multi-touch-width, multi-touch-height, multi-touch-num-contacts should be set for multi touch in vkb spec'], HINT);
  }
  return v;
}

/** A `vkb=[...]` item; `devid` is its index in the list. */
export function parseVkbSpec(spec: string, devid = -1): VkbDevice {
  const v = newVkb(devid);
  for (const token of strtokItems(spec)) applyVkbToken(v, token);
  return finishVkb(v);
}
