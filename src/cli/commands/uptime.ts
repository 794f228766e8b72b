import { connectToolstack } from '../../api/index.js';
import type { DomainInfo } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { findDomain } from '../domain-arg.js';
import { getopt } from '../getopt.js';

interface UptimeRow {
  readonly name: string;
  readonly domid: number;
  readonly uptimeSec: number;
}

interface UptimeView {
  readonly short: boolean;
  /** When it was taken (ms since the epoch): `-s` prints it as local HH:MM:SS. */
  readonly now: number;
  readonly rows: readonly UptimeRow[];
  toJSON(): unknown;
}

/**
 * `xl uptime [-s] [Domain...]` (xl_info.c `main_uptime`): Domain-0 then every guest, or the
 * domains named. A name that matches nothing fails before any output (find_domain); a domid
 * that matches nothing, or a domain still being created, is silently left out.
 */
export const uptimeCommand = defineCommand<UptimeView>({
  async run(ctx, args) {
    const p = getopt(args, 's');
    const domains = await connectToolstack(ctx).listDomains();
    const now = Date.now();
    let picked: Array<DomainInfo | undefined> = domains;
    if (p.positional.length > 0) picked = p.positional.map((ref) => findDomain(domains, ref).domain);
    const rows = picked.flatMap((d) =>
      d === undefined || d.uptimeSec === null ? [] : [{ name: d.name, domid: d.domid, uptimeSec: Math.floor(d.uptimeSec) }]);
    return { data: { short: p.has('s'), now, rows, toJSON: () => rows } };
  },
  render(v) {
    let out = v.short ? '' : `${'Name'.padEnd(33)} ${'ID'.padStart(4)} Uptime\n`;
    const at = new Date(v.now);
    const clock = [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    for (const r of v.rows) {
      out += v.short
        ? ` ${clock} up ${uptimeString(r.uptimeSec, true)}, ${r.name} (${r.domid})\n`
        : `${r.name.padEnd(33)} ${String(r.domid).padStart(4)} ${uptimeString(r.uptimeSec, false)}\n`;
    }
    return out;
  },
});

/** xl's `uptime_to_string`: `[D day(s), ]H:MM[:SS]` with the hour padded to 2. */
export function uptimeString(total: number, short: boolean): string {
  const day = Math.floor(total / 86400);
  const hour = Math.floor((total % 86400) / 3600);
  const min = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const hm = `${String(hour).padStart(2)}:${String(min).padStart(2, '0')}`;
  const clock = short ? hm : `${hm}:${String(sec).padStart(2, '0')}`;
  if (day > 1) return `${day} days, ${clock}`;
  if (day === 1) return `${day} day, ${clock}`;
  return clock;
}
