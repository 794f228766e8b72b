/**
 * One vif's host side, as Xen's netback and `vif-bridge` make it, on a tap QEMU attaches to:
 *
 * - the tap `vif<domid>.<devid>` (or `vifname=`), owned by its ifalias tag (`vifTag`): the tag
 *   names this dom0 (a hash of its run directory), the domid and the devid, so that what a dom0d
 *   left behind is found again by name and by tag, and never another dom0's;
 * - the built-in bridge logic (no `script=`): MTU from `mtu=`, else the bridge's; a port of the
 *   bridge; up. A missing bridge fails, as `vif-bridge` does. With `script=`, the script does this
 *   (see scripts.ts);
 * - `rate=` (netback's credit scheduler, on what the guest sends): the tap's ingress redirected to
 *   an ifb device `ifb<domid>.<devid>` whose root qdisc is a token bucket (tbf) of that rate; the
 *   bucket holds a credit interval's bytes but at least 128 KiB, as netback lets a 128 KiB packet
 *   through;
 * - `ip=` (anti-spoofing, as Xen's scripts do with iptables): an nftables table of the bridge
 *   family, `dom0_<instance>_vif<domid>_<devid>`, that lets IPv4 and ARP leave the tap only from
 *   those addresses (DHCP requests and ARP probes, from 0.0.0.0, too) and drops VLAN-tagged
 *   frames; IPv6 is left alone, as Xen's scripts leave it.
 *
 * Made in that order (the tap joins its bridge last); removed in the reverse one.
 */
import { createHash } from 'node:crypto';
import { ToolstackError } from '../common/index.js';
import type { NicDevice } from '../config/index.js';
import { CommandFailed } from '../host/index.js';
import { deleteLink, deleteNftTable, hostLinks, ip, nft, tc } from './host-commands.js';
import type { HostLink } from './host-commands.js';
import { vifScript } from './scripts.js';

/** The domain a vif belongs to, for names and messages. */
export interface VifDomain {
  readonly domid: number;
  readonly name: string;
}

/** What planning a vif needs of this dom0 and its xl.conf. */
export interface VifContext {
  /** Names this dom0 among others on the host (`dom0Instance`). */
  readonly instance: string;
  /** Where script names that are no paths are looked for (Xen's `/etc/xen/scripts`). */
  readonly scriptDir: string;
  /** The bridge of the NAT network dom0 makes itself. */
  readonly natBridge: string;
}

/** `rate=` as a token bucket. */
export interface VifRate {
  readonly bitsPerSecond: number;
  readonly burstBytes: number;
  /** The credit interval: how long a packet may wait for the bucket to refill. */
  readonly latencyUs: number;
}

/** One vif of a domain, checked, with every host name it uses. */
export interface VifPlan {
  readonly domid: number;
  readonly devid: number;
  readonly tap: string;
  readonly bridge: string;
  /** The bridge is dom0's NAT network (made on demand). */
  readonly nat: boolean;
  /** The hotplug script run `online`/`offline`; undefined: the built-in bridge logic. */
  readonly script: string | undefined;
  readonly mtu: number | undefined;
  readonly rate: VifRate | undefined;
  /** The rate-limiting ifb device (with `rate`). */
  readonly ifb: string;
  /** `ip=`: the IPv4 addresses and networks the guest may send from; empty: any. */
  readonly ips: readonly string[];
  /** The nftables table (bridge family) of `ip=`. */
  readonly table: string;
  readonly nic: NicDevice;
}

/** Linux's IFNAMSIZ less the terminating NUL. */
const IFNAME_MAX = 15;
/** netback lets a packet this large through whatever the credit (a 128 KiB GSO frame). */
const MIN_BURST_BYTES = 131072;

/** A short stable name of this dom0 (its run directory) among others on one host. */
export function dom0Instance(runDir: string): string {
  return createHash('sha256').update(runDir).digest('hex').slice(0, 8);
}

/** The ifalias dom0 writes on a link it made for vif `domid.devid`. */
export function vifTag(instance: string, domid: number, devid: number, role: 'tap' | 'rate'): string {
  return `dom0 ${instance} vif ${domid}.${devid} ${role}`;
}

/** The vif a link belongs to, from its tag, when this dom0 (`instance`) made it. */
export function parseVifTag(alias: string | undefined, instance: string): { domid: number; devid: number; role: string } | undefined {
  const tag = anyVifTag(alias);
  return tag?.instance === instance ? { domid: tag.domid, devid: tag.devid, role: tag.role } : undefined;
}

/** A vif tag of any dom0 on the host (instance included). */
function anyVifTag(alias: string | undefined): { instance: string; domid: number; devid: number; role: string } | undefined {
  const m = alias === undefined ? null : /^dom0 ([0-9a-f]+) vif (\d+)\.(\d+) (tap|rate)$/.exec(alias);
  return m === null ? undefined : { instance: m[1] as string, domid: Number(m[2]), devid: Number(m[3]), role: m[4] as string };
}

/** Whether a link's `alias` is this dom0's (`instance`) tag of vif `domid.devid` in `role`. */
export function isVifLink(alias: string | undefined, instance: string, domid: number, devid: number, role: 'tap' | 'rate'): boolean {
  const tag = parseVifTag(alias, instance);
  return tag !== undefined && tag.domid === domid && tag.devid === devid && tag.role === role;
}

/** The nftables table prefix of every vif of `domid` (`dom0_<instance>_vif<domid>_`). */
export function vifTablePrefix(instance: string, domid: number): string {
  return `dom0_${instance}_vif${domid}_`;
}

/** `Cannot plug vif <tap> of domain '<name>'`: how every vif failure starts. */
function vifError(code: 'CFG_VALUE' | 'NETWORK', d: VifDomain, tap: string, detail: string, hint: string): ToolstackError {
  return new ToolstackError(code, `Cannot plug vif ${tap} of domain '${d.name}': ${detail}`, { hint });
}

/** Why `name` cannot be a network interface name, or undefined when it can. */
export function ifnameProblem(name: string): string | undefined {
  if (Buffer.byteLength(name) > IFNAME_MAX) return `it is ${Buffer.byteLength(name)} bytes long; Linux allows ${IFNAME_MAX}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return 'it may hold only letters, digits, ".", "_" and "-", and start with a letter or digit';
  return undefined;
}

/** `a.b.c.d` or `a.b.c.d/n`. */
const IPV4_NET = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\/([12]?\d|3[0-2]))?$/;

/** The host-side interface of vif `nic` of domain `domid` (its `index` in the config): `vifname=`, else Xen's `vif<domid>.<devid>`. */
export function vifTap(domid: number, nic: NicDevice, index: number): string {
  return nic.ifname ?? `vif${domid}.${nic.devid ?? index}`;
}

/** The largest MTU Linux lets a tap have (its device maximum). */
const TAP_MTU_MAX = 65521;

/**
 * Checks vif `nic` (the stored config's, libxl's defaults applied) of domain `d` and names what it
 * will use on the host; `index` is its place in the config (its devid when it has none).
 */
export function planVif(d: VifDomain, nic: NicDevice, index: number, ctx: VifContext): VifPlan {
  const devid = nic.devid ?? index;
  const tap = vifTap(d.domid, nic, index);
  const nameProblem = ifnameProblem(tap);
  if (nameProblem !== undefined) {
    throw vifError('CFG_VALUE', d, tap, `its name is no interface name: ${nameProblem}`, 'give vifname= a name of at most 15 bytes, e.g. vifname=web0, or leave it out (vif<domid>.<devid>)');
  }
  if (tap === ctx.natBridge) {
    throw vifError('CFG_VALUE', d, tap, `its name is that of dom0's NAT bridge (vif.nat.bridge in xl.conf): no domain could use the NAT network while it is there`, 'give vifname= another name');
  }
  const ifb = `ifb${d.domid}.${devid}`;
  const bridge = nic.bridge ?? 'xenbr0';
  const bridgeProblem = ifnameProblem(bridge);
  if (bridgeProblem !== undefined) throw vifError('CFG_VALUE', d, tap, `bridge '${bridge}' is no interface name: ${bridgeProblem}`, 'give bridge= the name of a bridge of this host');
  // Handed to the vif script as `netdev` (an environment value: a NUL could not even be passed).
  const gateway = nic.gatewaydev === undefined || nic.gatewaydev === '' ? undefined : ifnameProblem(nic.gatewaydev);
  if (gateway !== undefined) throw vifError('CFG_VALUE', d, tap, `gatewaydev ${JSON.stringify(nic.gatewaydev)} is no interface name: ${gateway}`, 'give gatewaydev= the host interface vif-route and vif-nat route through, e.g. eth0');
  const ips = (nic.ip ?? '').split(/\s+/).filter((a) => a !== '');
  const bad = ips.find((a) => !IPV4_NET.test(a));
  if (bad !== undefined) {
    throw vifError('CFG_VALUE', d, tap, `ip="${nic.ip ?? ''}": '${bad}' is not an IPv4 address or network`, 'ip= takes IPv4 addresses or networks separated by spaces, e.g. ip=10.0.0.5 or ip=10.0.0.5 10.0.1.0/24');
  }
  const mtu = nic.mtu === undefined || nic.mtu === 0 ? undefined : nic.mtu;
  if (mtu !== undefined && (mtu < 68 || mtu > TAP_MTU_MAX)) throw vifError('CFG_VALUE', d, tap, `mtu=${mtu} is out of range`, `give mtu= from 68 to ${TAP_MTU_MAX} (a tap's largest; 1500 is Ethernet's)`);
  // Xen keeps a rate as whole bytes per interval: one under a byte per interval is 0, a limit no
  // traffic could pass (netback) or none at all (a token bucket of 0): neither is what was asked.
  const us = nic.rate_interval_usecs ?? 0;
  if (us > 0 && Number(nic.rate_bytes_per_interval ?? 0) <= 0) {
    throw vifError('CFG_VALUE', d, tap, `rate= is less than one byte per its ${us} µs interval`, 'give a rate of at least a byte per interval, or a longer interval: e.g. rate=10B/s@1s');
  }
  const rate = vifRate(nic);
  if (rate !== undefined && Buffer.byteLength(ifb) > IFNAME_MAX) {
    throw vifError('CFG_VALUE', d, tap, `its rate limiter ${ifb} needs a name longer than ${IFNAME_MAX} bytes`, 'give it a smaller devid=');
  }
  return {
    domid: d.domid,
    devid,
    tap,
    bridge,
    nat: bridge === ctx.natBridge,
    script: vifScript(nic.script, ctx.scriptDir, (detail, hint) => vifError('NETWORK', d, tap, detail, hint)),
    mtu,
    rate,
    ifb,
    ips,
    table: `${vifTablePrefix(ctx.instance, d.domid)}${devid}`,
    nic,
  };
}

/** `rate=` (bytes per credit interval) as a token bucket; undefined without one. */
function vifRate(nic: NicDevice): VifRate | undefined {
  const bytes = Number(nic.rate_bytes_per_interval ?? 0);
  const us = nic.rate_interval_usecs ?? 0;
  if (bytes <= 0 || us <= 0) return undefined;
  return { bitsPerSecond: Math.round((bytes * 8 * 1e6) / us), burstBytes: Math.max(bytes, MIN_BURST_BYTES), latencyUs: us };
}

/**
 * Checks the plans of one domain against the host before anything is made: names unique and
 * free (`links`: the host's), each built-in vif's bridge a bridge (`natBridge`, the NAT
 * network's, is made on demand) whose MTU its `mtu=` does not undercut.
 */
export function checkVifPlans(d: VifDomain, plans: readonly VifPlan[], links: readonly HostLink[], natBridge: string): void {
  const seen = new Set<string>();
  for (const p of plans) {
    for (const name of [p.tap, ...(p.rate === undefined ? [] : [p.ifb])]) {
      if (seen.has(name)) throw vifError('CFG_VALUE', d, p.tap, `two of its vifs are named ${name}`, 'give each vif its own vifname= and devid=');
      seen.add(name);
      const taken = links.find((l) => l.name === name);
      if (taken !== undefined) {
        // Another dom0's vif (domids repeat across instances on one host): never to be deleted by hand.
        const owner = anyVifTag(taken.alias);
        throw vifError('NETWORK', d, p.tap, `an interface named ${name} exists already${owner === undefined ? '' : `: vif ${owner.domid}.${owner.devid} of the dom0 whose instance is ${owner.instance}`}`,
          owner === undefined ? `choose another vifname=, or remove it (ip link del ${name}) if nothing uses it`
            : 'choose another vifname= (that domain uses it; with xl migrate -D, its domid is taken there too: migrate without -D)');
      }
    }
    // QEMU gives a NIC any MAC; a multicast one (the first byte odd) leaves the guest without a network.
    const mac = p.nic.mac;
    if (mac !== undefined && (parseInt(mac.slice(0, 2), 16) & 1) === 1) {
      throw vifError('CFG_VALUE', d, p.tap, `mac=${mac} is a multicast address, which no NIC can have`,
        'give a unicast MAC (its first byte even, e.g. 00:16:3e:xx:xx:xx), or leave mac= out for a generated one');
    }
    const bridge = links.find((l) => l.name === p.bridge);
    // A port's MTU lowers its bridge's to it (unless someone set the bridge's): every guest and the host on it would lose.
    if (p.script === undefined && p.mtu !== undefined && bridge?.kind === 'bridge' && p.mtu < bridge.mtu) {
      throw vifError('NETWORK', d, p.tap, `mtu=${p.mtu} is below the MTU of bridge '${p.bridge}' (${bridge.mtu}): its tap would lower the bridge's, for everything on it`,
        `give mtu=${bridge.mtu} or more, or leave it out (the vif gets the bridge's); a guest may use a smaller MTU inside itself`);
    }
    if (p.script !== undefined || p.nat) continue;
    if (bridge === undefined) {
      throw vifError('NETWORK', d, p.tap, `bridge '${p.bridge}' does not exist`,
        `make it (ip link add ${p.bridge} type bridge && ip link set ${p.bridge} up, then add the host's NIC to it), or use the NAT network dom0 makes itself: bridge=${natBridge}`);
    }
    if (bridge.kind !== 'bridge') throw vifError('NETWORK', d, p.tap, `'${p.bridge}' is not a bridge`, 'give bridge= the name of a bridge of this host (ip -d link show type bridge)');
  }
}

/** Makes a vif's host side (`bridgeMtu`: its bridge's MTU, for the built-in logic). */
export async function makeVif(d: VifDomain, p: VifPlan, instance: string, bridgeMtu: number | undefined): Promise<void> {
  // Whether the tap is this call's: a tap of that name someone made since the plan was checked
  // (another create with the same vifname=) makes `tuntap add` fail, and stays theirs.
  let made = false;
  try {
    await ip('tuntap', 'add', 'dev', p.tap, 'mode', 'tap');
    made = true;
    await ip('link', 'set', 'dev', p.tap, 'alias', vifTag(instance, p.domid, p.devid, 'tap'));
    if (p.ips.length > 0 && p.script === undefined) await nft(antispoofRules(p.table, p.tap, p.ips));
    if (p.rate !== undefined) await limitRate(p, instance);
    if (p.script === undefined) {
      const mtu = p.mtu ?? bridgeMtu;
      await ip('link', 'set', 'dev', p.tap, ...(mtu === undefined ? [] : ['mtu', String(mtu)]), 'master', p.bridge, 'up');
    } else if (p.mtu !== undefined) {
      await ip('link', 'set', 'dev', p.tap, 'mtu', String(p.mtu));
    }
  } catch (e: unknown) {
    if (made) await removeVif(p, instance).catch(() => undefined);
    if (!(e instanceof CommandFailed)) throw e;
    throw new ToolstackError('NETWORK', `Cannot plug vif ${p.tap} of domain '${d.name}': ${e.argv.slice(0, 4).join(' ')}: ${e.detail}`, {
      hint: 'dom0d needs CAP_NET_ADMIN (root), /dev/net/tun, and iproute2, tc and nftables for vifs',
      cause: e,
    });
  }
}

/**
 * Removes what `makeVif` made of `p`: its rules, its tap, and its rate-limiting link when that
 * carries this vif's tag (a link of that name made meanwhile by someone else stays theirs).
 */
async function removeVif(p: VifPlan, instance: string): Promise<void> {
  await deleteNftTable('bridge', p.table);
  await deleteLink(p.tap);
  if (isVifLink((await hostLinks(p.ifb))[0]?.alias, instance, p.domid, p.devid, 'rate')) await deleteLink(p.ifb);
}

async function limitRate(p: VifPlan, instance: string): Promise<void> {
  const r = p.rate as VifRate;
  await ip('link', 'add', 'dev', p.ifb, 'type', 'ifb');
  await ip('link', 'set', 'dev', p.ifb, 'alias', vifTag(instance, p.domid, p.devid, 'rate'), 'up');
  await tc('qdisc', 'add', 'dev', p.ifb, 'root', 'tbf', 'rate', `${r.bitsPerSecond}bit`, 'burst', String(r.burstBytes), 'latency', `${r.latencyUs}us`);
  await tc('qdisc', 'add', 'dev', p.tap, 'handle', 'ffff:', 'ingress');
  await tc('filter', 'add', 'dev', p.tap, 'parent', 'ffff:', 'protocol', 'all', 'prio', '1', 'u32', 'match', 'u32', '0', '0',
    'action', 'mirred', 'egress', 'redirect', 'dev', p.ifb);
}

/**
 * The nftables script of `ip=` for `tap` (replacing a table of that name): IPv4 from `ips`, DHCP
 * requests (UDP 68 → 67, as Xen's scripts allow), ARP whose sender is in `ips` or 0.0.0.0 (probes);
 * other IPv4, ARP and VLAN-tagged frames from the tap dropped.
 */
export function antispoofRules(table: string, tap: string, ips: readonly string[]): string {
  const set = `{ ${ips.join(', ')} }`;
  return [
    `table bridge ${table} {}`,
    `delete table bridge ${table}`,
    `table bridge ${table} {`,
    '  chain prerouting {',
    '    type filter hook prerouting priority filter; policy accept;',
    `    iifname != "${tap}" accept`,
    `    ether type ip ip saddr ${set} accept`,
    '    ether type ip udp sport 68 udp dport 67 accept',
    `    ether type arp arp saddr ip ${set} accept`,
    '    ether type arp arp saddr ip 0.0.0.0 accept',
    '    ether type { ip, arp, 8021q, 8021ad } drop',
    '  }',
    '}',
    '',
  ].join('\n');
}
