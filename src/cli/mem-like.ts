import { connectToolstack } from '../api/index.js';
import type { MemoryInfo } from '../api/index.js';
import { isToolstackError, ToolstackError } from '../common/index.js';
import type { CommandImpl } from './command.js';
import { defineCommand } from './command.js';
import { getopt, requireArgs } from './getopt.js';

/**
 * A size as `xl mem-set` / `mem-max` read it (Xen's parse_mem_size_kb): a decimal number and at
 * most one unit letter, any case — none or `m` MiB, `g` GiB, `t` TiB, `k` KiB, `b` bytes —
 * in KiB; undefined when it is not one. Beyond Xen, which passes them on, a size that is not
 * above 0 KiB or does not fit a safe integer is not one either.
 */
export function parseMemSizeKiB(text: string): number | undefined {
  const m = /^\s*([+-]?\d+)([a-z]?)$/i.exec(text);
  if (m === null) return undefined;
  const n = BigInt(m[1] as string);
  const unit = (m[2] as string).toLowerCase();
  const shift: Record<string, bigint> = { t: 30n, g: 20n, '': 10n, m: 10n, k: 0n };
  const kib = unit === 'b' ? n >> 10n : n << (shift[unit] as bigint);
  return kib > 0n && kib <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(kib) : undefined;
}

/**
 * `xl mem-set <Domain> <size>` (the balloon target) and `xl mem-max <Domain> <size>` (the static
 * maximum). Print nothing; a failure ends with xl's own last line, naming the domid and the size
 * as typed (`cannot set domid N dynamic|static max memory to : SIZE`).
 */
export function memLike(name: 'mem-set' | 'mem-max'): CommandImpl {
  const field = name === 'mem-set' ? 'targetKiB' : 'maxKiB';
  const which = name === 'mem-set' ? 'dynamic' : 'static';
  return defineCommand<MemoryInfo>({
    async run(ctx, args) {
      const p = getopt(args, '').positional;
      requireArgs(name, p, 2);
      const [ref, size] = p as [string, string];
      const kib = parseMemSizeKiB(size);
      if (kib === undefined) {
        throw new ToolstackError('MEMORY', `invalid memory size: ${size}`, {
          lines: [`invalid memory size: ${size}`],
          hint: 'a number of MiB, or with one unit letter: 512, 2g, 262144k, 1t',
        });
      }
      const api = connectToolstack(ctx);
      try {
        return { data: await api.setMemory({ ref, [field]: kib }) };
      } catch (e) {
        if (!isToolstackError(e) || e.code === 'DOMAIN_NOT_FOUND' || e.code === 'DAEMON_UNAVAILABLE') throw e;
        const domid = /^\d+$/.test(ref) ? ref : String((await api.getDomain({ ref }).catch(() => undefined))?.domid ?? ref);
        throw new ToolstackError(e.code, e.message, {
          cause: e,
          lines: [...(e.lines ?? [e.message]), `cannot set domid ${domid} ${which} max memory to : ${size}`],
          ...(e.hint === undefined ? {} : { hint: e.hint }),
        });
      }
    },
    render: () => '',
  });
}
