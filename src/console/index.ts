// The console area's public surface: per-console rings and log files, the hub that connects them
// to QEMU's console chardevs and streams them to clients, and xl's naming of consoles.
export { ConsoleLog } from './console-log.js';
export { ConsoleHub } from './hub.js';
export { ConsoleSource } from './source.js';
export { consoleName, findConsole, primaryConsoleName, xlConsoles } from './endpoints.js';
export { Dmesg } from './dmesg.js';
export type { ConsoleType, XlConsole } from './endpoints.js';
