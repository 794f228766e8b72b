/**
 * The QEMU driver: a domain is one detached QEMU process, supervised over QMP.
 *
 * Per domain, under `RUN_DIR/domains/<domid>/`: `qmp.sock` (QMP), `<chardev>.sock` (consoles:
 * `console0` = hvc0, `serial<N>` = COM ports, `channel<devid>`), `qemu.pid`. Logs: QEMU's stderr
 * in `LOG_DIR/qemu-<name>.log` (the previous run's kept as `.log.1`), every byte of each console
 * in `LOG_DIR/qemu-<name>-<chardev>.log` (QEMU's chardev `logfile`, fresh at each start, kept
 * whether or not a console client is attached). The record's `sockets` hold `qmp`, the console
 * sockets by chardev id and `vnc` (`HOST:PORT`, read back with `query-vnc`).
 *
 * Lifecycle contract with QEMU (README "The QEMU command line"): QEMU never exits or resets by
 * itself; QMP `SHUTDOWN` reason `guest-shutdown` is a poweroff, `guest-reset` (or our own
 * `system_reset`) a reboot, `GUEST_PANICKED` a crash, `WATCHDOG` a watchdog; the QMP socket
 * closing while the domain was not being destroyed is a crash (QEMU died). Each is reported once
 * to the manager's sink, which queues the on_* action; nothing is done in the event handler.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { ToolstackError } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import { cfgString, readCfgFile, readXlConf, resolveDomainConfig } from '../config/index.js';
import type { DomainConfig } from '../config/index.js';
import {
  argvRequirements, buildQemuArgs, chooseAccel, deviceModelBinary, isAccelSetting, killPid, pidCmdline, pidState, probeCapabilities,
  logTail, qemuEnvironment, QmpClient, spawnDetached, waitForPidExit,
} from '../qemu/index.js';
import type { AccelChoice, AccelSetting, ArgvCapabilities, ConsoleEndpoint, DomainRuntime, NicRuntime, QmpEvent } from '../qemu/index.js';
import type { XenstoreClient, XenstoredHandle } from '../xenstore/index.js';
import type { DomainDriver, MachineEventSink } from './driver.js';
import { processCpuTimeNs } from './host.js';
import type { DomainRecord, DomainRecordPatch } from './record.js';
import type { ShutdownReason } from './state.js';
import { createTap, deleteDomainTaps, tapName } from './taps.js';
import { removeDomainLayout, renameDomainLayout, writeControlShutdown, writeDomainLayout } from './xenstore-layout.js';

const runFile = promisify(execFile);

export interface QemuDriverOptions {
  readonly paths: Dom0Paths;
  readonly xenstored: XenstoredHandle;
  readonly log: (line: string) => void;
  /** The QEMU binary (default: `qemu-system-x86_64` on PATH); `device_model_override` still wins. */
  readonly binary?: string;
  /** How long QEMU may take to open its QMP socket and greet (default 10 s). */
  readonly startTimeoutMs?: number;
}

interface Machine {
  readonly pid: number;
  readonly qmp: QmpClient;
  /** Being destroyed: its QMP socket closing is expected. */
  ending: boolean;
  /** A stop was reported to the sink (once per machine). */
  reported: boolean;
}

/** QMP `SHUTDOWN` reasons (QAPI ShutdownCause) that are the guest's own stop, as Xen's reasons. */
const SHUTDOWN_CAUSES: Readonly<Record<string, ShutdownReason>> = {
  'guest-shutdown': 'poweroff',
  'guest-reset': 'reboot',
  'host-qmp-system-reset': 'reboot',
  'guest-panic': 'crash',
};

export class QemuDriver implements DomainDriver {
  readonly #o: QemuDriverOptions;
  readonly #xs: XenstoreClient;
  readonly #machines = new Map<number, Machine>();
  /** QEMUs spawned whose start has not finished (so a failed start can kill them). */
  readonly #spawned = new Map<number, number>();
  #sink: MachineEventSink | undefined;
  #caps: Promise<ArgvCapabilities> | undefined;
  #accel: Promise<AccelChoice> | undefined;

  constructor(options: QemuDriverOptions) {
    this.#o = options;
    this.#xs = options.xenstored.connect();
  }

  setMachineEventSink(sink: MachineEventSink): void {
    this.#sink = sink;
  }

  /** QEMU's capabilities (probed once, cached on disk by the probe). */
  capabilities(): Promise<ArgvCapabilities> {
    this.#caps ??= probeCapabilities({ stateDir: this.#o.paths.stateDir, ...(this.#o.binary === undefined ? {} : { binary: this.#o.binary }) })
      .catch((e: unknown) => {
        this.#caps = undefined;
        throw e;
      });
    return this.#caps;
  }

  /** The accelerator for new domains: xl.conf `accel=` (auto, kvm, tcg), probed once. */
  accel(): Promise<AccelChoice> {
    this.#accel ??= (async () => chooseAccel({
      stateDir: this.#o.paths.stateDir,
      setting: this.#accelSetting(),
      ...(this.#o.binary === undefined ? {} : { binary: this.#o.binary }),
    }))().catch((e: unknown) => {
      this.#accel = undefined;
      throw e;
    });
    return this.#accel;
  }

  async start(rec: DomainRecord): Promise<DomainRecordPatch> {
    const config = this.#resolve(rec);
    checkGuestFiles(config, rec.launch?.doc.source ?? rec.name);
    const [caps, accel] = await Promise.all([this.capabilities(), this.accel()]);
    const { paths } = this.#o;
    const dir = this.#dir(rec.domid);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const need = argvRequirements(config, caps);
    const consoles: Record<string, ConsoleEndpoint> = {};
    for (const c of need.consoles) {
      const logFile = `${paths.logDir}/qemu-${rec.name}-${c.id}.log`;
      writeFileSync(logFile, '');
      consoles[c.id] = { socket: `${dir}/${c.id}.sock`, logFile };
    }
    const runtime: DomainRuntime = {
      domid: rec.domid,
      qmpSocket: `${dir}/qmp.sock`,
      pidFile: `${dir}/qemu.pid`,
      consoles,
      nics: await this.#nics(rec, config),
      startPaused: true,
      ...(need.clock ? { clock: { nowMs: Date.now(), utcOffsetMinutes: -new Date().getTimezoneOffset() } } : {}),
      ...(need.ovmfVars ? { ovmfVars: copyOvmfVars(caps, dir) } : {}),
    };
    const args = buildQemuArgs(config, { caps, accel: accel.accel, runtime });
    const logFile = `${paths.logDir}/qemu-${rec.name}.log`;
    rotate(logFile);
    const timeoutMs = this.#o.startTimeoutMs ?? 10_000;
    const pid = await spawnDetached({
      binary: deviceModelBinary(config, caps),
      args,
      logFile,
      env: { ...process.env, ...qemuEnvironment(config, runtime) },
    });
    this.#spawned.set(rec.domid, pid);
    const b = config.b_info ?? {};
    const maxKiB = toNum(b.max_memkb) ?? rec.memKiB;
    const targetKiB = toNum(b.target_memkb) ?? maxKiB;
    const serial: Record<number, string> = {};
    for (const c of need.consoles) if (c.kind === 'serial') serial[c.index] = (consoles[c.id] as ConsoleEndpoint).socket;
    // xenstore is written while QEMU starts up (a failed start is cleaned up by destroy).
    const published = (async () => {
      await writeDomainLayout(this.#xs, {
        domid: rec.domid,
        name: rec.name,
        uuid: rec.uuid,
        type: config.c_info?.type ?? 'pv',
        maxMemKiB: maxKiB,
        targetMemKiB: targetKiB,
        videoMemKiB: toNum(b.video_memkb) ?? 0,
        maxVcpus: toNum(b.max_vcpus) ?? rec.vcpus,
        onlineVcpus: rec.vcpus,
        qemuPid: pid,
        consoles: { ...(consoles['console0'] === undefined ? {} : { pv: consoles['console0'].socket }), serial },
        ...(b.kernel === undefined ? {} : { kernel: b.kernel }),
        ...(b.ramdisk === undefined ? {} : { ramdisk: b.ramdisk }),
        ...(b.cmdline === undefined ? {} : { cmdline: b.cmdline }),
        startTime: Date.now(),
      });
      await this.#o.xenstored.introduceDomain(rec.domid);
    })();
    try {
      const qmp = await connectQmp(runtime.qmpSocket, pid, timeoutMs);
      this.#attach(rec.domid, pid, qmp);
      if (targetKiB < maxKiB) await qmp.balloon(targetKiB * 1024);
      const password = vncPassword(config);
      if (password !== undefined) await qmp.execute('change-vnc-password', { password });
      const sockets: Record<string, string> = { qmp: runtime.qmpSocket };
      for (const [id, ep] of Object.entries(consoles)) sockets[id] = ep.socket;
      const vnc = await qmp.queryVnc().catch(() => undefined);
      if (vnc?.enabled === true && vnc.service !== undefined) sockets['vnc'] = `${vnc.host ?? '127.0.0.1'}:${vnc.service}`;
      await this.#pin(qmp, config);
      await published;
      return { qemuPid: pid, sockets };
    } catch (e: unknown) {
      await published.catch(() => undefined);
      // QEMU's own last words are the root cause when it died (the socket error is only the symptom).
      const died = pidState(pid) !== 'running' || await waitForPidExit(pid, 200);
      if (!died) killPid(pid);
      const tail = logTail(logFile, 5);
      if (died && tail !== '' && !(e instanceof ToolstackError && e.message.includes(tail.split('\n')[0] as string))) {
        throw new ToolstackError('QEMU', `QEMU (pid ${pid}) of domain '${rec.name}' exited at start: ${tail.split('\n').join(' | ')}`, {
          hint: `see ${logFile}`, cause: e,
        });
      }
      throw e;
    } finally {
      this.#spawned.delete(rec.domid);
    }
  }

  async pause(rec: DomainRecord): Promise<void> {
    await this.#qmp(rec).stop();
  }

  async unpause(rec: DomainRecord): Promise<void> {
    await this.#qmp(rec).cont();
  }

  /**
   * Xen writes `poweroff` to `control/shutdown` for the guest's PV watcher; our guests have none,
   * so the ACPI power button follows at once (what `xl shutdown -F` falls back to).
   */
  async shutdown(rec: DomainRecord): Promise<void> {
    const qmp = this.#qmp(rec);
    await writeControlShutdown(this.#xs, rec.domid, 'poweroff');
    await qmp.systemPowerdown();
  }

  /**
   * `control/shutdown` = `reboot`, then a reset (xl's `-F` fallback for reboot, there being no
   * ACPI reboot button); QEMU stops with SHUTDOWN `host-qmp-system-reset`, reported as a reboot.
   */
  async reboot(rec: DomainRecord): Promise<void> {
    const qmp = this.#qmp(rec);
    await writeControlShutdown(this.#xs, rec.domid, 'reboot');
    await qmp.systemReset();
  }

  async destroy(rec: DomainRecord): Promise<void> {
    const m = this.#machines.get(rec.domid);
    if (m !== undefined) m.ending = true;
    const pid = rec.qemuPid ?? m?.pid ?? this.#spawned.get(rec.domid) ?? this.#pidFromFile(rec.domid);
    if (pid !== undefined && pidState(pid) === 'running' && this.#ours(pid, rec.domid)) killPid(pid, 'SIGKILL');
    if (m !== undefined) {
      await Promise.race([m.qmp.closed, new Promise((r) => setTimeout(r, 2000).unref())]);
      m.qmp.close();
    } else if (pid !== undefined) {
      await waitForPidExit(pid, 2000);
    }
    this.#machines.delete(rec.domid);
    await Promise.all([
      deleteDomainTaps(rec.domid),
      rm(this.#dir(rec.domid), { recursive: true, force: true }),
      (async () => {
        await removeDomainLayout(this.#xs, rec.domid, rec.uuid);
        if (await this.#xs.isDomainIntroduced(rec.domid)) await this.#o.xenstored.releaseDomain(rec.domid);
      })().catch((e: unknown) => this.#o.log(`domain ${rec.domid}: xenstore clean-up: ${e instanceof Error ? e.message : String(e)}`)),
    ]);
  }

  /**
   * Re-attaches to a QEMU left running by a previous dom0d: the pid must still be that domain's
   * QEMU and its QMP socket must answer. A guest that stopped meanwhile is reported (a stopped
   * guest's cause is no longer known: `shutdown` reads as a poweroff, `guest-panicked` as a crash).
   */
  async adopt(rec: DomainRecord): Promise<'alive' | 'gone'> {
    const pid = rec.qemuPid;
    if (rec.launch === undefined) return pid === null || pidState(pid) === 'running' ? 'alive' : 'gone';
    if (pid === null || pidState(pid) !== 'running' || !this.#ours(pid, rec.domid)) return 'gone';
    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(`${this.#dir(rec.domid)}/qmp.sock`, { timeoutMs: 3000 });
    } catch (e: unknown) {
      this.#o.log(`domain ${rec.domid}: QEMU ${pid} does not answer on QMP (${e instanceof Error ? e.message : String(e)}): killing it`);
      killPid(pid);
      return 'gone';
    }
    const m = this.#attach(rec.domid, pid, qmp);
    const status = await qmp.queryStatus().catch(() => undefined);
    if (status === undefined) return 'gone';
    if (status.status === 'shutdown') this.#report(rec.domid, m, 'poweroff');
    else if (status.status === 'guest-panicked') this.#report(rec.domid, m, 'crash');
    return 'alive';
  }

  cpuTimeNs(rec: DomainRecord): Promise<number> {
    return Promise.resolve(rec.qemuPid === null ? 0 : processCpuTimeNs(rec.qemuPid) ?? 0);
  }

  /** Every vCPU thread (QEMU names them `CPU <n>/TCG` or `CPU <n>/KVM`) sleeping. */
  vcpusBlocked(rec: DomainRecord): boolean | undefined {
    if (rec.qemuPid === null) return undefined;
    const task = `/proc/${rec.qemuPid}/task`;
    let vcpus = 0;
    try {
      for (const tid of readdirSync(task)) {
        if (!readFileSync(`${task}/${tid}/comm`, 'utf8').startsWith('CPU ')) continue;
        vcpus++;
        const stat = readFileSync(`${task}/${tid}/stat`, 'utf8');
        if (stat.charAt(stat.lastIndexOf(')') + 2) !== 'S') return false;
      }
    } catch {
      return undefined;
    }
    return vcpus > 0 ? true : undefined;
  }

  stopped(rec: DomainRecord): Promise<void> {
    this.#o.xenstored.domainShutdown(rec.domid);
    return Promise.resolve();
  }

  monitor(rec: DomainRecord, command: string, args?: Readonly<Record<string, unknown>>): Promise<unknown> {
    return this.#qmp(rec).execute(command, args);
  }

  async coreDump(rec: DomainRecord, file: string): Promise<void> {
    await this.#qmp(rec).dumpGuestMemory(file);
  }

  async renamed(rec: DomainRecord, previous: DomainRecord): Promise<void> {
    await renameDomainLayout(this.#xs, rec.domid, { name: rec.name, uuid: rec.uuid }, previous.uuid);
  }

  #dir(domid: number): string {
    return `${this.#o.paths.runDir}/domains/${domid}`;
  }

  /** True when `pid` runs a QEMU of this domain (its argv names the domain's run directory). */
  #ours(pid: number, domid: number): boolean {
    const dir = `${this.#dir(domid)}/`;
    return pidCmdline(pid)?.some((a) => a.includes(dir)) ?? false;
  }

  #pidFromFile(domid: number): number | undefined {
    try {
      const n = Number.parseInt(readFileSync(`${this.#dir(domid)}/qemu.pid`, 'utf8'), 10);
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  #attach(domid: number, pid: number, qmp: QmpClient): Machine {
    const m: Machine = { pid, qmp, ending: false, reported: false };
    this.#machines.set(domid, m);
    qmp.onEvent('SHUTDOWN', (e: QmpEvent) => {
      const reason = SHUTDOWN_CAUSES[String(e.data?.['reason'])];
      if (reason !== undefined) this.#report(domid, m, reason);
    });
    qmp.onEvent('GUEST_PANICKED', () => this.#report(domid, m, 'crash'));
    qmp.onEvent('WATCHDOG', () => this.#report(domid, m, 'watchdog'));
    qmp.onClose(() => this.#report(domid, m, 'crash'));
    return m;
  }

  #report(domid: number, m: Machine, reason: ShutdownReason): void {
    if (m.ending || m.reported || this.#machines.get(domid) !== m) return;
    m.reported = true;
    this.#sink?.(domid, reason);
  }

  #qmp(rec: DomainRecord): QmpClient {
    const m = this.#machines.get(rec.domid);
    if (m === undefined || m.qmp.isClosed) {
      throw new ToolstackError('QEMU', `Domain '${rec.name}' (${rec.domid}) has no running QEMU`, {
        hint: `see ${this.#o.paths.logDir}/qemu-${rec.name}.log`,
      });
    }
    return m.qmp;
  }

  /** The record's launch source resolved as xl resolves it, with the record's name and uuid and absolute paths. */
  #resolve(rec: DomainRecord): DomainConfig {
    const launch = rec.launch;
    if (launch === undefined) {
      throw new ToolstackError('NOT_SUPPORTED', `Domain '${rec.name}' has no config to build a machine from`);
    }
    const { config } = resolveDomainConfig(launch.doc, {
      xlConf: readXlConf(this.#o.paths.configDir),
      hostCpus: availableParallelism(),
      generateUuid: () => rec.uuid,
      ignoreGlobalAffinityMasks: launch.ignoreGlobalAffinityMasks === true,
    });
    const abs = (p: string): string => (p === '' || isAbsolute(p) ? p : resolvePath(launch.cwd, p));
    const b = config.b_info ?? {};
    return {
      ...config,
      c_info: { ...config.c_info, name: rec.name, uuid: rec.uuid },
      b_info: {
        ...b,
        ...(b.kernel === undefined ? {} : { kernel: abs(b.kernel) }),
        ...(b.ramdisk === undefined ? {} : { ramdisk: abs(b.ramdisk) }),
      },
      ...(config.disks === undefined ? {} : {
        disks: config.disks.map((d) => (d.pdev_path === undefined ? d : { ...d, pdev_path: abs(d.pdev_path) })),
      }),
    };
  }

  /** A tap per vif and, for a vif without a MAC, one derived from the uuid (stable across restarts). */
  async #nics(rec: DomainRecord, config: DomainConfig): Promise<NicRuntime[]> {
    const xl = readXlConf(this.#o.paths.configDir);
    const out: NicRuntime[] = [];
    for (const [i, n] of (config.nics ?? []).entries()) {
      const devid = n.devid >= 0 ? n.devid : i;
      const tap = tapName(rec.domid, devid);
      const warning = await createTap(tap, n.bridge ?? xl.vifDefaultBridge ?? 'xenbr0');
      if (warning !== undefined) this.#o.log(`domain ${rec.domid}: ${warning}`);
      out.push({ tap, mac: derivedMac(rec.uuid, devid) });
    }
    return out;
  }

  /** `cpus=`: each vCPU thread's affinity (sched_setaffinity through taskset) when it is not every CPU. */
  async #pin(qmp: QmpClient, config: DomainConfig): Promise<void> {
    const hard = config.b_info?.vcpu_hard_affinity;
    if (hard === undefined || hard.length === 0) return;
    const host = availableParallelism();
    const cpus = await qmp.queryCpusFast();
    await Promise.all(cpus.map(async (c) => {
      const set = hard[c['cpu-index']] ?? hard[0];
      const usable = set?.filter((cpu) => cpu < host) ?? [];
      if (usable.length === 0 || usable.length === host) return;
      await runFile('taskset', ['-p', '-c', usable.join(','), String(c['thread-id'])]);
    }));
  }

  #accelSetting(): AccelSetting {
    const file = `${this.#o.paths.configDir}/xl.conf`;
    if (!existsSync(file)) return 'auto';
    const v = cfgString(readCfgFile(file), 'accel');
    if (v === undefined) return 'auto';
    if (!isAccelSetting(v)) {
      throw new ToolstackError('CFG_VALUE', `${file}: accel="${v}" is not one of auto, kvm, tcg`, { hint: 'set accel="auto", "kvm" or "tcg" in xl.conf' });
    }
    return v;
  }
}

/**
 * Connects to a starting QEMU's QMP socket as soon as it listens: straight connection attempts
 * (no probe connection, which QEMU would first have to accept and drop), retried while the socket
 * is absent or refuses, until `pid` exits (the caller then names QEMU's log tail) or the deadline.
 */
async function connectQmp(path: string, pid: number, timeoutMs: number): Promise<QmpClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pidState(pid) !== 'running') throw new ToolstackError('QEMU', `QEMU (pid ${pid}) exited before its QMP socket '${path}' was ready`);
    try {
      return await QmpClient.connect(path, { timeoutMs: Math.max(1, deadline - Date.now()) });
    } catch (e: unknown) {
      const code = ((e as { cause?: NodeJS.ErrnoException }).cause)?.code;
      if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() >= deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Files the guest boots from must exist before QEMU is spawned, so a typo is one line naming the
 * file (libxl's own words for disks) and nothing is left behind.
 */
function checkGuestFiles(config: DomainConfig, source: string): void {
  const fail = (line: string, key: string): never => {
    throw new ToolstackError('GUEST_FILE', line, { lines: [line], hint: `check ${key} in ${source}` });
  };
  for (const key of ['kernel', 'ramdisk'] as const) {
    const path = config.b_info?.[key];
    const err = path === undefined ? undefined : statError(path);
    if (err !== undefined) fail(`Cannot open ${key} ${path ?? ''}: ${err}`, `${key}=`);
  }
  for (const d of config.disks ?? []) {
    const path = d.pdev_path ?? '';
    if (path === '' || d.format === 'empty') continue;
    const err = statError(path);
    if (err !== undefined) fail(`Disk vdev=${d.vdev ?? '?'} failed to stat: ${path}: ${err}`, 'disk=');
  }
}

function statError(path: string): string | undefined {
  try {
    statSync(path);
    return undefined;
  } catch (e: unknown) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : (code ?? 'error');
  }
}

/** Xen's OUI 00:16:3e and three bytes of sha256(uuid/devid). */
function derivedMac(uuid: string, devid: number): string {
  const h = createHash('sha256').update(`${uuid}/${devid}`).digest();
  return ['00', '16', '3e', ...[h[0] ?? 0, h[1] ?? 0, h[2] ?? 0].map((x, i) => (i === 0 ? x & 0x7f : x).toString(16).padStart(2, '0'))].join(':');
}

function copyOvmfVars(caps: ArgvCapabilities, dir: string): string {
  const src = caps.firmware.ovmfVars;
  const dst = `${dir}/OVMF_VARS.fd`;
  if (src !== undefined) copyFileSync(src, dst);
  return dst;
}

function vncPassword(config: DomainConfig): string | undefined {
  const p = config.c_info?.type === 'hvm' ? config.b_info?.u?.hvm?.vnc?.passwd : config.vfbs?.[0]?.vnc?.passwd;
  return p === undefined || p === '' ? undefined : p;
}

function toNum(v: number | bigint | undefined): number | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'bigint' ? (v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v)) : v;
}

/** Keeps the previous run's QEMU log as `.1`. */
function rotate(file: string): void {
  try {
    renameSync(file, `${file}.1`);
  } catch {
    // no previous log
  }
}
