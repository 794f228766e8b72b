import { connectToolstack } from '../../api/index.js';
import type { DomainConfigEntry, DomainInfo } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getListed } from '../domain-arg.js';
import { getopt } from '../getopt.js';
import { renderList } from '../list-render.js';
import type { ListOptions } from '../list-render.js';

/**
 * What `xl list` shows; `--json` prints the API's data (`toJSON`). `-l`'s text is made in `run`:
 * its libxl JSON writer comes with the config code, loaded only for `-l`.
 */
type ListView =
  | { readonly long: false; readonly options: ListOptions; readonly domains: readonly DomainInfo[]; toJSON(): unknown }
  | { readonly long: true; readonly text: string; toJSON(): unknown };

const LONG_OPTIONS = [
  { name: 'long', hasArg: false, short: 'l' },
  { name: 'verbose', hasArg: false, short: 'v' },
  { name: 'context', hasArg: false, short: 'Z' },
  { name: 'cpupool', hasArg: false, short: 'c' },
  { name: 'numa', hasArg: false, short: 'n' },
];

/** `xl list [options] [Domain]` (xl_info.c `main_list`). */
export const listCommand = defineCommand<ListView>({
  async run(ctx, args) {
    const p = getopt(args, 'lvZcn', LONG_OPTIONS);
    if (p.positional.length > 1) {
      // Xen prints only the help, and fails with 1 (not a usage error's 2).
      throw new ToolstackError('USAGE_ARGS', `'xl list' takes at most one domain, not ${p.positional.length}`, { lines: [] });
    }
    const api = connectToolstack(ctx);
    const ref = p.positional[0];
    if (p.has('l')) {
      let entries: DomainConfigEntry[];
      if (ref === undefined) {
        entries = await api.listDomainConfigs();
      } else {
        const d = await getListed(() => api.getDomain({ ref }), ref);
        entries = d.domid === 0 ? [] : [await api.getDomainConfig({ ref: String(d.domid) })];
      }
      const { libxlJson } = await import('../../config/index.js');
      const text = `${libxlJson(entries.map((e) => ({ domid: e.domid, config: e.config })))}\n`;
      return { data: { long: true, text, toJSON: () => entries } };
    }
    const domains = ref === undefined ? await api.listDomains() : [await getListed(() => api.getDomain({ ref }), ref)];
    const options = { verbose: p.has('v'), context: p.has('Z'), cpupool: p.has('c'), numa: p.has('n') };
    return { data: { long: false, options, domains, toJSON: () => domains } };
  },
  render: (view) => (view.long ? view.text : renderList(view.domains, view.options)),
});
