/**
 * 9pfs shares (`p9=[...]`): xl's split+trim style (`key=value` items, both halves trimmed).
 * `type` is `qemu` or `xen_9pfsd`; absent, it stays `unknown` (QEMU's backend: libxl picks `qemu`
 * at creation, so a dry run shows no `type`, as Xen 4.17 prints it); the xen_9pfsd limits are for that type only; for
 * xen_9pfsd the tag defaults to `Xen` and the path to `/var/log/xen/guests/<domain name>`;
 * `tag`, `path` and `security_model` are then required.
 */
import type { P9Device } from '../domain-config/domain-config.js';
import { parseUlong, specError, splitPairTrimmed, splitStringList, strtoul, toInt32 } from './c-parse.js';

export interface P9ParseOptions {
  readonly devid?: number;
  /** The domain's name, for xen_9pfsd's default path. */
  readonly domainName?: string;
}

const HINT = 'p9 spec: tag=TAG, security_model=none, path=DIR[, backend=DOMAIN][, type=qemu|xen_9pfsd]';

/** A `p9=[...]` item. Throws SPEC_DEVICE with xl's line. */
export function parseP9Spec(spec: string, options: P9ParseOptions = {}): P9Device {
  const p: P9Device = { devid: options.devid ?? -1 };
  const num = (v: string): number => toInt32(parseUlong(v, 'SPEC_DEVICE', HINT));
  for (const item of splitStringList(spec, ',')) {
    const kv = splitPairTrimmed(item, '=');
    if (kv === undefined) throw specError('SPEC_DEVICE', [`failed to parse 9pfs configuration: ${item}`], HINT);
    const { key, value } = kv;
    switch (key) {
      case 'security_model': p.security_model = value; break;
      case 'path': p.path = value; break;
      case 'tag': p.tag = value; break;
      case 'backend': p.backend_domname = value; break;
      case 'type': {
        const t = value.toLowerCase();
        if (t !== 'unknown' && t !== 'qemu' && t !== 'xen_9pfsd') throw specError('SPEC_DEVICE', [`failed to parse 9pfs type: ${value}`], HINT);
        p.type = t;
        break;
      }
      case 'max-files': p.max_files = num(value); break;
      case 'max-open-files': p.max_open_files = num(value); break;
      case 'max-space': p.max_space = num(value); break;
      case 'auto-delete': p.auto_delete = strtoul(value, 0).value !== 0n; break;
      default: throw specError('SPEC_DEVICE', [`Unknown 9pfs parameter '${key}'`], HINT);
    }
  }
  if (p.type !== 'xen_9pfsd' && ((p.max_files ?? 0) !== 0 || (p.max_open_files ?? 0) !== 0 || (p.max_space ?? 0) !== 0 || p.auto_delete === true)) {
    throw specError('SPEC_DEVICE', ['Illegal 9pfs parameter combination'], HINT);
  }
  if (p.type === 'xen_9pfsd') {
    p.tag ??= 'Xen';
    p.path ??= `/var/log/xen/guests/${options.domainName ?? ''}`;
  }
  if (p.path === undefined || p.security_model === undefined || p.tag === undefined) {
    throw specError('SPEC_DEVICE', ['9pfs spec missing required field!'], HINT);
  }
  return p;
}
