/**
 * Virtual framebuffers (`vfb=[...]`): xl's strtok-style loop. Each token is `key=value` (split at
 * the first `=`); a token without `=` ends the item; unknown keys are ignored. Numbers are `atoi`.
 * Every vfb comes with a vkb (DomainConfig adds it).
 */
import type { VfbDevice } from '../domain-config/domain-config.js';
import { atoi, strtokItems } from './c-parse.js';

/** A `vfb=[...]` item; `devid` is its index in the list. Never fails. */
export function parseVfbSpec(spec: string, devid = -1): VfbDevice {
  const vnc: NonNullable<VfbDevice['vnc']> = {};
  const sdl: NonNullable<VfbDevice['sdl']> = {};
  const v: VfbDevice = { devid, vnc, sdl };
  for (const token of strtokItems(spec)) {
    const eq = token.indexOf('=');
    if (eq < 0) break;
    const key = token.slice(0, eq);
    const val = token.slice(eq + 1);
    switch (key) {
      case 'vnc': vnc.enable = atoi(val) !== 0; break;
      case 'vnclisten': vnc.listen = val; break;
      case 'vncpasswd': vnc.passwd = val; break;
      case 'vncdisplay': vnc.display = atoi(val); break;
      case 'vncunused': vnc.findunused = atoi(val) !== 0; break;
      case 'keymap': v.keymap = val; break;
      case 'sdl': sdl.enable = atoi(val) !== 0; break;
      case 'opengl': sdl.opengl = atoi(val) !== 0; break;
      case 'display': sdl.display = val; break;
      case 'xauthority': sdl.xauthority = val; break;
    }
  }
  return v;
}
