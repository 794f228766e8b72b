/**
 * Virtual sound cards (`vsnd=[[...], ...]`, `xl vsnd-attach`): a card is a list of item strings,
 * each `KIND, key=value, ...` split strtok-style on `,`. KIND (case-insensitive) is `CARD`, `PCM`
 * (starts a new PCM) or `STREAM` (starts a new stream in the last PCM, creating one if needed).
 * Every level takes the common `sample-rates` / `sample-formats` (`;`-separated),
 * `channels-min`, `channels-max`, `buffer-size`; CARD also `backend`, `short-name`, `long-name`,
 * PCM `name`, STREAM `unique-id` and `type=p|c`.
 */
import { libxlStruct } from '../libxl-json.js';
import type { LibxlJsonObject } from '../libxl-json.js';
import { matchOption, specError, splitStringList, strtokItems, strtoul, toUint32 } from './c-parse.js';

/** libxl_vsnd_pcm_format names (lower case, as JSON writes them). */
export const VSND_PCM_FORMATS = [
  's8', 'u8', 's16_le', 's16_be', 'u16_le', 'u16_be', 's24_le', 's24_be', 'u24_le', 'u24_be', 's32_le', 's32_be',
  'u32_le', 'u32_be', 'f32_le', 'f32_be', 'f64_le', 'f64_be', 'iec958_subframe_le', 'iec958_subframe_be',
  'mu_law', 'a_law', 'ima_adpcm', 'mpeg', 'gsm',
] as const;

export type VsndPcmFormat = (typeof VSND_PCM_FORMATS)[number];

/** libxl_vsnd_params. */
export interface VsndParams {
  sample_rates: number[];
  sample_formats: VsndPcmFormat[];
  channels_min: number;
  channels_max: number;
  buffer_size: number;
}

export interface VsndStream {
  unique_id?: string;
  type?: 'p' | 'c';
  params: VsndParams;
}

export interface VsndPcm {
  name?: string;
  params: VsndParams;
  streams: VsndStream[];
}

/** libxl_device_vsnd: libxl's JSON keys in IDL order. */
export interface VsndDevice {
  backend_domid?: number;
  backend_domname?: string;
  devid: number;
  short_name?: string;
  long_name?: string;
  params: VsndParams;
  pcms: VsndPcm[];
}

const HINT = 'vsnd items: "CARD, short-name=..", "PCM, name=..", "STREAM, unique-id=.., type=p|c" (+ sample-rates=, sample-formats=, channels-min/max=, buffer-size=)';

function newParams(): VsndParams {
  return { sample_rates: [], sample_formats: [], channels_min: 0, channels_max: 0, buffer_size: 0 };
}

export function newVsnd(devid = -1): VsndDevice {
  return { devid, params: newParams(), pcms: [] };
}

function paramsToJson(p: VsndParams): LibxlJsonObject {
  return libxlStruct([
    ['sample_rates', 'array', p.sample_rates],
    ['sample_formats', 'array', p.sample_formats],
    ['channels_min', 'integer', p.channels_min],
    ['channels_max', 'integer', p.channels_max],
    ['buffer_size', 'integer', p.buffer_size],
  ]);
}

export function vsndToJson(v: VsndDevice): LibxlJsonObject {
  return libxlStruct([
    ['backend_domid', 'integer', v.backend_domid],
    ['backend_domname', 'string', v.backend_domname],
    ['devid', { init: -1 }, v.devid],
    ['short_name', 'string', v.short_name],
    ['long_name', 'string', v.long_name],
    ['params', 'aggregate', paramsToJson(v.params)],
    ['pcms', 'array', v.pcms.map((pcm) => libxlStruct([
      ['name', 'string', pcm.name],
      ['params', 'aggregate', paramsToJson(pcm.params)],
      ['streams', 'array', pcm.streams.map((s) => libxlStruct([
        ['unique_id', 'string', s.unique_id],
        ['type', 'string', s.type],
        ['params', 'aggregate', paramsToJson(s.params)],
      ]))],
    ]))],
  ]);
}

const num = (v: string): number => toUint32(strtoul(v, 0).value);

/** `parse_vsnd_params`: true when the token was a common parameter. */
function applyParam(p: VsndParams, token: string): boolean {
  const rates = matchOption('sample-rates', token);
  if (rates !== undefined) {
    p.sample_rates = splitStringList(rates, ';').map(num);
    return true;
  }
  const formats = matchOption('sample-formats', token);
  if (formats !== undefined) {
    p.sample_formats = splitStringList(formats, ';').map((f) => {
      const lf = f.toLowerCase();
      const known = VSND_PCM_FORMATS.find((x) => x === lf);
      if (known === undefined) throw specError('SPEC_DEVICE', [`Invalid pcm format: ${f}`], HINT);
      return known;
    });
    return true;
  }
  const scalars = [['channels-min', 'channels_min'], ['channels-max', 'channels_max'], ['buffer-size', 'buffer_size']] as const;
  for (const [key, field] of scalars) {
    const val = matchOption(key, token);
    if (val !== undefined) {
      p[field] = num(val);
      return true;
    }
  }
  return false;
}

const invalid = (token: string): never => {
  throw specError('SPEC_DEVICE', [`Invalid parameter: ${token}`], HINT);
};

/** `parse_vsnd_item`: applies one item string to the card. Throws SPEC_DEVICE with xl's line. */
export function applyVsndItem(v: VsndDevice, item: string): void {
  let kind: 'card' | 'pcm' | 'stream' | undefined;
  for (const token of strtokItems(item)) {
    if (kind === undefined) {
      const k = token.toLowerCase();
      if (k !== 'card' && k !== 'pcm' && k !== 'stream') throw specError('SPEC_DEVICE', [`Invalid key: ${token}`], HINT);
      kind = k;
      if (k === 'pcm') v.pcms.push({ params: newParams(), streams: [] });
      if (k === 'stream') {
        if (v.pcms.length === 0) v.pcms.push({ params: newParams(), streams: [] });
        v.pcms[v.pcms.length - 1]?.streams.push({ params: newParams() });
      }
      continue;
    }
    if (kind === 'card') {
      if (applyParam(v.params, token)) continue;
      const backend = matchOption('backend', token);
      const short = matchOption('short-name', token);
      const long = matchOption('long-name', token);
      if (backend !== undefined) v.backend_domname = backend;
      else if (short !== undefined) v.short_name = short;
      else if (long !== undefined) v.long_name = long;
      else invalid(token);
    } else {
      const pcm = v.pcms[v.pcms.length - 1] as VsndPcm;
      if (kind === 'pcm') {
        if (applyParam(pcm.params, token)) continue;
        const name = matchOption('name', token);
        if (name === undefined) invalid(token);
        else pcm.name = name;
      } else {
        const stream = pcm.streams[pcm.streams.length - 1] as VsndStream;
        if (applyParam(stream.params, token)) continue;
        const id = matchOption('unique-id', token);
        const type = matchOption('type', token);
        if (id !== undefined) stream.unique_id = id;
        else if (type !== undefined) {
          const t = type.toLowerCase();
          if (t !== 'p' && t !== 'c') throw specError('SPEC_DEVICE', [`Invalid stream type: ${type}`], HINT);
          stream.type = t;
        } else invalid(token);
      }
    }
  }
}

/** A `vsnd=[[...]]` card: its item strings in order; `devid` is its index in the list. */
export function parseVsndCard(items: readonly string[], devid = -1): VsndDevice {
  const v = newVsnd(devid);
  for (const item of items) applyVsndItem(v, item);
  return v;
}
