// The QEMU argv builder (pure): DomainConfig + capabilities + runtime → arguments.
export { argvRequirements, buildQemuArgs, deviceModelBinary, hasVncDisplay, qemuEnvironment } from './build.js';
export { nicWiring } from './devices.js';
export type { NicWiring } from './devices.js';
export { qmpMonitorArgs } from './options.js';
export { checkMachineLimits, configuredRamKiB, MACHINE_VCPU_LIMIT } from './platform.js';
export { pciQdevId, pciWiring, usbctrlQdevId, usbctrlWiring, usbdevQdevId, usbdevWiring } from './passthrough.js';
export type { QdevWiring } from './passthrough.js';
export { vkbHasDevice, vkbQdevId, vkbWiring } from './display.js';
export { fdSetPath, parseSerial } from './serial.js';
export type { SerialBackend } from './serial.js';
export { diskHasMedium, diskMediumNode, diskNodeName, diskWirings, formatHasChain, hotplugDiskWiring, parseVdev, qemuFormatDriver } from './storage.js';
export type { DiskDeviceProps, DiskNode, DiskWiring, Vdev } from './storage.js';
export type {
  ArgvCapabilities, ArgvEnv, ArgvRequirements, ChainedImage, ConsoleEndpoint, ConsoleKind, ConsoleRequirement, DomainRuntime, ImageChain, MachineLayout, NicRuntime, PciPlacement,
} from './types.js';
