// The console area's public surface: per-domain console rings, their log files, the hub.
export { CONSOLE_RING_BYTES, ConsoleLog } from './console-log.js';
export type { ConsoleListener } from './console-log.js';
export { ConsoleHub, consoleLogPath } from './hub.js';
export { ConsoleRing } from './ring.js';
