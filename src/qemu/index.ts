// The qemu area: QMP client, QEMU processes, host probes (accelerator, capabilities).
// The argv builder lives here too (another file); the domain layer uses only this index.
export {
  QmpTransport, QmpCommandError, QmpClosedError,
} from './qmp/transport.js';
export type {
  QmpClosed, QmpConnectOptions, QmpEvent, QmpEventListener, QmpGreeting, QmpVersion,
} from './qmp/transport.js';
export { QmpClient } from './qmp/client.js';
export type {
  QmpBalloonInfo, QmpBlockdevOptions, QmpChardevInfo, QmpCpuInfoFast, QmpDeviceProps, QmpDumpOptions, QmpKey,
  QmpMigrationInfo, QmpNetdevProps, QmpRunState, QmpStatusInfo, QmpVncInfo, WaitForEventOptions,
} from './qmp/client.js';
export { FakeQmpPeer } from './qmp/fake-peer.js';
export type { FakeQmpCommand, FakeQmpHandler, FakeQmpOptions, FakeQmpReply } from './qmp/fake-peer.js';
export {
  isPidAlive, killPid, logTail, pidCmdline, pidState, readPidFile, spawnDetached, waitForPidExit, waitForSocket,
  writePidFile,
} from './process.js';
export type { PidState, SpawnDetachedOptions } from './process.js';
export { launchQemu } from './launch.js';
export type { LaunchedQemu, LaunchQemuOptions } from './launch.js';
export { ACCEL_SETTINGS, accelProbeImage, chooseAccel, isAccelSetting, runAccelProbe } from './accel.js';
export type { Accel, AccelChoice, AccelOptions, AccelProbeResult, AccelSetting } from './accel.js';
export {
  DEFAULT_QEMU_BINARY, hasDevice, hasMachine, probeCapabilities, resolveQemuBinary,
} from './capabilities.js';
export type { CapabilityProbeOptions, QemuCapabilities, QemuDeviceType, QemuMachineType } from './capabilities.js';
export { argvRequirements, buildQemuArgs, deviceModelBinary, parseVdev, qemuEnvironment } from './argv/index.js';
export type {
  ArgvCapabilities, ArgvEnv, ArgvRequirements, ConsoleEndpoint, ConsoleKind, ConsoleRequirement, DomainRuntime, NicRuntime, Vdev,
} from './argv/index.js';
