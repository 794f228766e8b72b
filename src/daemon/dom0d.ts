import { readdirSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import type { Server } from 'node:http';
import { checkRunDir, isErrno, quietLog, resolvePaths, terminalSafe, ToolstackError } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import { API_ROUTES, checkRequestBody, EventFeed, STREAM_ROUTES, TEST_ROUTES, ToolstackService } from '../api/index.js';
import type { ApiOperation, CreateDomainRequest } from '../api/index.js';
import { ConsoleHub, Dmesg } from '../console/index.js';
import { readXlConf } from '../config/index.js';
import { DEFAULT_SCHEDULER, DomainEvents, DomainManager, Passthrough, POOL_SCHEDULERS, QemuDriver, qemuLogPath, SchedCgroups, writeDom0Layout } from '../domain/index.js';
import type { DomainDriver, DomainRecord, PoolHost, PoolScheduler } from '../domain/index.js';
import { HostNetwork, isDnsmasqLog } from '../network/index.js';
import { startXenstored } from '../xenstore/index.js';
import type { XenstoredHandle } from '../xenstore/index.js';
import { boundAppendedLog, ensurePrivateDir, openFilesLimit, readHostFacts, releasePidFile, shedInherited, tryTakePidFile, writeFileAtomicSync } from '../host/index.js';
import { parseListen, serveApiTcp } from './api-tcp.js';
import type { TcpApi } from './api-tcp.js';
import { consoleWebSocket } from './console-ws.js';
import { feedHandlers } from './feed.js';
import { webHandlers } from './web-files.js';
import type { RouteHandler, ServeOptions, StreamHandler } from './http.js';
import { startHeapTrim } from './heap-trim.js';
import { serveApi } from './http.js';

/** What a driver gets to work with: built once xenstored and the consoles exist. */
export interface DriverContext {
  readonly paths: Dom0Paths;
  readonly xenstored: XenstoredHandle;
  /** The domains' consoles (connected to a machine's chardevs by `connect(record)`). */
  readonly consoles: ConsoleHub;
  readonly log: (line: string) => void;
}

export interface Dom0dOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Builds the machine layer (default: `QemuDriver`, one detached QEMU per domain). */
  readonly driver?: (ctx: DriverContext) => DomainDriver;
  /**
   * Awaited after a domain's machine has started with its vCPUs stopped and before it first runs
   * (see `DomainManagerOptions.beforeUnpause`): where the console layer attaches.
   */
  readonly beforeUnpause?: (record: DomainRecord, ctx: DriverContext) => Promise<void>;
  /** Diagnostic lines (stderr, i.e. `LOG_DIR/dom0d.log` when started by xl). */
  readonly log?: (line: string) => void;
}

/** A running dom0d: what it serves, and how to stop it. */
export interface Dom0d {
  readonly paths: Dom0Paths;
  readonly manager: DomainManager;
  readonly xenstored: XenstoredHandle;
  readonly consoles: ConsoleHub;
  readonly api: ToolstackService;
  /** Stops serving, lets running jobs finish, flushes state, removes the socket and pid file. */
  stop(): Promise<void>;
}

/**
 * Starts dom0d for the directories `env` names. Order: take `RUN_DIR/dom0d.pid` (the
 * single-instance lock: another live dom0d there is DAEMON_RUNNING), start xenstored on
 * `RUN_DIR/xenstored/socket`, load and re-adopt every persisted domain through the driver, and
 * only then serve the API on `RUN_DIR/api.sock`, so a client that gets an answer sees every
 * domain.
 */
export async function startDom0d(options: Dom0dOptions): Promise<Dom0d> {
  const diag = options.log ?? ((line: string) => process.stderr.write(`${new Date().toISOString()} dom0d[${process.pid}]: ${terminalSafe(line, true).replaceAll('\n', '\n  ')}\n`));
  const paths = resolvePaths(options.env, { uid: process.getuid?.() ?? 0, home: homedir(), cwd: process.cwd() });
  checkRunDir(paths);
  for (const dir of [paths.runDir, `${paths.runDir}/xenstored`, paths.stateDir, paths.logDir]) ensurePrivateDir(dir);
  const holder = tryTakePidFile(paths.pidFile);
  if (holder !== undefined) {
    throw new ToolstackError('DAEMON_RUNNING', holder > 0 ? `dom0d is already running (pid ${holder}, ${paths.pidFile})` : `Cannot take ${paths.pidFile}: another dom0d is starting`, {
      hint: 'stop it first, or point DOM0_RUN_DIR elsewhere',
    });
  }
  // The state directory is one dom0d's too: a second one on it with another run directory (an
  // xl whose environment differed) took the first one's running domains for crashed ones and
  // destroyed their records.
  const stateLock = `${paths.stateDir}/dom0d.pid`;
  const stateHolder = tryTakePidFile(stateLock);
  if (stateHolder !== undefined) {
    releasePidFile(paths.pidFile);
    throw new ToolstackError('DAEMON_RUNNING', stateHolder > 0 ? `dom0d (pid ${stateHolder}) already serves ${paths.stateDir}, with another run directory than ${paths.runDir}`
      : `Cannot take ${stateLock}: another dom0d is starting on ${paths.stateDir}`, {
      hint: 'give this one its own DOM0_STATE_DIR, or the same DOM0_RUN_DIR as that dom0d (xl then talks to it)',
    });
  }
  // So is the log directory: two dom0s on one there rotated each other's QEMU logs (a domain of
  // the same name) and mixed their console logs.
  const logLock = `${paths.logDir}/dom0d.pid`;
  const logHolder = tryTakePidFile(logLock);
  if (logHolder !== undefined) {
    releasePidFile(stateLock);
    releasePidFile(paths.pidFile);
    throw new ToolstackError('DAEMON_RUNNING', logHolder > 0 ? `dom0d (pid ${logHolder}) already logs to ${paths.logDir}, with another run directory than ${paths.runDir}`
      : `Cannot take ${logLock}: another dom0d is starting on ${paths.logDir}`, {
      hint: 'give this one its own DOM0_LOG_DIR, or the same DOM0_RUN_DIR as that dom0d (xl then talks to it)',
    });
  }
  // Every diagnostic line also goes to dom0's console ring, as Xen's own messages go to its
  // (the ring is the running dom0d's: read once the pid file is ours).
  const dmesg = Dmesg.open(`${paths.runDir}/dmesg`, { onError: (e) => diag(`dmesg ring: ${e instanceof Error ? e.message : String(e)}`) });
  const log = (line: string): void => {
    diag(line);
    dmesg.host(line);
  };
  log(`dom0d ${process.pid} starting: state ${paths.stateDir}, run ${paths.runDir}, open files limit ${openFilesLimit() ?? 'unknown'}`);
  let xenstored: XenstoredHandle | undefined;
  let server: Server | undefined;
  let opened: DomainManager | undefined;
  try {
    // A client's INTRODUCE names a domain a record stands for (none while the records load).
    const xs = await startXenstored({ socketPath: paths.xenstoredSocket, stateDir: `${paths.stateDir}/xenstore`, log, domainExists: (d) => opened?.registry.get(d) !== undefined });
    xenstored = xs;
    const dom0Client = xs.connect();
    await writeDom0Layout(dom0Client).finally(() => dom0Client.close());
    const events = new DomainEvents((e) => log(`domain event listener failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
    const consoleError = quietLog(log);
    const consoles = new ConsoleHub(paths.logDir, { onError: (e) => consoleError(`console log: ${e instanceof Error ? e.message : String(e)}`), dmesg });
    consoles.follow(events);
    const feed = new EventFeed(events);
    const warnings: string[] = [];
    const ctx: DriverContext = { paths, xenstored: xs, consoles, log };
    // Test knobs (ms): a restart's delay (≥ 0), a migration's stall window (> 0).
    const envMs = (name: string): number | undefined => {
      const n = Number.parseInt(options.env[name] ?? '', 10);
      return Number.isInteger(n) && n >= 0 ? n : undefined;
    };
    const stallMs = envMs('DOM0_MIGRATION_STALL_MS');
    const restartDelay = envMs('DOM0_RESTART_DELAY_MS');
    const driver = options.driver?.(ctx) ?? new QemuDriver({ paths, xenstored: xs, log, ...(stallMs !== undefined && stallMs > 0 ? { migrationStallMs: stallMs } : {}) });
    // Probe QEMU and the accelerator now (cached on disk) rather than in the first create; stop()
    // waits for the probes, which write their caches into the state directory.
    const probes: Array<Promise<unknown>> = driver instanceof QemuDriver ? [
      driver.accel().then((a) => log(`accelerator: ${a.accel} (${a.reason})`), (e: unknown) => log(`accelerator: ${e instanceof Error ? e.message : String(e)}`)),
      driver.capabilities().catch((e: unknown) => log(`QEMU capabilities: ${e instanceof Error ? e.message : String(e)}`)),
    ] : [];
    // Consoles are connected before the guest first runs, so its first byte is already followed.
    const beforeUnpause = options.beforeUnpause ?? ((rec: DomainRecord) => consoles.connect(rec));
    const host = schedHost(paths, log);
    const manager = await DomainManager.open({
      domainsDir: paths.domainsDir,
      sched: { host, poolsFile: `${paths.stateDir}/cpupools.json`, cgroups: openCgroups(paths, host) },
      events,
      warnings,
      driver,
      dumpDir: `${paths.stateDir}/dump`,
      ownDirs: [paths.runDir, paths.configDir, paths.logDir],
      domidElsewhere: (domid) => HostNetwork.domidNamed(domid),
      log,
      passthrough: new Passthrough({ xs: xs.connect(), ...hostRoot(options.env) }),
      ...(restartDelay === undefined ? {} : { restartDelayMs: restartDelay }),
      beforeUnpause: (rec: DomainRecord) => beforeUnpause(rec, ctx),
    });
    opened = manager;
    for (const w of warnings) log(w);
    // The logs written for as long as a process runs — dom0d's own, each running QEMU's and NAT
    // dnsmasq's (what a guest can make them print) — are held to a size (boundAppendedLog),
    // checked every 5 s (a stat each): a guest can make its QEMU print a line per message it
    // sends (a bad virtio-serial control message, say), as fast as it sends them.
    const logsHeld = setInterval(() => {
      const hold = (file: string, whose: string): void => {
        boundAppendedLog(file).catch((e: unknown) => log(`holding ${whose} log to size: ${e instanceof Error ? e.message : String(e)}`));
      };
      hold(paths.dom0dLog, 'dom0d\'s');
      for (const rec of manager.registry.list()) if (rec.qemuPid !== null) hold(qemuLogPath(paths, rec.name), `domain ${rec.domid}'s QEMU`);
      let names: string[] = [];
      try {
        names = readdirSync(paths.logDir);
      } catch (e: unknown) {
        log(`holding logs to size: ${e instanceof Error ? e.message : String(e)}`);
      }
      for (const f of names.filter(isDnsmasqLog)) hold(`${paths.logDir}/${f}`, 'a NAT network\'s dnsmasq');
    }, Math.max(100, envMs('DOM0_LOG_CHECK_MS') ?? 5_000));
    logsHeld.unref();
    const report = await manager.adoptAll();
    log(`re-adopted ${report.adopted} domain(s); ${report.crashed} found dead, ${report.removed} half-done removed, ${report.restarts} restart(s) resumed, ${report.recovered} recovered without a record`);
    const api = new ToolstackService(manager, {
      paths,
      startedAt: Date.now(),
      ...(driver instanceof QemuDriver ? { accel: () => driver.accel() } : {}),
      consoles,
      xenstore: () => xs.connect(),
      dmesg,
    });
    const routes = routeTable(api, options.env.DOM0_TEST_API === '1');
    const fed = feedHandlers(feed, () => api.domainStats());
    const serving = { streams: streamTable(api), raw: fed.handlers };
    server = await serveApi(paths.apiSocket, routes, log, serving);
    log(`serving ${paths.apiSocket}`);
    const tcp = await serveTcp(paths, options.env, routes, log, { ...serving, open: webHandlers(), websocket: consoleWebSocket(api, log) });
    const srv = server;
    let stopping: Promise<void> | undefined;
    return {
      paths,
      manager,
      xenstored: xs,
      consoles,
      api,
      stop: () => (stopping ??= (async () => {
        const closed = [srv, ...(tcp === undefined ? [] : [tcp.server])].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
        consoles.endClients(); // attached console streams and event streams would hold the servers open
        fed.endAll();
        await Promise.all(closed);
        await unlink(`${paths.runDir}/api.url`).catch(() => undefined);
        clearInterval(logsHeld);
        manager.cancelPendingRestarts();
        await manager.jobs.idle();
        await manager.sched.pools.exclusive(async () => manager.sched.close());
        await manager.registry.flush();
        await Promise.all(probes);
        await consoles.closeAll();
        await dmesg.flush();
        await xs.close();
        await unlink(paths.apiSocket).catch(() => undefined);
        releasePidFile(logLock);
        releasePidFile(stateLock);
        releasePidFile(paths.pidFile);
      })()),
    };
  } catch (e: unknown) {
    server?.close();
    // dom0d's cgroups go as at a stop: the groups of running domains (they hold threads) stay.
    const m = opened;
    await m?.sched.pools.exclusive(async () => m.sched.close()).catch(() => undefined);
    await xenstored?.close().catch(() => undefined);
    releasePidFile(logLock);
    releasePidFile(stateLock);
    releasePidFile(paths.pidFile);
    throw e;
  }
}

/**
 * The API over TCP when xl.conf's `api_listen` (or `DOM0_API_LISTEN`) asks for it (see
 * api-tcp.ts); its URL goes to `RUN_DIR/api.url`. A listener that cannot be made is reported and
 * dom0d serves on without it (the Unix socket and the domains matter more).
 */
async function serveTcp(paths: Dom0Paths, env: NodeJS.ProcessEnv, routes: readonly RouteHandler[], log: (line: string) => void, serving: ServeOptions): Promise<TcpApi | undefined> {
  try {
    const conf = readXlConf(paths.configDir);
    const fromEnv = env.DOM0_API_LISTEN;
    const text = fromEnv ?? conf.apiListen;
    if (text === undefined || text === '') return undefined;
    const listen = parseListen(text, fromEnv === undefined ? 'api_listen' : 'DOM0_API_LISTEN');
    if ((conf.apiTlsCert === undefined) !== (conf.apiTlsKey === undefined)) {
      throw new ToolstackError('CFG_VALUE', `xl.conf gives ${conf.apiTlsCert === undefined ? 'api_tls_key without api_tls_cert' : 'api_tls_cert without api_tls_key'}: the listener would not be HTTPS`, {
        hint: 'give both, or neither',
      });
    }
    const tls = conf.apiTlsCert !== undefined && conf.apiTlsKey !== undefined ? { cert: conf.apiTlsCert, key: conf.apiTlsKey } : undefined;
    const tokenFile = `${paths.stateDir}/api-token`;
    const tcp = await serveApiTcp(listen, tokenFile, routes, log, { ...serving, ...(tls === undefined ? {} : { tls }) });
    writeFileAtomicSync(`${paths.runDir}/api.url`, `${tcp.url}\n`);
    log(`serving ${tcp.url} and the web console at ${tcp.url}/ (bearer token in ${tokenFile})`);
    return tcp;
  } catch (e: unknown) {
    log(`the API over TCP is off: ${e instanceof Error ? e.message : String(e)}${e instanceof ToolstackError && e.hint !== undefined ? ` (${e.hint})` : ''}`);
    return undefined;
  }
}

/**
 * The host as CPU pools see it: its online CPUs and their nodes, and the scheduler xl.conf's
 * `sched=` names (Xen's boot option: an unknown one is reported and the default runs).
 */
function schedHost(paths: Dom0Paths, log: (line: string) => void): PoolHost {
  const cpus = readHostFacts().cpus.map((c) => ({ cpu: c.cpu, node: c.node }));
  let asked: string | undefined;
  try {
    asked = readXlConf(paths.configDir).sched;
  } catch (e: unknown) {
    log(`${paths.configDir}/xl.conf: ${e instanceof Error ? e.message : String(e)}: the scheduler is ${DEFAULT_SCHEDULER}`);
  }
  if (asked === undefined || (POOL_SCHEDULERS as readonly string[]).includes(asked)) return { cpus, scheduler: (asked ?? DEFAULT_SCHEDULER) as PoolScheduler };
  log(`Could not find scheduler: ${asked} (xl.conf sched=): the scheduler is ${DEFAULT_SCHEDULER}`);
  return { cpus, scheduler: DEFAULT_SCHEDULER };
}

/** dom0d's cgroups (see SchedCgroups), or why it has none. */
function openCgroups(paths: Dom0Paths, host: PoolHost): SchedCgroups | ToolstackError {
  try {
    return SchedCgroups.open(paths.runDir, { cpus: host.cpus.map((c) => c.cpu), mems: [...new Set(host.cpus.map((c) => c.node))] });
  } catch (e: unknown) {
    if (e instanceof ToolstackError) return e;
    throw e;
  }
}

/**
 * dom0d's route table: every `API_ROUTES` entry answered by the ToolstackApi method of the same
 * name, its body checked against the operation's schema first (api/validate.ts), plus
 * `TEST_ROUTES` when `testApi` is set.
 */
export function routeTable(api: ToolstackService, testApi: boolean): RouteHandler[] {
  const call = api as unknown as Record<ApiOperation, (req: unknown) => Promise<unknown>>;
  const table: RouteHandler[] = Object.entries(API_ROUTES).map(([op, route]) => ({
    route,
    handle: (req) => call[op as ApiOperation](req),
    checkBody: (body) => checkRequestBody(op as ApiOperation, body),
  }));
  if (testApi) table.push({ route: TEST_ROUTES.registerDomain, handle: (req) => api.registerDomain(req as unknown as CreateDomainRequest) });
  return table;
}

/** dom0d's byte-stream routes (`STREAM_ROUTES`): the consoles. */
export function streamTable(api: ToolstackService): StreamHandler[] {
  return [{
    route: STREAM_ROUTES.consoleStream,
    handle: (req, socket, ready, remote) => api.streamConsole({ ref: req.ref ?? '', id: req.id ?? '' }, socket, ready, remote),
  }];
}

export const DOM0D_RUN_USAGE = 'dom0d run     (the default) serve the API, xenstore and every domain in the foreground\n' +
  '              until SIGTERM; directories from DOM0_{CONFIG,STATE,RUN,LOG}_DIR\n\n';

/** `dom0d run`: starts dom0d in the foreground and serves until SIGTERM or SIGINT. `inspecting`: Node's options may have opened its inspector. */
/**
 * `inspecting`: Node's options opened an inspector; `autostarted`: an xl started this dom0d (whose
 * scheduling it does not keep; one started by hand keeps what its starter chose).
 */
export async function runDom0d(env: NodeJS.ProcessEnv, o: { readonly inspecting?: boolean; readonly autostarted?: boolean } = {}): Promise<number> {
  const log = (line: string): void => {
    process.stderr.write(`${new Date().toISOString()} dom0d[${process.pid}]: ${line}\n`);
  };
  // Everything dom0d (and each QEMU it spawns) creates is private to its user.
  process.umask(0o077);
  // Nothing of the first xl's process outlives it in dom0d and every QEMU (see shedInherited).
  const shed = await shedInherited({ scheduling: o.autostarted === true });
  if (shed.length > 0) log(`put back what the process that started dom0d gave it: ${shed.join('; ')}`);
  // Many daemons take SIGUSR2 for "re-exec" or "reopen logs": an administrator's habit must not
  // stop dom0d (Node's default). SIGUSR1 is refused where dom0d starts (refuseDebuggerSignal).
  process.on('SIGUSR2', () => log('SIGUSR2: ignored (stop dom0d with SIGTERM)'));
  // A log that cannot be written (a full disk, a file-size limit) loses its lines, not dom0d.
  process.stderr.on('error', () => undefined);
  // An inspector that Node options opened (`--inspect` where dom0d was started by hand) lets any
  // local user run code in dom0d: it is closed. (The module costs 1.6 MiB: loaded only then.)
  if (o.inspecting === true) {
    const inspector = await import('node:inspector');
    if (inspector.url() !== undefined) {
      inspector.close();
      log('the Node inspector its options opened is closed: it would run any local user\'s code as dom0d');
    }
  }
  // A promise nobody awaited that fails is a bug; it must not take every domain's supervisor down.
  process.on('unhandledRejection', (reason: unknown) => {
    log(`bug: unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
  });
  // A hang-up is an administrator's "reopen your logs" or a closed terminal of a foreground run:
  // neither may stop what supervises the domains (Node's default). dom0d bounds its own log.
  process.on('SIGHUP', () => log('SIGHUP: ignored (dom0d keeps its log bounded itself; stop it with SIGTERM)'));
  startHeapTrim();
  // Taken from the first moment: one during the start (Node's default ended dom0d without a
  // word, and the xl that started it blamed the last line of its log) stops it once started.
  const stopped = new Promise<string>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        log(`${sig}: stopping${started ? '' : ' once started'}`);
        resolve(sig);
      });
    }
  });
  let started = false;
  let d: Dom0d;
  try {
    d = await startDom0d({ env, log });
    started = true;
  } catch (e: unknown) {
    // What the host refused (a directory where the API socket goes, a full disk) is the
    // operator's to fix: one line and a hint, as for dom0d's own errors; anything else is a bug.
    const err = isErrno(e)
      ? new ToolstackError('IO', `Cannot start dom0d: ${e.message}`, { hint: `check ${e.path ?? 'the paths in DOM0_*_DIR'}` })
      : e;
    if (!(err instanceof ToolstackError)) throw err;
    log(err.message);
    if (err.hint !== undefined) log(`hint: ${err.hint}`);
    return 1;
  }
  await stopped;
  await d.stop();
  log('stopped');
  return 0;
}

/**
 * Where the host's sysfs and /dev are for PCI and USB passthrough: `/`, or with the test API
 * (`DOM0_TEST_API=1`) the directory `DOM0_TEST_HOST_ROOT` names — a tree shaped like them, so
 * that tests reach the paths of a host with an IOMMU and USB devices.
 */
function hostRoot(env: NodeJS.ProcessEnv): { readonly root?: string } {
  const root = env.DOM0_TEST_HOST_ROOT;
  return env.DOM0_TEST_API === '1' && root !== undefined && root !== '' ? { root } : {};
}
