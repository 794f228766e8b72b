/**
 * Virtual sound cards (`vsnd=[[...], ...]`, `xl vsnd-attach`): a card is a list of item strings,
 * each `KIND, key=value, ...` split strtok-style on `,`. KIND (case-insensitive) is `CARD`, `PCM`
 * (starts a new PCM) or `STREAM` (starts a new stream in the last PCM, creating one if needed).
 * Every level takes the common `sample-rates` / `sample-formats` (`;`-separated),
 * `channels-min`, `channels-max`, `buffer-size`; CARD also `backend`, `short-name`, `long-name`,
 * PCM `name`, STREAM `unique-id` and `type=p|c`.
 */
import { VSND_PCM_FORMATS } from '../domain-config/domain-config.js';
import type { VsndDevice, VsndParams } from '../domain-config/domain-config.js';
import { matchOption, specError, splitStringList, strtokItems, strtoul, toUint32 } from './c-parse.js';

type VsndPcm = NonNullable<VsndDevice['pcms']>[number];

const HINT = 'vsnd items: "CARD, short-name=..", "PCM, name=..", "STREAM, unique-id=.., type=p|c" (+ sample-rates=, sample-formats=, channels-min/max=, buffer-size=)';

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
      if (k !== 'card') {
        const pcms = (v.pcms ??= []);
        if (k === 'pcm' || pcms.length === 0) pcms.push({});
        if (k === 'stream') ((pcms[pcms.length - 1] as VsndPcm).streams ??= []).push({});
      }
      continue;
    }
    if (kind === 'card') {
      if (applyParam((v.params ??= {}), token)) continue;
      const backend = matchOption('backend', token);
      const short = matchOption('short-name', token);
      const long = matchOption('long-name', token);
      if (backend !== undefined) v.backend_domname = backend;
      else if (short !== undefined) v.short_name = short;
      else if (long !== undefined) v.long_name = long;
      else invalid(token);
    } else {
      const pcm = v.pcms?.[v.pcms.length - 1] as VsndPcm;
      if (kind === 'pcm') {
        if (applyParam((pcm.params ??= {}), token)) continue;
        const name = matchOption('name', token);
        if (name === undefined) invalid(token);
        else pcm.name = name;
      } else {
        const stream = pcm.streams?.[pcm.streams.length - 1] as NonNullable<VsndPcm['streams']>[number];
        if (applyParam((stream.params ??= {}), token)) continue;
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
  const v: VsndDevice = { devid };
  for (const item of items) applyVsndItem(v, item);
  return v;
}
