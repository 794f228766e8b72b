import { connectToolstack, SHUTDOWN_REASONS } from '../api/index.js';
import type { DomainInfo, DomainRefRequest, ToolstackApi } from '../api/index.js';
import { ToolstackError } from '../common/index.js';
import type { CommandImpl } from './command.js';
import { defineCommand } from './command.js';
import { getopt } from './getopt.js';

/** What `xl shutdown`/`xl reboot` did: the domains asked, and how each ended when waited for. */
interface ShutdownView {
  readonly domains: readonly DomainInfo[];
  readonly waited: readonly { readonly domid: number; readonly outcome: 'destroyed' | 'shutdown'; readonly reason: string | null }[];
}

/** What `-a` takes: guests that are up (one already shut down or dying has nothing to be asked). */
const LIVE: readonly string[] = ['running', 'paused', 'shutting-down'];

const LONG_OPTIONS = [
  { name: 'all', hasArg: false, short: 'a' },
  { name: 'wait', hasArg: false, short: 'w' },
] as const;

/**
 * `xl shutdown` / `xl reboot` `[-a|--all] [-w|--wait] [-F] <Domain>` (xl's
 * `main_shutdown_or_reboot`). dom0d writes `control/shutdown` as libxl does, then uses ACPI
 * (`system_powerdown`) or a reset, our guests having no PV shutdown watcher: `-F` is accepted and
 * is what always happens. `-a` takes every domain but Domain-0. `-w` waits until each domain has
 * shut down or is gone; `-ww` until it is gone (a reboot's old domid is gone once restarted).
 * stderr carries xl's lines (`<verb> domain N`, `Waiting for N domains`, ...).
 */
export function shutdownLike(
  verb: 'Shutting down' | 'Rebooting',
  op: (api: ToolstackApi, req: DomainRefRequest) => Promise<DomainInfo>,
): CommandImpl {
  return defineCommand<ShutdownView>({
    async run(ctx, args) {
      const o = getopt(args, 'awF', LONG_OPTIONS);
      const all = o.has('a');
      if (!all && o.positional.length === 0) {
        const line = 'You must specify -a or a domain id.';
        throw new ToolstackError('USAGE', line, { lines: [line, ''] });
      }
      const api = connectToolstack(ctx);
      const refs = all ?
        (await api.listDomains()).filter((d) => d.domid !== 0 && LIVE.includes(d.state)).map((d) => String(d.domid)) :
        [o.positional[0] as string];
      const domains: DomainInfo[] = [];
      for (const ref of refs) {
        const d = await op(api, { ref });
        ctx.warn(`${verb} domain ${d.domid}`);
        domains.push(d);
      }
      const wait = o.count('w');
      const waited = wait === 0 ? [] : await waitFor(api, domains, wait > 1, (l) => ctx.warn(l));
      return { data: { domains, waited } };
    },
    render: () => '',
  });
}

async function waitFor(api: ToolstackApi, domains: readonly DomainInfo[], forDeath: boolean, log: (line: string) => void): Promise<ShutdownView['waited']> {
  const pending = new Map(domains.map((d) => [d.domid, d.uuid]));
  const continued = new Set<number>();
  const out: ShutdownView['waited'][number][] = [];
  log(`Waiting for ${pending.size} domains`);
  // Asked often at first (most guests go within a second or two), then every half second: a
  // guest that ignores the request is waited for as long as the user waits, and each ask costs
  // dom0d a listing (every 50 ms, eight such waits took a sixth of a core).
  for (let interval = POLL_FIRST_MS; pending.size > 0; interval = Math.min(POLL_MAX_MS, interval * 1.25)) {
    const now = new Map((await api.listDomains()).map((d) => [d.domid, d]));
    for (const [domid, uuid] of [...pending]) {
      const d = now.get(domid);
      if (d === undefined || d.uuid !== uuid) {
        log(`Domain ${domid} has been destroyed`);
        out.push({ domid, outcome: 'destroyed', reason: null });
        pending.delete(domid);
      } else if (d.state === 'shutdown') {
        if (forDeath) {
          if (!continued.has(domid)) log(`Domain ${domid} continue waiting for death`);
          continued.add(domid);
          continue;
        }
        const code = d.shutdownReason === null ? 0 : SHUTDOWN_REASONS.indexOf(d.shutdownReason);
        log(`Domain ${domid} has been shut down, reason code ${code}`);
        out.push({ domid, outcome: 'shutdown', reason: d.shutdownReason });
        pending.delete(domid);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, interval));
  }
  return out;
}

const POLL_FIRST_MS = 50;
const POLL_MAX_MS = 500;
