// The qemu area: the QMP client, the one QEMU launcher, host probes (accelerator, capabilities)
// and the pure argv builder. The domain layer uses only this index.
export { QmpClosedError, QmpCommandError, QmpTimeoutError } from './qmp/transport.js';
export type { QmpEvent } from './qmp/transport.js';
export { QmpClient } from './qmp/client.js';
export type { QmpCpuInfoFast, QmpHotpluggableCpu, QmpMigrationInfo } from './qmp/client.js';
export { launchQemu, qemuLogReason } from './launch.js';
export { chooseAccel, isAccelSetting, runAccelProbe } from './accel.js';
export type { AccelChoice, AccelSetting } from './accel.js';
export { hasDevice, hasMachine, probeCapabilities, resolveQemuBinary } from './capabilities.js';
export type { QemuDeviceType } from './capabilities.js';
export {
  argvRequirements, buildQemuArgs, checkMachineLimits, configuredRamKiB, MACHINE_VCPU_LIMIT, deviceModelBinary, diskHasMedium, diskMediumNode, formatHasChain, hasVncDisplay, diskNodeName, hotplugDiskWiring, nicWiring, qemuEnvironment, qemuFormatDriver, qmpMonitorArgs,
  fdSetPath, parseSerial, pciQdevId, pciWiring, usbctrlQdevId, usbctrlWiring, usbdevQdevId, usbdevWiring, vkbHasDevice, vkbQdevId, vkbWiring,
} from './argv/index.js';
export type {
  ArgvCapabilities, ArgvEnv, ChainedImage, ConsoleEndpoint, ConsoleKind, ConsoleRequirement, DiskNode, DiskWiring, DomainRuntime, ImageChain, MachineLayout, NicRuntime, NicWiring, PciPlacement, QdevWiring, SerialBackend,
} from './argv/index.js';
