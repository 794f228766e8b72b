import { connectToolstack } from '../../api/index.js';
import type { TriggerName, TriggerResult } from '../../api/index.js';
import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

const TRIGGER_NAMES: readonly string[] = ['nmi', 'reset', 'init', 'power', 'sleep', 's3resume'];

/**
 * `xl trigger <Domain> <nmi|reset|init|power|sleep|s3resume> [<VCPU>]`: nmi → QMP `inject-nmi`,
 * reset → `system_reset` (the guest restarts; on_reboot applies), power → `system_powerdown` (ACPI
 * power button), s3resume → `system_wakeup`; init and sleep have no QEMU equivalent and fail
 * with NOT_SUPPORTED.
 */
export const triggerCommand = defineCommand<TriggerResult>({
  async run(ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('trigger', p, 2);
    const [dom, trigger, vcpuArg] = p as [string, string, string | undefined];
    if (!TRIGGER_NAMES.includes(trigger)) throw new ToolstackError('USAGE', `Invalid trigger "${trigger}"`, { lines: [`Invalid trigger "${trigger}"`], hint: `triggers: ${TRIGGER_NAMES.join(', ')}` });
    const vcpu = vcpuArg === undefined ? 0 : Number.parseInt(vcpuArg, 10);
    if (!Number.isSafeInteger(vcpu) || vcpu < 0 || vcpu > MAX_VCPU_ID) throw new ToolstackError('USAGE', `Invalid vcpu "${vcpuArg ?? ''}"`, { exitCode: 2, hint: `give a vCPU number from 0 to ${MAX_VCPU_ID}` });
    return { data: await connectToolstack(ctx).sendTrigger({ ref: dom, trigger: trigger as TriggerName, vcpu }) };
  },
  render: () => '',
});

/** The highest vCPU number xl's atoi() can give (an int). */
const MAX_VCPU_ID = 2 ** 31 - 1;
