import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { connectToolstack, MAX_CONFIG_TEXT_BYTES } from '../../api/index.js';
import type { DomainInfo, ToolstackApi } from '../../api/index.js';
import { isToolstackError, monotonicMs, terminalSafe, ToolstackError } from '../../common/index.js';
import {
  DOMAIN_CONFIG, domainConfigText, domainConfigToLibxlObject, idlToJson, loadDomainConfig, partialConfigText, UNTERMINATED, withAbsolutePaths, withUsbdevType,
} from '../../config/index.js';
import type { LibxlJsonObject } from '../../config/index.js';
import type { CommandContext } from '../command.js';
import { defineCommand } from '../command.js';
import { DEFAULT_ESCAPE, runConsoleSession } from '../console-session.js';
import { xlConfOf } from '../saved-config.js';
import { getopt } from '../getopt.js';
import { interruptible, stopSignals } from '../interrupt.js';
import { runViewer, vncView } from '../vnc.js';

const LONG_OPTIONS = [
  { name: 'dryrun', hasArg: false, short: 'n' },
  { name: 'quiet', hasArg: false, short: 'q' },
  { name: 'defconfig', hasArg: true, short: 'f' },
  { name: 'vncviewer', hasArg: false, short: 'V' },
  { name: 'vncviewer-autopass', hasArg: false, short: 'A' },
  { name: 'ignore-global-affinity-masks', hasArg: false, short: 'i' },
] as const;

/** What `xl create` returns: the dry run's config, or the created domain (`--json` prints either). */
type CreateView = { readonly dryRun: true; readonly config: LibxlJsonObject; readonly text: string } | { readonly dryRun: false; readonly domain: DomainInfo };

/**
 * `xl create <ConfigFile> [options] [key=value ...]` (xl's `main_create` + `create_domain`).
 * The file may come first, anywhere among the options, or as `-f`; arguments with `=` are
 * config lines appended to the file. With `-N` or `-n` it prints the resolved config as libxl's
 * JSON (SXP with xl.conf `output_format="sxp"`) and stops; `-d` prints it to stderr first.
 *
 * Otherwise dom0d creates the domain from the parsed config (relative paths taken against this
 * directory) and returns once it runs (`-p`: paused). dom0d is the monitor xl would fork: it
 * applies on_poweroff/on_reboot/on_crash, except with `-e` (no monitor: a guest that stops stays
 * shut down). `-F` stays in the foreground until the domain (same uuid, across restarts) is gone.
 * A failed create exits 3 (xl returns -ERROR_FAIL), leaving no domain behind.
 */
export const createCommand = defineCommand<CreateView>({
  run(ctx, args) {
    // xl reads xl.conf before it looks at the command's arguments.
    const xlConf = xlConfOf(ctx);
    let filename: string | undefined;
    let rest = args;
    const first = args[0];
    if (first !== undefined && !first.startsWith('-') && !first.includes('=')) {
      filename = first;
      rest = args.slice(1);
    }
    const o = getopt(rest, 'AFVcdef:inpq', LONG_OPTIONS);
    filename = o.value('f') ?? filename;
    const extra: string[] = [];
    for (const a of o.positional) {
      if (a.includes('=')) extra.push(a);
      else if (filename === undefined) filename = a;
      // xl prints only the command's help (stdout) and exits 2.
      else throw new ToolstackError('USAGE_ARGS', `unexpected argument \`${a}'`, { lines: [], exitCode: 2, hint: `unexpected argument \`${a}': give one config file, then key=value settings` });
    }
    if (filename === undefined) {
      const line = 'Config file not specified and none in save file';
      throw new ToolstackError('USAGE', line, { lines: [line], exitCode: 6, hint: 'usage: xl create <ConfigFile> [options] [key=value ...]' });
    }
    const dryRun = ctx.dryRun || o.has('n');
    if (!o.has('q')) ctx.warn(`Parsing config from ${filename}`);
    let resolved;
    try {
      resolved = loadDomainConfig(filename, {
        extra,
        xlConf,
        hostCpus: availableParallelism(),
        hostNumaNodes: numaNodes(),
        ignoreGlobalAffinityMasks: o.has('i'),
      });
    } catch (e) {
      if (e instanceof ToolstackError && e.code === 'CFG_READ') {
        throw new ToolstackError(e.code, e.message, { ...(e.lines === undefined ? {} : { lines: e.lines }), ...(e.hint === undefined ? {} : { hint: e.hint }), exitCode: 3 });
      }
      throw e;
    }
    for (const w of resolved.warnings) {
      if (w.endsWith(UNTERMINATED)) ctx.stderr.write(terminalSafe(w.slice(0, -1)));
      else ctx.warn(w);
    }
    if (o.has('d') && !dryRun) ctx.stderr.write(domainConfigText(resolved.config, xlConf.outputFormat));
    const config = domainConfigToLibxlObject(resolved.config);
    if (dryRun) {
      let text: string;
      try {
        text = domainConfigText(resolved.config, xlConf.outputFormat);
      } catch (e) {
        if (!ctx.json) ctx.stdout.write(partialConfigText(e) ?? ''); // what xl had printed when it failed
        throw e;
      }
      return Promise.resolve({ data: { dryRun: true, config, text, toJSON: () => config } });
    }
    const api = connectToolstack(ctx);
    const request = {
      // Relative paths are xl's working directory's, as libxl opens them from xl's process.
      config: idlToJson(DOMAIN_CONFIG, withUsbdevType(withAbsolutePaths(resolved.config, ctx.cwd))),
      paused: o.has('p'),
      noMonitor: o.has('e'),
      source: filename,
      ...sourceTextOf(resolved.doc.text),
    };
    return (async () => {
      let domain: DomainInfo;
      try {
        domain = await createUnlessInterrupted(ctx, api, request);
      } catch (e) {
        if (e instanceof ToolstackError && e.code !== 'DAEMON_UNAVAILABLE' && e.code !== 'INTERRUPTED') {
          throw new ToolstackError(e.code, e.message, { ...(e.lines === undefined ? {} : { lines: e.lines }), ...(e.hint === undefined ? {} : { hint: e.hint }), exitCode: 3 });
        }
        throw e;
      }
      for (const w of domain.warnings ?? []) ctx.warn(w);
      await attachAfterCreate(ctx, String(domain.domid), { vnc: o.has('V') || o.has('A'), autopass: o.has('A'), console: o.has('c') });
      if (o.has('F')) await waitForDeath(api, domain.uuid);
      return { data: { dryRun: false, domain, toJSON: () => domain } };
    })();
  },
  render: (v) => (v.dryRun ? v.text : ''),
});

/**
 * dom0d's create of `request`. A stop signal (Ctrl-C) meanwhile cancels it: once dom0d has made
 * the domain (what it is doing is not cut off midway), xl destroys it and ends by the signal.
 * Before, xl ended at once and dom0d's domain stayed, made by a command its user had stopped.
 * A second signal ends xl at once (the domain then stays).
 */
async function createUnlessInterrupted(ctx: CommandContext, api: ToolstackApi, request: Parameters<ToolstackApi['createDomain']>[0]): Promise<DomainInfo> {
  let made: DomainInfo | undefined;
  try {
    return await interruptible(async (check, critical) => {
      made = await critical(async () => {
        const waiting = (): void => ctx.warn(`Interrupted: the domain is being created; it is destroyed once it is there`);
        const stops = stopSignals();
        for (const s of stops) process.once(s, waiting);
        try {
          return await api.createDomain(request);
        } finally {
          for (const s of stops) process.off(s, waiting);
        }
      });
      check();
      return made;
    });
  } catch (e: unknown) {
    if (made !== undefined && isToolstackError(e, 'INTERRUPTED')) await api.destroyDomain({ ref: String(made.domid) }).catch(() => undefined);
    throw e;
  }
}

/**
 * `xl create -V/-A/-c` once the domain exists: starts a VNC viewer in the background (a warning
 * when none can run: the domain stays), then attaches the primary console in the foreground.
 * The console was connected in dom0d before the guest ran, so the session starts with the
 * guest's first byte (replayed).
 */
async function attachAfterCreate(ctx: CommandContext, ref: string, what: { vnc: boolean; autopass: boolean; console: boolean }): Promise<void> {
  if (what.vnc) {
    try {
      await runViewer(ctx, await vncView(ctx, ref, what.autopass), false);
    } catch (e: unknown) {
      if (!(e instanceof ToolstackError)) throw e;
      ctx.warn(`${e.message}${e.hint === undefined ? '' : ` (${e.hint})`}`);
    }
  }
  if (what.console) await runConsoleSession(ctx, { ref }, DEFAULT_ESCAPE);
}

/**
 * `create -F`: until no domain has `uuid`. A restart keeps the uuid but leaves a gap of the
 * restart delay (2 s) without the domain, so the domain counts as dead once it has been absent
 * for longer than that.
 */
async function waitForDeath(api: ToolstackApi, uuid: string): Promise<void> {
  let goneSince: number | undefined;
  for (;;) {
    const present = (await api.listDomains()).some((d) => d.uuid === uuid);
    if (present) goneSince = undefined;
    else if (goneSince === undefined) goneSince = monotonicMs();
    else if (monotonicMs() - goneSince > 3000) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The host's NUMA nodes (Linux sysfs); 1 when unknown. */
function numaNodes(): number {
  try {
    return Math.max(1, readdirSync('/sys/devices/system/node').filter((d) => /^node\d+$/.test(d)).length);
  } catch {
    return 1;
  }
}

/**
 * The config's text as create read it (the file, then the command line's `KEY=VALUE` lines), to
 * keep with the domain (the web console's config view); none when larger than dom0d keeps.
 */
function sourceTextOf(text: string | undefined): { sourceText?: string } {
  return text === undefined || Buffer.byteLength(text) > MAX_CONFIG_TEXT_BYTES ? {} : { sourceText: text };
}
