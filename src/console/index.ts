// The console area's public surface: per-domain console rings, their log files, the hub that
// connects them to QEMU's console chardevs and streams them to clients.
export { CONSOLE_RING_BYTES, ConsoleLog } from './console-log.js';
export type { ConsoleListener } from './console-log.js';
export { chardevLogFile, consoleEndpoint, consoleIdFor, consoleIds, consoleKindOf, primaryConsole } from './endpoints.js';
export type { ConsoleKind } from './endpoints.js';
export { ConsoleHub, consoleLogPath } from './hub.js';
export { ConsoleRing } from './ring.js';
export { ConsoleSource } from './source.js';
export type { ConsoleEndpoint, ConsoleSink, ConsoleSourceOptions } from './source.js';
