import { ToolstackError } from '../common/index.js';

/**
 * xl's line when the hypervisor has no Flask XSM (the XSM op answers ENOSYS), as dom0 has none:
 * `Flask XSM disabled`, exit 255 (xl returns libxc's -1). `what` names the refused action.
 */
export function flaskDisabled(what: string): ToolstackError {
  return new ToolstackError('NOT_SUPPORTED', `Cannot ${what}: dom0 has no Xen security module`, { lines: ['Flask XSM disabled'], exitCode: 255 });
}
