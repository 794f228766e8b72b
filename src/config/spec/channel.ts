/**
 * Channels (`channel=[...]`): xl's split+trim style. Items are split on `,`, each item into
 * `key=value` with both halves trimmed (`split_string_into_pair`: a second `=` ends the value);
 * an item without a value is fatal. `connection=pty|socket` is required, `path=` too for sockets.
 */
import type { ChannelDevice } from '../domain-config/domain-config.js';
import { specError, splitPairTrimmed, splitStringList } from './c-parse.js';
import type { SpecResult } from './c-parse.js';

const HINT = 'channel spec: name=NAME, connection=pty|socket[, path=SOCKET][, backend=DOMAIN]';

/**
 * A `channel=[...]` item; `devid` is its index in the list. Throws SPEC_DEVICE with xl's lines:
 * the `unknown channel parameter` lines xl printed before it failed, then its error. Those lines
 * are the result's warnings when it does not fail.
 */
export function parseChannelSpec(spec: string, devid = -1): SpecResult<ChannelDevice> {
  const warnings: string[] = [];
  const fail = (line: string): never => {
    throw specError('SPEC_DEVICE', [...warnings, line], HINT);
  };
  let backend: string | undefined;
  let name: string | undefined;
  let path: string | undefined;
  let connection: 'pty' | 'socket' | undefined;
  for (const item of splitStringList(spec, ',')) {
    const kv = splitPairTrimmed(item, '=');
    // xl prints this one without a newline.
    if (kv === undefined) return fail(`failed to parse channel configuration: ${item}`);
    const { key, value } = kv;
    if (key === 'backend') backend = value;
    else if (key === 'name') name = value;
    else if (key === 'path') path = value;
    else if (key === 'connection') {
      if (value !== 'pty' && value !== 'socket') return fail(`unknown channel connection '${value}'`);
      connection = value;
    } else warnings.push(`unknown channel parameter '${key}', ignoring`);
  }
  if (connection === undefined) return fail('channel has unknown \'connection\'');
  if (connection === 'socket' && path === undefined) return fail('channel connection \'socket\' requires path=..');
  const channel: ChannelDevice = { devid, connection };
  if (backend !== undefined) channel.backend_domname = backend;
  if (name !== undefined) channel.name = name;
  if (connection === 'socket' && path !== undefined) channel.u = { socket: { path } };
  return { device: channel, warnings };
}
