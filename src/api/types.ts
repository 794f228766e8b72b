import type { Dom0Paths } from '../common/index.js';
import type { HostFacts, PsrFeatures } from '../host/index.js';
import type { LibxlJsonObject } from '../config/index.js';
import type { ConsoleType } from '../console/index.js';
import type { DeviceKind, DomainState, MigrationSnapshot, NetStats, ShutdownReason, TriggerName, VbdStats, VcpuInfo, XenStateFlags } from '../domain/index.js';
import type { HostCpu, PoolScheduler, PoolSchedParams, VcpuReservation } from '../domain/index.js';
import type { CpuReservation } from '../host/index.js';
import type { MachineLayout } from '../qemu/index.js';
import type { XsTreeNode } from '../xenstore/index.js';

/** The most text of a config dom0d reads from its config directory or keeps with a domain. */
export const MAX_CONFIG_TEXT_BYTES = 1 << 20;

export type { ConsoleType } from '../console/index.js';
export type { DeviceKind, DomainState, NetStats, ShutdownReason, TriggerName, VbdStats, VcpuInfo, XenStateFlags } from '../domain/index.js';
export type { HostCpu, PoolScheduler, PoolSchedParams, VcpuReservation } from '../domain/index.js';
export type { CpuReservation } from '../host/index.js';
/** One xenstore node: its absolute path, its value as UTF-8 text, its permissions as xenstored gives them (`n0`, `r5`). */
export type XenstoreNode = XsTreeNode;

/**
 * Names a domain as xl's `find_domain` does: all decimal digits is a domid, anything else an
 * exact name. `0` and `Domain-0` are the host.
 */
export type DomainRef = string;

/** One row of `xl list` (libxl's dominfo). Domain-0 is the host: domid 0, state `running`. */
export interface DomainInfo {
  readonly domid: number;
  readonly name: string;
  readonly uuid: string;
  readonly state: DomainState;
  /** The `r b p s d` letters of `xl list`. */
  readonly flags: XenStateFlags;
  /** Set while `state` is `shutdown`; its index in SHUTDOWN_REASONS is Xen's reason code. */
  readonly shutdownReason: ShutdownReason | null;
  /** Current memory, KiB. */
  readonly memKiB: number;
  /** Online vCPUs. */
  readonly vcpus: number;
  /** CPU time used, ns. */
  readonly cpuTimeNs: number;
  /** When the guest started (ms since the epoch); null while it is being created. */
  readonly startTime: number | null;
  /** Seconds since the guest started (Domain-0: since the host booted); null while being created. */
  readonly uptimeSec: number | null;
  /** The name of its CPU pool (`xl list -c`). */
  readonly cpupool: string;
  /** What the user should know of a domain just created (a disk's file looks like another format's image). */
  readonly warnings?: readonly string[];
}

/** A domain as `xentop` shows it: its `xl list` row and its machine's counters. */
export interface DomainStats extends DomainInfo {
  /** The static maximum, KiB; null for no limit (Domain-0). */
  readonly maxMemKiB: number | null;
  /** CPU time of each vCPU, ns, in vCPU order (empty when unknown). */
  readonly vcpuTimesNs: readonly number[];
  readonly nets: readonly NetStats[];
  readonly vbds: readonly VbdStats[];
}

/** One `xentop` sample: the host and every domain (Domain-0 first), at `timeMs`. */
export interface StatsSample {
  /** When it was taken, ms since the epoch. */
  readonly timeMs: number;
  readonly totalKiB: number;
  /** Memory free for guests, KiB (as `xl info`'s free_memory). */
  readonly freeKiB: number;
  readonly cpus: number;
  readonly cpuKhz: number;
  readonly domains: readonly DomainStats[];
}

/** One element of `xl list -l`: the stored config of a domain. */
export interface DomainConfigEntry {
  readonly domid: number;
  readonly config: LibxlJsonObject;
}

/** The host (Domain-0), from /proc. */
export interface HostInfo {
  readonly memKiB: number;
  readonly cpus: number;
  readonly cpuTimeNs: number;
  readonly uptimeSec: number;
  /** The accelerator new domains get (xl.conf `accel=`, probed once), when dom0d runs QEMU. */
  readonly accel?: { readonly accel: 'kvm' | 'tcg'; readonly source: string; readonly reason: string };
  /** What `xl info` prints of the host. */
  readonly facts: HostFacts;
  /** Memory the guests hold (their current sizes), KiB. */
  readonly guestsKiB: number;
  /** Memory free for another guest, KiB (`xl info`'s free_memory; what `claim_mode` checks at create). */
  readonly freeKiB: number;
  /** The Platform Shared Resource features (Intel RDT) the host offers (`xl psr-*`). */
  readonly psr: PsrFeatures;
}

/** Who is answering: the dom0d process and the directories it serves. */
export interface DaemonInfo {
  readonly pid: number;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly paths: Dom0Paths;
  readonly domains: number;
}

export interface DomainRefRequest {
  readonly ref: DomainRef;
}

/**
 * Create a domain from its config: libxl's `libxl_domain_config` JSON, as `xl -N create` prints
 * it, resolved as xl resolves an xl.cfg (xl.conf applied, paths absolute). dom0d checks it
 * against the IDL, applies libxl's defaults and stores it: the machine is built, and rebuilt at
 * each restart, from that stored config alone.
 */
export interface CreateDomainRequest {
  readonly config: LibxlJsonObject;
  /** Leave it paused after creation (`xl create -p`). */
  readonly paused?: boolean;
  /** `xl create -e`: no monitor; a guest that stops stays shut down. */
  readonly noMonitor?: boolean;
  /** Where the config came from (the cfg file), for messages. */
  readonly source?: string;
  /** The config's text as it was read (xl: the file, then its `KEY=VALUE` arguments), kept with the domain; at most 1 MiB. */
  readonly sourceText?: string;
  /** `xl restore`: the machine starts from this save file's state stream (an absolute path; the stream at byte `offset`). */
  readonly restore?: { readonly file: string; readonly offset: number };
  /**
   * `xl migrate-receive`: the machine takes its state from the migration stream QEMU reads on this
   * Unix socket (it listens there). `holder`: the receiving xl's pid, on this host; the domain is
   * destroyed if that process ends before renaming it (its stream and handshake end with it).
   */
  readonly incoming?: { readonly socket: string; readonly holder?: number };
  /**
   * With `restore` or `incoming`: the machine whose state it is, as it was (the save file's, the
   * sender's `getMachineLayout`). Without it the machine is the one its config makes, which a
   * stream saved from another (its RAM sized otherwise, devices hot-plugged) does not load into.
   */
  readonly layout?: MachineLayout;
}

/** `xl dump-core <Domain> <filename>`. */
export interface DumpCoreRequest extends DomainRefRequest {
  /** Absolute path of the core file. */
  readonly file: string;
}

export interface CoreDumped {
  readonly domid: number;
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
}

/** `xl qemu-monitor-command <Domain> <Command>`. */
export interface MonitorCommandRequest extends DomainRefRequest {
  readonly command: string;
}

/** A domain's vCPUs (`xl vcpu-list`): every vCPU slot (`maxvcpus`), plugged or not. */
export interface VcpuList {
  readonly domid: number;
  readonly name: string;
  /** The host's highest CPU id + 1 (libxl's `max_cpu_id + 1`): how many CPUs a CPU map is printed over. */
  readonly nrCpus: number;
  readonly vcpus: readonly VcpuInfo[];
}

/** `xl vcpu-pin`: CPU maps as xl parsed them (CPU ids); an absent one is left as it is. */
export interface VcpuAffinityRequest extends DomainRefRequest {
  readonly vcpu: number | 'all';
  readonly hard?: readonly number[];
  readonly soft?: readonly number[];
}

/** A domain's vCPUs after `setVcpuAffinity`, and libxl's warnings (a soft map with no CPU of the host). */
export interface VcpuAffinityResult extends VcpuList {
  readonly warnings: readonly string[];
}

/** `xl vcpu-set <Domain> <vCPUs>`: vCPUs 0..count-1 online. */
export interface SetVcpusRequest extends DomainRefRequest {
  readonly count: number;
}

/** A domain's vCPUs after `setVcpus`. */
export interface VcpusSet extends VcpuList {
  /** vCPUs asked to go that the guest has not released yet (it does when it can; a paused guest once it runs). */
  readonly pending: readonly number[];
}

/**
 * `xl migrate`, the sending side's dom0d: stream the domain live into `fifo`, a named pipe (absolute
 * path) whose other end the transport to the receiving host reads (the sending xl makes it).
 */
export interface MigrateDomainRequest extends DomainRefRequest {
  readonly fifo: string;
  /**
   * The sending xl's pid, on this host: if that process ends while the domain is still its
   * migration's, not yet renamed NAME--migratedaway (so "go" was never sent), dom0d resumes it.
   */
  readonly holder?: number;
}

/** `xl migrate`, before its transport runs: the sending xl (pid `holder`, on this host) takes the domain's migration. */
export interface ClaimMigrationRequest extends DomainRefRequest {
  readonly holder: number;
}

/**
 * Unpause a domain. While an `xl migrate` whose process still runs holds its migration (see
 * `claimMigration`), only that xl may (`holder`: its pid): another's unpause would run the guest
 * here while the receiver is told to start it.
 */
export interface UnpauseRequest extends DomainRefRequest {
  readonly holder?: number;
}

/** What QEMU reports of the finished stream; the domain is then paused at the sender. */
export interface MigrationResult {
  readonly domid: number;
  readonly name: string;
  readonly totalMs: number;
  readonly downtimeMs: number;
  readonly ramBytes: number;
}

/** How far a domain's outgoing migration (or save) is (the figures: MigrationSnapshot). */
export interface MigrationProgress extends MigrationSnapshot {
  readonly domid: number;
  readonly name: string;
}

/** `xl save [-c] [-p] [-D] <Domain> <CheckpointFile>`. */
export interface SaveDomainRequest extends DomainRefRequest {
  /** Absolute path of the save file. */
  readonly file: string;
  /** `-c`: the domain runs on after the save. */
  readonly checkpoint?: boolean;
  /** `-p`: the domain stays, paused, after the save. */
  readonly paused?: boolean;
  /** `-D`: the embedded config keeps the domid. */
  readonly preserveDomid?: boolean;
  /** `<ConfigFile>`: the config to embed instead of the domain's (as xl resolved it). */
  readonly config?: LibxlJsonObject;
}

/** What `saveDomain` wrote. */
export interface SaveResult {
  readonly domid: number;
  readonly name: string;
  readonly file: string;
  /** The file's size, bytes. */
  readonly bytes: number;
  /** The header's flags and the length of its optional data (xl's `info 0x%x/0x%x/%u`), and of the config in it. */
  readonly mandatoryFlags: number;
  readonly optionalFlags: number;
  readonly optionalDataBytes: number;
  readonly configBytes: number;
  /** The domain after the save; null when it was destroyed (no -c, no -p). */
  readonly domain: DomainInfo | null;
}

export interface DestroyDomainRequest extends DomainRefRequest {
  /** `xl destroy -f`: required to even try domain 0. */
  readonly force?: boolean;
}

export interface RenameDomainRequest extends DomainRefRequest {
  readonly name: string;
  /** The name it must have now (as libxl's rename is given the old name): DOMAIN_STATE otherwise. */
  readonly from?: string;
}

export interface ConsoleAttachRequest extends DomainRefRequest {
  readonly type?: ConsoleType;
  readonly num?: number;
}

/**
 * A domain's console as `attachConsole` resolved it. Its bytes flow over `stream`: a GET of that
 * path on the API socket with `Connection: Upgrade`, `Upgrade: dom0-console` is answered `101`
 * (or an error reply), after which the connection carries raw bytes both ways: the console's
 * retained output first, then its live output; what the client sends is typed into the guest.
 * dom0d ends the stream when the domain is destroyed or its QEMU goes.
 */
export interface ConsoleAttachment {
  readonly domid: number;
  readonly name: string;
  readonly type: ConsoleType;
  readonly num: number;
  /** The QEMU chardev: `console0` (hvc0), `serial<N>` (COM N), `channel<N>`. */
  readonly id: string;
  readonly stream: string;
}

export interface TriggerRequest extends DomainRefRequest {
  readonly trigger: TriggerName;
  /** Xen's VCPU argument (default 0). */
  readonly vcpu?: number;
}

/** What `sendTrigger` did: the QMP command that carried the trigger. */
export interface TriggerResult {
  readonly domid: number;
  readonly name: string;
  readonly trigger: TriggerName;
  readonly vcpu: number;
  readonly qmp: string;
}

export interface SysrqRequest extends DomainRefRequest {
  /** One character, as `xl sysrq` takes it. */
  readonly key: string;
}

/**
 * `xl mem-set` / `mem-max`: the balloon target (`memory/target`) and the static maximum
 * (`memory/static-max`), KiB; at least one of them.
 */
export interface SetMemoryRequest extends DomainRefRequest {
  readonly targetKiB?: number;
  readonly maxKiB?: number;
}

/** A domain's memory after `setMemory`, KiB. */
export interface MemoryInfo {
  readonly domid: number;
  readonly name: string;
  readonly targetKiB: number;
  readonly maxKiB: number;
  /** What the machine was started with: the ceiling of the balloon until the domain reboots. */
  readonly machineKiB: number;
}

/** What `sendSysrq` did: the xenstore node written and the keys pressed (QMP `send-key`). */
export interface SysrqResult {
  readonly domid: number;
  readonly name: string;
  readonly key: string;
  readonly xenstorePath: string;
  readonly keys: readonly string[];
}

/** A domain's machine as a restore or migration of its state rebuilds it (see `MachineLayout`). */
export interface MachineLayoutInfo extends MachineLayout {
  readonly domid: number;
  readonly name: string;
}

/** Where a domain's VNC server listens (QMP `query-vnc`) and its password (xl.cfg `vncpasswd`). */
export interface VncInfo {
  readonly domid: number;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `port - 5900`, what a viewer's `HOST:DISPLAY` names. */
  readonly display: number;
  readonly password: string | null;
}

/** What `destroyDomain` destroyed. */
export interface DomainIdentity {
  readonly domid: number;
  readonly name: string;
  readonly uuid: string;
}

/**
 * A device for a running domain (`xl block-attach`): libxl's JSON of the IDL struct of its kind
 * (`vbd`: `libxl_device_disk`, as `xl -N block-attach` prints it), paths absolute.
 */
export interface AttachDeviceRequest extends DomainRefRequest {
  readonly kind: DeviceKind;
  readonly device: LibxlJsonObject;
}

export interface DetachDeviceRequest extends DomainRefRequest {
  readonly kind: DeviceKind;
  /** What names the device, as xl's `*-detach` takes it (a disk: its vdev or devid). */
  readonly id: string;
  /** `-f`: remove it from the domain even while the guest still holds it. */
  readonly force?: boolean;
}

export interface ListDevicesRequest extends DomainRefRequest {
  readonly kind: DeviceKind;
}

/**
 * One device of a domain (`xl block-list` row): its devid, what xenstore holds of it (libxl's
 * `libxl_diskinfo` and kin: backend domain and path, the frontend's XenbusState, event channel
 * and ring reference, -1 when absent) and its config entry (libxl JSON).
 */
export interface DeviceInfo {
  readonly domid: number;
  readonly name: string;
  readonly kind: DeviceKind;
  readonly devid: number;
  readonly backendId: number;
  readonly state: number;
  readonly evtch: number;
  readonly rref: number;
  readonly backendPath: string;
  readonly frontendPath: string;
  readonly device: LibxlJsonObject;
  /** What the user should know of a disk just attached (see `DomainInfo.warnings`). */
  readonly warnings?: readonly string[];
}

/** What `detachDevice` removed; `released` false: the guest had not let it go yet (force). */
export interface DeviceDetached {
  readonly domid: number;
  readonly name: string;
  readonly kind: DeviceKind;
  readonly device: LibxlJsonObject;
  readonly released: boolean;
}

/**
 * `xl cd-insert` / `cd-eject`: a disk spec (libxl JSON) naming the CD-ROM drive by `vdev` and the
 * new medium by `pdev_path` and `format` (`empty`: eject).
 */
export interface ChangeMediaRequest extends DomainRefRequest {
  readonly disk: LibxlJsonObject;
}

/** The drive as the domain's config now has it. */
export interface MediaChanged {
  readonly domid: number;
  readonly name: string;
  readonly disk: LibxlJsonObject;
}

/**
 * Whose xenstored quotas (`xl xenstore-quota-get/-set`): `global` (the defaults new domains
 * get) or one domain's, by domid (xl resolved a name already, as its `find_domain` does).
 */
export interface XenstoreQuotaScope {
  readonly scope: number | 'global';
}

/** One xenstored quota as GET_QUOTA names it (`soft-memory` included); 0 = no limit. */
export interface XenstoreQuota {
  readonly name: string;
  readonly value: number;
}

/** Sets each quota in order with SET_QUOTA; the first that xenstored refuses ends it. */
export interface SetXenstoreQuotaRequest extends XenstoreQuotaScope {
  readonly quotas: readonly XenstoreQuota[];
}

/** An xl.cfg text to read as `xl create` reads a file (the web console's create form). */
export interface ParseConfigRequest {
  readonly text: string;
  /** What messages call it (default `config`); errors carry `pos` with this and the line. */
  readonly source?: string;
}

/** The config as libxl JSON (what `createDomain` takes), and the parser's warnings. */
export interface ParsedConfig {
  readonly config: LibxlJsonObject;
  readonly warnings: readonly string[];
}

/**
 * One file of dom0d's config directory (`DOM0_CONFIG_DIR`; /etc/xen for root) that may be an
 * xl.cfg: a regular file directly in it, named without a path (not hidden, not xl.conf).
 */
export interface ConfigFileInfo {
  readonly name: string;
  /** Bytes. */
  readonly size: number;
  /** Last modified, ms since the epoch. */
  readonly mtimeMs: number;
}

/** The config files of `dir`, dom0d's config directory, by name; `truncated`: there are more than these. */
export interface ConfigFileList {
  readonly dir: string;
  readonly files: readonly ConfigFileInfo[];
  readonly truncated: boolean;
}

/** A config file of dom0d's config directory, by name (`/`, a leading `.`, xl.conf refused). */
export interface ConfigFileRequest {
  readonly name: string;
}

/** A config file and its text (UTF-8, at most 1 MiB), for `parseConfig` with `source` = its name. */
export interface ConfigFileText extends ConfigFileInfo {
  readonly text: string;
}

/**
 * What a domain was created from: `source` as its creator gave it (xl: the config file as typed;
 * the web console: the config file's path, or `web console`). When it is the absolute path of a
 * file of dom0d's config directory, `file` is that file as it is now.
 */
export interface DomainSource {
  readonly domid: number;
  readonly name: string;
  readonly source: string;
  /** The config's text as its creator read it (kept with the domain), or null when none was given (a restore, a migration). */
  readonly text: string | null;
  readonly file: ConfigFileText | null;
  /** The file changed after the domain was created: its text is not (or, without `text`, may not be) what the domain was made from. */
  readonly modifiedSince: boolean;
}

/** A domain's xenstore directory (`/local/domain/<domid>`), read-only. */
export interface DomainXenstore {
  readonly domid: number;
  readonly name: string;
  readonly path: string;
  /** `path` first, then each node's children in xenstore's order, depth first (`xenstore-ls -f -p`). */
  readonly nodes: readonly XenstoreNode[];
  /** There are more nodes than these (the first 2000). */
  readonly truncated: boolean;
}

/** The end of a domain's log: a guest's is its QEMU's output (`LOG_DIR/qemu-<name>.log`), Domain-0's dom0d's own (`LOG_DIR/dom0d.log`). */
export interface DomainLog {
  readonly domid: number;
  readonly name: string;
  readonly file: string;
  /** The whole file's size, bytes (0 when there is none yet). */
  readonly size: number;
  /** Its last 64 KiB at most, from the start of a line. */
  readonly text: string;
  /** `text` is not the whole file. */
  readonly truncated: boolean;
}

/** `xl config-update`: the config the domain's next restart is built from. */
export interface UpdateDomainConfigRequest extends DomainRefRequest {
  readonly config: LibxlJsonObject;
}

/** One `channel=` of a domain (`xl channel-list`), as libxl's `libxl_channelinfo` gives it. */
export interface ChannelInfo {
  readonly devid: number;
  readonly name: string;
  readonly backendId: number;
  /** XenbusState: 4 (Connected) while the domain's machine runs, else 1. */
  readonly state: number;
  /** No PV frontend here: -1. */
  readonly evtch: number;
  readonly rref: number;
  readonly connection: 'pty' | 'socket';
  /** `pty`: the console socket `xl console -t pv -n DEVID+1` attaches to; `socket`: the config's path. */
  readonly path: string | null;
}

/** `xl dmesg [-c]`: read dom0's console ring, and with `clear` empty it after. */
export interface DmesgRequest {
  readonly clear?: boolean;
}

/** dom0's console ring: dom0d's `(XEN)` lines and the guests' debug-port `(dN)` lines. */
export interface DmesgText {
  readonly text: string;
}

/** `xl debug-keys KEYS`: each key's handler runs in order; its output goes to the ring. */
export interface DebugKeysRequest {
  readonly keys: string;
}

/** The lines the keys added to the ring (xl prints nothing: `xl dmesg` shows them). */
export interface DebugKeysResult {
  readonly lines: readonly string[];
}

/** One CPU pool (`xl cpupool-list`). */
export interface CpupoolInfo {
  readonly poolid: number;
  readonly name: string;
  readonly sched: PoolScheduler;
  /** Its CPUs, ascending. */
  readonly cpus: readonly number[];
  /** Its domains, as Xen's `n_dom` counts them (Domain-0, the host, is in Pool-0). */
  readonly domains: number;
  /** The scheduler-wide parameters: credit's tslice, ratelimit and migration delay; credit2's ratelimit. */
  readonly params: PoolSchedParams;
}

/** A domain's pool and scheduler parameters (`xl sched-*`); Domain-0 has Xen's defaults. */
export interface DomainSchedInfo {
  readonly domid: number;
  readonly name: string;
  readonly pool: number;
  /** credit, credit2: 1..65535. */
  readonly weight: number;
  /** credit, credit2: % of one CPU, 0 = no cap. */
  readonly cap: number;
  /** rtds: each vCPU's period and budget (µs) and extratime, in vCPU order (every possible vCPU). */
  readonly vcpus: readonly CpuReservation[];
}

/** The host's CPU scheduling: its CPUs, pools and every domain's parameters (`getScheduling`). */
export interface SchedulingInfo {
  /** The host's scheduler (xl.conf `sched=`, Xen's boot option): Pool-0's at first, a new pool's by default. */
  readonly scheduler: PoolScheduler;
  /** Every online CPU of the host and its NUMA node. */
  readonly cpus: readonly HostCpu[];
  /** The CPUs in no pool. */
  readonly freeCpus: readonly number[];
  readonly pools: readonly CpupoolInfo[];
  /** Every domain, Domain-0 first, in domid order. */
  readonly domains: readonly DomainSchedInfo[];
}

/** Names a CPU pool as libxl's `libxl_cpupool_qualifier_to_cpupoolid` does: all digits is a poolid, anything else a name. */
export interface CpupoolRef {
  readonly pool: string;
}

/** `xl sched-credit` / `sched-credit2 -d D [-w W] [-c C]`: -1 or absent leaves one as it is. */
export interface SetDomainSchedRequest extends DomainRefRequest {
  readonly sched: 'credit' | 'credit2';
  readonly weight?: number;
  readonly cap?: number;
}

/** `xl sched-rtds -d D -v ID -p P -b B -e E ...` (`vcpus`) or `-v all -p P -b B -e E` (`all`). */
export interface SetVcpuSchedRequest extends DomainRefRequest {
  readonly vcpus?: readonly VcpuReservation[];
  readonly all?: CpuReservation;
}

/** `xl sched-credit -s [-t] [-r] [-m] [-p POOL]` / `sched-credit2 -s -r`: the fields given change. */
export interface SetPoolSchedRequest extends CpupoolRef {
  readonly sched: 'credit' | 'credit2';
  readonly tsliceMs?: number;
  readonly ratelimitUs?: number;
  readonly migrationDelayUs?: number;
}

/** `xl cpupool-create`, as xl resolved its config (CPUs, which must be free). */
export interface CreateCpupoolRequest {
  readonly name: string;
  readonly sched: string;
  readonly cpus: readonly number[];
}

export interface RenameCpupoolRequest extends CpupoolRef {
  readonly name: string;
}

/** `xl cpupool-cpu-add` / `-remove`: the CPUs of xl's cpulist (node: items resolved). */
export interface CpupoolCpusRequest extends CpupoolRef {
  readonly cpus: readonly number[];
}

/** A pool after a CPU change, and libxl's line for each CPU Xen refused (xl still exits 0). */
export interface CpupoolCpusResult {
  readonly pool: CpupoolInfo;
  readonly errors: readonly string[];
}

/** `xl cpupool-migrate <Domain> <CPU Pool>`. */
export interface MigrateToCpupoolRequest extends DomainRefRequest {
  readonly pool: string;
}

/** `xl pci-assignable-add [-n NAME] BDF`: the device (`DDDD:BB:DD.F`) and its name. */
export interface AddAssignablePciRequest {
  readonly bdf: string;
  readonly name?: string;
}

/** `xl pci-assignable-remove [-r] BDF|NAME`: `ident` is a name pci-assignable-add gave, else a BDF. */
export interface RemoveAssignablePciRequest {
  readonly ident: string;
  /** `-r`: bind the device to the driver it had before it was made assignable. */
  readonly rebind?: boolean;
}

/** What a pci-assignable change did to a device, with the warnings libxl would print. */
export interface AssignablePciChange {
  readonly bdf: string;
  readonly warnings: readonly string[];
}

/** One assignable PCI device (`xl pci-assignable-list`). */
export interface AssignablePciInfo {
  readonly bdf: string;
  readonly name?: string;
}

/** `xl pci-assignable-list`: the devices, and why there are none where the host cannot have any. */
export interface AssignablePciList {
  readonly devices: readonly AssignablePciInfo[];
  readonly warnings: readonly string[];
}
