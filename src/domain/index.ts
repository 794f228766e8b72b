// The domain area's public surface: registry, lifecycle state machine, job queue, events, driver.
export { writeFileAtomic } from './atomic-file.js';
export { ProcessOnlyDriver } from './driver.js';
export type { DomainDriver, MachineEventSink } from './driver.js';
export { policyAction, POLICY_ACTIONS, preservedName } from './policy.js';
export type { PolicyAction } from './policy.js';
export { QemuDriver } from './qemu-driver.js';
export type { QemuDriverOptions } from './qemu-driver.js';
export { DomainEvents } from './events.js';
export type { DomainEvent, DomainEventListener } from './events.js';
export { parseBusyCpuNs, parseMemTotalKiB, parseProcStatCpuNs, processAlive, processCpuTimeNs, readHostStats } from './host.js';
export type { HostStats } from './host.js';
export { DomainJobQueue } from './jobs.js';
export { KeyedQueue } from './keyed-queue.js';
export { DomainManager } from './manager.js';
export type { AdoptReport, DomainManagerOptions } from './manager.js';
export type { DomainLaunch, DomainRecord, DomainRecordPatch, NewDomain } from './record.js';
export { DOM0_NAME, DomainRegistry, MAX_DOMID, validateDomainName } from './registry.js';
export {
  ACTION_STATES,
  assertActionAllowed,
  assertTransition,
  canTransition,
  DOMAIN_STATES,
  InvalidStateTransition,
  SHUTDOWN_REASONS,
  xenFlags,
} from './state.js';
export type { DomainAction, DomainState, ShutdownReason, XenStateFlags } from './state.js';
