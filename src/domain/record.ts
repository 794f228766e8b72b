import type { LibxlJsonObject } from '../config/index.js';
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
}

/** The fields a caller may change through `DomainRegistry.update` (identity and state excluded). */
export type DomainRecordPatch = Partial<Pick<DomainRecord, 'config' | 'memKiB' | 'vcpus' | 'qemuPid' | 'sockets' | 'startTime' | 'shutdownReason'>>;

/** What a new domain starts from; the registry assigns domid, uuid (unless given) and state. */
export interface NewDomain {
  readonly name: string;
  readonly uuid?: string;
  readonly config: LibxlJsonObject;
  readonly memKiB: number;
  readonly vcpus: number;
}
