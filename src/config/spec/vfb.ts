/**
 * Virtual framebuffers (`vfb=[...]`): xl's strtok-style loop. Each token is `key=value` (split at
 * the first `=`); a token without `=` ends the item; unknown keys are ignored. Numbers are `atoi`.
 * Every vfb comes with a vkb (DomainConfig adds it).
 */
import { defboolJson, libxlStruct } from '../libxl-json.js';
import type { LibxlJsonObject } from '../libxl-json.js';
import { atoi, strtokItems } from './c-parse.js';

/** libxl_vnc_info. */
export interface VncInfo {
  enable?: boolean;
  listen?: string;
  passwd?: string;
  display: number;
  findunused?: boolean;
}

/** libxl_sdl_info. */
export interface SdlInfo {
  enable?: boolean;
  opengl?: boolean;
  display?: string;
  xauthority?: string;
}

/** libxl_device_vfb: libxl's JSON keys in IDL order. */
export interface VfbDevice {
  backend_domid?: number;
  backend_domname?: string;
  devid: number;
  vnc: VncInfo;
  sdl: SdlInfo;
  keymap?: string;
}

export function vncToJson(v: VncInfo): LibxlJsonObject {
  return libxlStruct([
    ['enable', 'defbool', defboolJson(v.enable)],
    ['listen', 'string', v.listen],
    ['passwd', 'string', v.passwd],
    ['display', 'integer', v.display],
    ['findunused', 'defbool', defboolJson(v.findunused)],
  ]);
}

export function sdlToJson(s: SdlInfo): LibxlJsonObject {
  return libxlStruct([
    ['enable', 'defbool', defboolJson(s.enable)],
    ['opengl', 'defbool', defboolJson(s.opengl)],
    ['display', 'string', s.display],
    ['xauthority', 'string', s.xauthority],
  ]);
}

export function vfbToJson(v: VfbDevice): LibxlJsonObject {
  return libxlStruct([
    ['backend_domid', 'integer', v.backend_domid],
    ['backend_domname', 'string', v.backend_domname],
    ['devid', { init: -1 }, v.devid],
    ['vnc', 'aggregate', vncToJson(v.vnc)],
    ['sdl', 'aggregate', sdlToJson(v.sdl)],
    ['keymap', 'string', v.keymap],
  ]);
}

/** A `vfb=[...]` item; `devid` is its index in the list. Never fails. */
export function parseVfbSpec(spec: string, devid = -1): VfbDevice {
  const v: VfbDevice = { devid, vnc: { display: 0 }, sdl: {} };
  for (const token of strtokItems(spec)) {
    const eq = token.indexOf('=');
    if (eq < 0) break;
    const key = token.slice(0, eq);
    const val = token.slice(eq + 1);
    switch (key) {
      case 'vnc': v.vnc.enable = atoi(val) !== 0; break;
      case 'vnclisten': v.vnc.listen = val; break;
      case 'vncpasswd': v.vnc.passwd = val; break;
      case 'vncdisplay': v.vnc.display = atoi(val); break;
      case 'vncunused': v.vnc.findunused = atoi(val) !== 0; break;
      case 'keymap': v.keymap = val; break;
      case 'sdl': v.sdl.enable = atoi(val) !== 0; break;
      case 'opengl': v.sdl.opengl = atoi(val) !== 0; break;
      case 'display': v.sdl.display = val; break;
      case 'xauthority': v.sdl.xauthority = val; break;
    }
  }
  return v;
}
