// The QEMU argv builder (pure): DomainConfig + capabilities + runtime → arguments.
export { argvRequirements, buildQemuArgs, deviceModelBinary, qemuEnvironment } from './build.js';
export { qmpMonitorArgs } from './options.js';
export { parseVdev } from './storage.js';
export type { Vdev } from './storage.js';
export type {
  ArgvCapabilities, ArgvEnv, ArgvRequirements, ConsoleEndpoint, ConsoleKind, ConsoleRequirement, DomainRuntime, NicRuntime,
} from './types.js';
