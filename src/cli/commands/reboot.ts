// `xl reboot` shares `xl shutdown`'s code (xl's `main_shutdown_or_reboot`); see shutdown.ts.
export { rebootCommand } from './shutdown.js';
