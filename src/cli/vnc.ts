import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { connectToolstack } from '../api/index.js';
import type { VncInfo } from '../api/index.js';
import { ToolstackError } from '../common/index.js';
import type { CommandContext } from './command.js';

/** The viewers looked for in PATH, in order, when `VNCVIEWER` (Xen's override) is unset. */
const VIEWERS = ['vncviewer', 'xtightvncviewer', 'gvncviewer'];

export interface VncView extends VncInfo {
  /** `HOST:DISPLAY`, what the viewer is given. */
  readonly address: string;
  /** The viewer run (null: none installed). */
  readonly viewer: string | null;
  /** The viewer's arguments; the password, if passed, went to its stdin. */
  readonly args: readonly string[];
}

/** The first viewer in `VNCVIEWER` or PATH, as a path; null when none is installed. */
function findViewer(env: NodeJS.ProcessEnv): string | null {
  const override = env.VNCVIEWER;
  if (override !== undefined && override !== '') return override;
  for (const name of VIEWERS) {
    for (const dir of (env.PATH ?? '').split(delimiter)) {
      if (dir === '') continue;
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return null;
}

/**
 * Where to point a VNC viewer at `ref`, and the viewer xl would run: as libxl's
 * `libxl_vncviewer_exec`, `VIEWER HOST:DISPLAY`, plus `-autopass` with the password on stdin
 * when `autopass` is asked and the domain has a password.
 */
export async function vncView(ctx: CommandContext, ref: string, autopass: boolean): Promise<VncView> {
  const info = await connectToolstack(ctx).getVnc({ ref });
  const address = `${info.host}:${info.display}`;
  const withPass = autopass && info.password !== null;
  return { ...info, address, viewer: findViewer(ctx.env), args: withPass ? [address, '-autopass'] : [address] };
}

/**
 * Runs the viewer of `view` (its stdin the password when `-autopass` is among its arguments);
 * `wait`: resolves with its exit status, else as soon as it has started. Fails (code
 * NOT_SUPPORTED) when no viewer is installed, naming the address to connect one to.
 */
export function runViewer(ctx: CommandContext, view: VncView, wait: boolean): Promise<number> {
  if (view.viewer === null) {
    throw new ToolstackError('NOT_SUPPORTED', `Cannot run a VNC viewer: none of ${VIEWERS.join(', ')} is installed`, {
      hint: `connect one to ${view.address} (port ${view.port}), or set VNCVIEWER to a viewer's path`,
    });
  }
  const viewer = view.viewer;
  const autopass = view.args.includes('-autopass');
  return new Promise((resolve, reject) => {
    const child = spawn(viewer, view.args, { stdio: [autopass ? 'pipe' : 'inherit', 'inherit', 'inherit'], detached: !wait });
    child.once('error', (e) => reject(new ToolstackError('NOT_SUPPORTED', `Cannot execute ${viewer}: ${e.message}`, { cause: e })));
    if (autopass) {
      child.stdin?.on('error', () => { /* a viewer that does not read its stdin gets no password */ });
      child.stdin?.end(view.password ?? '');
    }
    if (wait) {
      child.once('exit', (code, signal) => resolve(signal === null ? code ?? 0 : 1));
    } else {
      child.once('spawn', () => {
        child.unref();
        resolve(0);
      });
    }
  });
}
