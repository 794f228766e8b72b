// The domain area's public surface: registry, lifecycle state machine, job queue, events, driver.
export { DEVICE_KINDS } from './devices.js';
export type { DeviceKind, DomainDevice } from './devices.js';
export { ProcessOnlyDriver, TRIGGER_NAMES } from './driver.js';
export type { DomainDriver, MachineStats, MigrationStats, NetStats, TriggerName, VbdStats } from './driver.js';
export { QemuDriver } from './qemu-driver.js';
export { DomainEvents } from './events.js';
export type { DomainEvent } from './events.js';
export { DomainManager } from './manager.js';
export type { DeviceEntry, MemoryChange } from './manager.js';
export type { DomainConsole, DomainRecord, NewDomain } from './record.js';
export { DOM0_NAME, DomainRegistry } from './registry.js';
export { SHUTDOWN_REASONS, xenFlags } from './state.js';
export { writeDom0Layout } from './xenstore-layout.js';
export type { DomainState, ShutdownReason, XenStateFlags } from './state.js';
export { incomingFrom } from './qemu-save.js';
