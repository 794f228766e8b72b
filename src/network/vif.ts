/**
 * The host side of a domain's vifs: one tap per vif, named as
 * Xen names a vif's back-end (`vif<domid>.<devid>`), up, and plugged into the vif's bridge
 * (`bridge=`, else xl.conf's `vif.default.bridge`, else `xenbr0`) when that bridge exists. A
 * missing bridge leaves the tap unplugged with a warning instead of failing as Xen's `vif-bridge`
 * script does, so configs written for a Xen host run unchanged on a host without the bridge.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { ToolstackError } from '../common/index.js';
import type { NicDevice } from '../config/index.js';

const run = promisify(execFile);

export function tapName(domid: number, devid: number): string {
  return `vif${domid}.${devid}`;
}

/** What plugging one vif made on the host. */
export interface PluggedVif {
  /** The tap QEMU attaches to (`script=no`). */
  readonly tap: string;
  /** A line for the domain's log when the vif works only in part (its bridge is missing). */
  readonly warning?: string;
}

/**
 * Makes the host side of vif `nic` (the stored config's, libxl's defaults applied: devid, MAC,
 * bridge) of domain `domid`; `index` is its place in the config, the devid when it has none.
 */
export async function plugVif(domid: number, nic: NicDevice, index: number): Promise<PluggedVif> {
  const tap = tapName(domid, nic.devid ?? index);
  const warning = await createTap(tap, nic.bridge ?? 'xenbr0');
  return warning === undefined ? { tap } : { tap, warning };
}

/** Removes the host side of vif `devid` of `domid`; a missing one is no error. */
export async function unplugVif(domid: number, devid: number): Promise<void> {
  await deleteTap(tapName(domid, devid));
}

/** Creates the tap of one vif; returns a warning line when its bridge is missing. */
async function createTap(name: string, bridge: string): Promise<string | undefined> {
  try {
    await run('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
    await run('ip', ['link', 'set', name, 'up']);
    if (!existsSync(`/sys/class/net/${bridge}/bridge`)) {
      return `vif ${name}: bridge '${bridge}' does not exist; the tap is left unplugged`;
    }
    await run('ip', ['link', 'set', name, 'master', bridge]);
    return undefined;
  } catch (e: unknown) {
    await deleteTap(name);
    const detail = (e as { stderr?: string }).stderr?.trim() || (e instanceof Error ? e.message : String(e));
    throw new ToolstackError('IO', `Cannot create the tap '${name}' of a vif: ${detail}`, {
      hint: 'dom0d needs CAP_NET_ADMIN (root) and /dev/net/tun for vifs',
    });
  }
}

/** Removes every tap of `domid` (`vif<domid>.*`); missing ones are no error. */
export async function unplugDomainVifs(domid: number): Promise<void> {
  let links: string[];
  try {
    links = readdirSync('/sys/class/net');
  } catch {
    return;
  }
  const prefix = `vif${domid}.`;
  await Promise.all(links.filter((l) => l.startsWith(prefix)).map((l) => deleteTap(l)));
}

async function deleteTap(name: string): Promise<void> {
  await run('ip', ['link', 'del', name]).catch(() => undefined);
}
