import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';
import { runViewer, vncView } from '../vnc.js';
import type { VncView } from '../vnc.js';

/**
 * `xl vncviewer [-a|--autopass] <Domain>`: runs a VNC viewer (`VNCVIEWER`, else the first of
 * vncviewer, xtightvncviewer, gvncviewer in PATH) on the domain's display (QMP `query-vnc`),
 * and exits with its status. With no viewer installed it prints `HOST:DISPLAY` and exits 1 with
 * a hint. `--json` prints where the display is (and the viewer xl would run) without running it.
 */
export const vncviewerCommand = defineCommand<VncView>({
  async run(ctx, args) {
    const o = getopt(args, 'a', [
      { name: 'autopass', hasArg: false, short: 'a' },
      { name: 'vncviewer-autopass', hasArg: false, short: 'a' },
    ]);
    requireArgs('vncviewer', o.positional, 1);
    const view = await vncView(ctx, o.positional[0] as string, o.has('a'));
    if (ctx.json) return { data: view };
    if (view.viewer === null) ctx.stdout.write(`${view.address}\n`);
    return { exitCode: await runViewer(ctx, view, true) };
  },
});
