import { homedir } from 'node:os';
import { resolvePaths, ToolstackError, usageError } from '../../common/index.js';
import { libxlJson, nicToJson, parseVifArgs, readXlConf } from '../../api/index.js';
import type { NicDevice } from '../../api/index.js';
import { defineCommand } from '../command.js';
import { getopt } from '../getopt.js';

/**
 * `xl network-attach <Domain> [key=value]...`: each argument is one vif-spec token. With `-N`
 * it prints `vif: <libxl JSON>` as Xen does. xl.conf's `vif.default.*` apply first. Attaching to a running domain is not available
 * yet, so without `-N` it fails after parsing.
 */
export const networkAttachCommand = defineCommand<NicDevice>({
  name: 'network-attach',
  summary: 'Create a new virtual network device',
  usage: '<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>] [accel=<accel>] [mtu=<mtu>]',
  canDryRun: true,
  modifies: true,
  run(ctx, args) {
    const { positional } = getopt(args, '');
    if (positional.length < 1) throw usageError('\'xl network-attach\' requires at least 1 argument.');
    const domain = positional[0] as string;
    // find_domain: all digits is a domid; a name must be a running domain (ERROR_INVAL otherwise).
    if (!/^\d*$/.test(domain)) {
      const line = `${domain} is an invalid domain identifier (rc=-6)`;
      throw new ToolstackError('DOMAIN_NOT_FOUND', line, {
        lines: [line],
        hint: 'no domain of that name is running; give a running domain\'s name or id (xl list)',
      });
    }
    const paths = resolvePaths(ctx.env, { uid: process.getuid?.() ?? 0, home: homedir(), cwd: ctx.cwd });
    const xlConf = readXlConf(paths.configDir);
    for (const w of xlConf.warnings) ctx.warn(w);
    const defaults = {
      ...(xlConf.vifDefaultScript === undefined ? {} : { script: xlConf.vifDefaultScript }),
      ...(xlConf.vifDefaultBridge === undefined ? {} : { bridge: xlConf.vifDefaultBridge }),
      ...(xlConf.vifDefaultGatewaydev === undefined ? {} : { gatewaydev: xlConf.vifDefaultGatewaydev }),
      ...(xlConf.vifDefaultBackend === undefined ? {} : { backend: xlConf.vifDefaultBackend }),
    };
    const notices: string[] = [];
    try {
      const nic = parseVifArgs(positional.slice(1), { defaults }, notices);
      if (ctx.dryRun) return Promise.resolve({ data: nic });
    } finally {
      for (const n of notices) ctx.warn(n);
    }
    throw new ToolstackError('DOMAIN_NOT_FOUND', 'libxl_device_nic_add failed.', {
      lines: ['libxl_device_nic_add failed.'],
      hint: `domain ${domain} is not running; use -N to check the vif spec only`,
    });
  },
  render: (nic) => `vif: ${libxlJson(nicToJson(nic))}\n`,
});
