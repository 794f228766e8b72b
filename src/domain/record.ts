import type { CfgDocument, LibxlJsonObject } from '../config/index.js';
import type { DomainState, ShutdownReason } from './state.js';

/**
 * Everything dom0d keeps about one domain, persisted as `STATE_DIR/domains/<domid>.json` so a
 * restarted dom0d re-adopts the domain (same domid, name, uuid). Records are immutable values:
 * the registry replaces a record on every change.
 */
export interface DomainRecord {
  readonly domid: number;
  readonly name: string;
  readonly uuid: string;
  readonly state: DomainState;
  /** Why the guest stopped, while `state` is `shutdown`; else null. */
  readonly shutdownReason: ShutdownReason | null;
  /** The domain's config as `xl list -l` shows it (libxl's `libxl_domain_config` JSON). */
  readonly config: LibxlJsonObject;
  /** Current memory (the balloon target), KiB. */
  readonly memKiB: number;
  /** Online vCPUs. */
  readonly vcpus: number;
  /** The domain's QEMU process; null before it is spawned (or for a record without one). */
  readonly qemuPid: number | null;
  /** The per-domain sockets dom0d talks to (e.g. `qmp`, `serial0`), by role. */
  readonly sockets: Readonly<Record<string, string>>;
  /** When the guest was started (ms since the epoch); null while it is being created. */
  readonly startTime: number | null;
  /** When the record was made (ms since the epoch). */
  readonly createdAt: number;
  /** What the machine is built from (absent for a record without a machine). */
  readonly launch?: DomainLaunch;
}

/**
 * The source a domain's machine is (re)built from: the parsed xl.cfg as `xl create` read it
 * (file + command-line `key=value`), re-resolved by dom0d at every start so a restart builds the
 * same machine; relative paths in it are taken against `cwd` (the directory `xl create` ran in,
 * as libxl opens files from xl's working directory).
 */
export interface DomainLaunch {
  readonly doc: CfgDocument;
  readonly cwd: string;
  /** `xl create -i`. */
  readonly ignoreGlobalAffinityMasks?: boolean;
  /** `xl create -e`: no monitor, so a guest shutdown of any kind only leaves the domain shut down. */
  readonly noMonitor?: boolean;
}

/** The fields a caller may change through `DomainRegistry.update` (identity and state excluded). */
export type DomainRecordPatch = Partial<Pick<DomainRecord, 'uuid' | 'config' | 'memKiB' | 'vcpus' | 'qemuPid' | 'sockets' | 'startTime' | 'shutdownReason'>>;

/** What a new domain starts from; the registry assigns domid, uuid (unless given) and state. */
export interface NewDomain {
  readonly name: string;
  readonly uuid?: string;
  readonly config: LibxlJsonObject;
  readonly memKiB: number;
  readonly vcpus: number;
  readonly launch?: DomainLaunch;
}
