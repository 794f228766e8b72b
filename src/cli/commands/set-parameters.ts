import { ToolstackError } from '../../common/index.js';
import { defineCommand } from '../command.js';
import { getopt, requireArgs } from '../getopt.js';

/**
 * `xl set-parameters <Params>` (xl_misc.c): Xen writes each `name=value` to its hypervisor file
 * system (hypfs, `/params/NAME`). dom0 has no hypervisor, so it answers as xl does with a Xen
 * built without hypfs, whose hypercall says ENOSYS before any parameter is looked at: libxl's
 * line and xl's, exit 1.
 */
export const setParametersCommand = defineCommand<never>({
  run(_ctx, args) {
    const p = getopt(args, '').positional;
    requireArgs('set-parameters', p, 1);
    const params = p[0] as string;
    return Promise.reject(new ToolstackError('NOT_SUPPORTED', `Cannot set hypervisor parameters '${params}': dom0 runs guests on QEMU, without a hypervisor`, {
      lines: ['libxl: error: libxl.c:626:libxl_set_parameters: opening Xen hypfs: Function not implemented', `cannot set parameters: ${params}`],
      hint: 'there are no hypervisor parameters here: what a domain\'s QEMU does comes from its config file',
    }));
  },
});
