/**
 * dom0's NAT network (beyond Xen; libvirt's `default` network is the model): vifs with
 * `bridge=<NAT bridge>` (xl.conf `vif.nat.bridge`, default `dom0nat`) need no set-up on the host.
 * The first such vif makes, in this order:
 *
 * 1. `RUN_DIR/network/<bridge>.json`, the network's record (written first, so that a dom0d that
 *    dies half-way finds and removes what it made);
 * 2. the bridge, tagged as this dom0's (ifalias), with the subnet's first address (`.1`); the
 *    subnet is xl.conf's `vif.nat.subnet`, else the first /24 of 10.0.254.0, 10.0.253.0, ...
 *    that no address or route of the host overlaps;
 * 3. IPv4 forwarding on (`net.ipv4.ip_forward`; left on, as libvirt does: something else on the
 *    host may rely on it by then), and the nftables table `ip dom0_<instance>_nat_<bridge, hex>`:
 *    masquerade of the subnet's traffic leaving it, and a forward filter as libvirt's (within the
 *    bridge anything; out of it only the subnet's own addresses; into it only replies to what
 *    went out, and what the host's own DNAT rules send; the rest rejected), so that the host
 *    routes nothing else through the NAT network, nor spoofed guest addresses;
 * 4. dnsmasq, DHCP and DNS on that bridge only (`--bind-interfaces`): pid file
 *    `RUN_DIR/network/<bridge>.dnsmasq.pid`, leases `STATE_DIR/network/<bridge>.leases` (kept,
 *    so guests keep their addresses), log `LOG_DIR/dnsmasq-<bridge>.log`.
 *
 * Every domain on it shares it; it goes (in the reverse order) when its last port goes, and at
 * dom0d start when nothing uses it. The caller serializes every operation on one bridge.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { ToolstackError } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import { CommandFailed, ensurePrivateDir, isPidAlive, killPid, pidCmdline, readPidFile, runCommand, waitForPidExit, writeFileAtomicSync } from '../host/index.js';
import { deleteLink, deleteNftTable, hostLinks, ip, nft } from './host-commands.js';
import type { HostLink } from './host-commands.js';

/** A NAT network as recorded in `RUN_DIR/network/<bridge>.json`. */
interface NatRecord {
  readonly bridge: string;
  /** `a.b.c.d/n`, the network's. */
  readonly subnet: string;
  readonly table: string;
}

export interface NatOptions {
  readonly paths: Dom0Paths;
  /** This dom0 among others on the host (`dom0Instance`). */
  readonly instance: string;
  readonly log: (line: string) => void;
}

/** The subnets tried, in order, when xl.conf sets none. */
const AUTO_SUBNETS = Array.from({ length: 55 }, (_, i) => `10.0.${254 - i}.0/24`);
/** The directories dnsmasq reads the NAT networks' MACs from (see `NatNetworks.admit`): world-readable, under the host's /run. */
const NAT_HOSTS_ROOT = '/run/dom0-nat';
/** A MAC file being made (`admit`): `.vif-PID-RANDOM` in NAT_HOSTS_ROOT, PID the dom0d's. */
const TEMP_PREFIX = '.vif-';

/**
 * Removes the MAC files a dom0d killed while it made them left in NAT_HOSTS_ROOT (their maker's
 * pid, in the name, gone): the directory of every dom0 instance on the host, kept otherwise.
 */
function sweepDeadTemps(): void {
  for (const name of readdirSync(NAT_HOSTS_ROOT)) {
    const pid = name.startsWith(TEMP_PREFIX) ? Number.parseInt(name.slice(TEMP_PREFIX.length), 10) : Number.NaN;
    if (Number.isInteger(pid) && pid > 0 && !isPidAlive(pid)) rmSync(`${NAT_HOSTS_ROOT}/${name}`, { force: true });
  }
}

/**
 * A NAT network's DHCP lease. Each new domain without `mac=` has a new random MAC, and a destroyed
 * one's lease stays until it expires: with an hour's lease, some 250 create/destroy cycles within
 * the hour emptied a /24 and new guests got no address. Guests renew at half of it.
 */
const DHCP_LEASE = '10m';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

export class NatNetworks {
  readonly #o: NatOptions;

  constructor(options: NatOptions) {
    this.#o = options;
  }

  /** The bridges of the NAT networks this dom0 has made (and not yet removed). */
  bridges(): string[] {
    let files: string[];
    try {
      files = readdirSync(this.#o.paths.networkRunDir);
    } catch {
      return [];
    }
    return files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  }

  /**
   * Makes the NAT network of `bridge` unless it is up already (its dnsmasq restarted when it has
   * died); `subnet` is xl.conf's setting. Fails with one line when a link of that name exists that
   * this dom0 did not make, or when no subnet is free; on failure nothing of it is left.
   */
  async ensure(bridge: string, subnet: string | undefined): Promise<void> {
    const record = this.#read(bridge);
    const links = await hostLinks();
    const link = links.find((l) => l.name === bridge);
    // Another dom0's NAT network on this host (every instance's default bridge name is the same):
    // never joined, never to be deleted by hand.
    const owner = /^dom0 ([0-9a-f]+) nat$/.exec(link?.alias ?? '')?.[1];
    if (owner !== undefined && owner !== this.#o.instance) {
      throw new ToolstackError('NETWORK', `Cannot make the NAT network on bridge '${bridge}': it is the NAT network of another dom0 on this host (instance ${owner})`, {
        hint: 'give this dom0 a NAT bridge of its own in its xl.conf: vif.nat.bridge="..." (and vif.nat.subnet="..." for another subnet)',
      });
    }
    if (record !== undefined && link !== undefined) {
      if (this.#dnsmasqPid(bridge) === undefined) {
        this.#o.log(`NAT network ${bridge}: dnsmasq is not running; starting it again`);
        await this.#startDnsmasq(record);
      }
      return;
    }
    if (record !== undefined) await this.remove(bridge);
    else if (link !== undefined) {
      throw new ToolstackError('NETWORK', `Cannot make the NAT network on bridge '${bridge}': an interface of that name exists, which dom0 did not make`, {
        hint: `remove it (ip link del ${bridge}) or name another NAT bridge in xl.conf: vif.nat.bridge="..."`,
      });
    }
    const made: NatRecord = {
      bridge, subnet: subnet === undefined ? await freeSubnet(bridge) : await subnetFree(checkSubnet(subnet), bridge),
      table: `dom0_${this.#o.instance}_nat_${Buffer.from(bridge).toString('hex')}`,
    };
    ensurePrivateDir(this.#o.paths.networkRunDir);
    ensurePrivateDir(this.#o.paths.networkStateDir);
    writeFileAtomicSync(this.#recordFile(bridge), `${JSON.stringify(made)}\n`);
    try {
      const { address, prefix } = parseCidr(made.subnet);
      await ip('link', 'add', 'name', bridge, 'type', 'bridge');
      await ip('link', 'set', 'dev', bridge, 'alias', `dom0 ${this.#o.instance} nat`);
      await ip('address', 'add', `${formatIpv4(address + 1)}/${prefix}`, 'dev', bridge);
      await ip('link', 'set', 'dev', bridge, 'up');
      writeFileSync(IP_FORWARD, '1\n');
      await nft(masqueradeRules(made.table, made.subnet, bridge));
      await this.#startDnsmasq(made);
      this.#o.log(`NAT network ${bridge}: ${made.subnet}, gateway ${formatIpv4(address + 1)}`);
    } catch (e: unknown) {
      await this.remove(bridge).catch((u: unknown) => this.#o.log(`NAT network ${bridge}: undoing: ${u instanceof Error ? u.message : String(u)}`));
      if (e instanceof ToolstackError) throw e;
      const detail = e instanceof CommandFailed ? `${e.argv.slice(0, 3).join(' ')}: ${e.detail}` : e instanceof Error ? e.message : String(e);
      throw new ToolstackError('NETWORK', `Cannot make the NAT network on bridge '${bridge}': ${detail}`, {
        hint: 'dom0d needs root, iproute2, nftables and dnsmasq (scripts/setup.sh installs them)',
        cause: e,
      });
    }
  }

  /** True when `bridge` is a NAT network of this dom0. */
  has(bridge: string): boolean {
    return this.#read(bridge) !== undefined;
  }

  /** Removes the NAT network of `bridge` when no port is left on its bridge (`links`: the host's). */
  async removeIfUnused(bridge: string, links?: readonly HostLink[]): Promise<void> {
    if (!this.has(bridge)) return;
    const now = links ?? await hostLinks();
    if (now.some((l) => l.master === bridge)) return;
    await this.remove(bridge);
    this.#o.log(`NAT network ${bridge}: removed (no vif uses it)`);
  }

  /** Removes everything of the NAT network of `bridge` that exists. */
  async remove(bridge: string): Promise<void> {
    const record = this.#read(bridge);
    const pid = this.#dnsmasqPid(bridge);
    if (pid !== undefined) await stopDnsmasq(pid);
    rmSync(this.#pidFile(bridge), { force: true });
    rmSync(this.#hostsDir(bridge), { recursive: true, force: true });
    try {
      rmdirSync(NAT_HOSTS_ROOT);
    } catch {
      // another NAT network's (or none)
    }
    if (record !== undefined) await deleteNftTable('ip', record.table);
    const links = await hostLinks();
    const link = links.find((l) => l.name === bridge);
    // Untagged with the record there: made by a dom0d killed before it tagged it (no port can be on it yet).
    const untaggedOurs = record !== undefined && link !== undefined && (link.alias ?? '') === '' && !links.some((l) => l.master === bridge);
    if (link?.alias === `dom0 ${this.#o.instance} nat` || untaggedOurs) await deleteLink(bridge);
    rmSync(this.#recordFile(bridge), { force: true });
  }

  /**
   * Vif `devid` of domain `domid` joins the NAT network of `bridge` with MAC `mac`: its guest gets
   * a lease. dnsmasq answers only the MACs of the network's vifs (`--dhcp-hostsdir`, a file per
   * vif, read as it appears): a guest asking with made-up MACs took every address of the subnet
   * from the others.
   */
  admit(bridge: string, domid: number, devid: number, mac: string): void {
    // dnsmasq reads a file of the directory the moment it is closed or moved in, and every file at
    // a reread, as `nobody`: the file is made whole and readable beside the directory and then
    // renamed into it. (Made in it, it was dom0d's umask's 0600 between its open and its chmod,
    // and a reread then found it unreadable: that guest got no lease.)
    const dir = this.#makeHostsDir(bridge);
    sweepDeadTemps();
    const temp = `${NAT_HOSTS_ROOT}/${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`;
    const fd = openSync(temp, 'wx');
    try {
      fchmodSync(fd, 0o644);
      writeSync(fd, `${mac}\n`);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, `${dir}/vif${domid}.${devid}`);
    } catch (e: unknown) {
      rmSync(temp, { force: true });
      throw e;
    }
    this.#reread(bridge);
  }

  /** Vif `devid` of domain `domid` left the NAT network of `bridge` (see `admit`). */
  forget(bridge: string, domid: number, devid: number): void {
    rmSync(`${this.#hostsDir(bridge)}/vif${domid}.${devid}`, { force: true });
    this.#reread(bridge);
  }

  /**
   * The network's dnsmasq reads its MAC files again (SIGHUP): a removed file's MAC is forgotten
   * (dnsmasq's own watch acts on new and changed files only: a destroyed guest's MAC kept getting
   * leases), and a new file is read even where that watch could not be set (a host out of
   * inotify watches).
   */
  #reread(bridge: string): void {
    const pid = this.#dnsmasqPid(bridge);
    if (pid !== undefined) killPid(pid, 'SIGHUP');
  }

  /**
   * Where dnsmasq finds the network's MACs: it reads them as `nobody` (it drops root at start),
   * which dom0's own directories (0700) do not let in. MACs are no secret.
   */
  #hostsDir(bridge: string): string {
    return `${NAT_HOSTS_ROOT}/${this.#o.instance}-${bridge}`;
  }

  /** `#hostsDir(bridge)`, made readable by dnsmasq's user (dom0d's umask makes its own private). */
  #makeHostsDir(bridge: string): string {
    const dir = this.#hostsDir(bridge);
    mkdirSync(dir, { recursive: true });
    for (const d of [NAT_HOSTS_ROOT, dir]) chmodSync(d, 0o755);
    return dir;
  }

  /**
   * At dom0d start, for a NAT network its domains use: a dnsmasq an older dom0 started with other
   * arguments than this one gives (before the vifs' MAC files it answered any MAC) is started
   * again as this one starts it; the leases file keeps the guests' addresses.
   */
  async refresh(bridge: string): Promise<void> {
    const record = this.#read(bridge);
    const pid = this.#dnsmasqPid(bridge);
    if (record === undefined || pid === undefined) return;
    if (JSON.stringify(pidCmdline(pid)?.slice(1)) === JSON.stringify(this.#dnsmasqArgs(record))) return;
    this.#o.log(`NAT network ${bridge}: its dnsmasq runs with the arguments of an older dom0; starting it again`);
    await stopDnsmasq(pid);
    await this.#startDnsmasq(record);
  }

  async #startDnsmasq(r: NatRecord): Promise<void> {
    this.#makeHostsDir(r.bridge);
    await runCommand('dnsmasq', this.#dnsmasqArgs(r));
  }

  #dnsmasqArgs(r: NatRecord): string[] {
    const { address, prefix } = parseCidr(r.subnet);
    const size = 2 ** (32 - prefix);
    const mask = formatIpv4(size === 2 ** 32 ? 0 : (0xffffffff - (size - 1)) >>> 0);
    return [
      '--conf-file=/dev/null',
      '--strict-order',
      '--bind-interfaces',
      `--interface=${r.bridge}`,
      '--except-interface=lo',
      `--listen-address=${formatIpv4(address + 1)}`,
      `--dhcp-range=${formatIpv4(address + 2)},${formatIpv4(address + size - 2)},${mask},${DHCP_LEASE}`,
      '--dhcp-authoritative',
      `--dhcp-hostsdir=${this.#hostsDir(r.bridge)}`,
      '--dhcp-ignore=tag:!known',
      '--dhcp-no-override',
      `--dhcp-leasefile=${this.#o.paths.networkStateDir}/${r.bridge}.leases`,
      `--pid-file=${this.#pidFile(r.bridge)}`,
      `--log-facility=${this.#o.paths.logDir}/${dnsmasqLogName(r.bridge)}`,
      // A line per DHCP packet would let a guest's flood of requests fill the log's disk.
      '--quiet-dhcp',
    ];
  }

  /** The running dnsmasq of `bridge` (its pid file names it and its argv names that pid file). */
  #dnsmasqPid(bridge: string): number | undefined {
    const file = this.#pidFile(bridge);
    const pid = readPidFile(file);
    if (pid === undefined || !isPidAlive(pid)) return undefined;
    return pidCmdline(pid)?.includes(`--pid-file=${file}`) === true ? pid : undefined;
  }

  #read(bridge: string): NatRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.#recordFile(bridge), 'utf8')) as NatRecord;
    } catch {
      return undefined;
    }
  }

  #recordFile(bridge: string): string {
    return `${this.#o.paths.networkRunDir}/${bridge}.json`;
  }

  #pidFile(bridge: string): string {
    return `${this.#o.paths.networkRunDir}/${bridge}.dnsmasq.pid`;
  }
}

/** The nftables script of a NAT network (replacing a table of that name). */
export function masqueradeRules(table: string, subnet: string, bridge: string): string {
  return [
    `table ip ${table} {}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${subnet} ip daddr != ${subnet} masquerade`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    iifname "${bridge}" oifname "${bridge}" accept`,
    `    iifname "${bridge}" ip saddr ${subnet} accept`,
    `    oifname "${bridge}" ct state established,related accept`,
    `    oifname "${bridge}" ct status dnat accept`,
    `    iifname "${bridge}" reject`,
    `    oifname "${bridge}" reject`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** `a.b.c.d/n` as its network address and prefix length (host bits cleared). */
export function parseCidr(text: string): { address: number; prefix: number } {
  const [a = '', p = '32'] = text.split('/');
  const address = parseIpv4(a);
  const prefix = /^\d{1,2}$/.test(p) ? Number(p) : NaN;
  if (address === undefined || !(prefix >= 0 && prefix <= 32)) throw new Error(`not an IPv4 network: ${text}`);
  const size = 2 ** (32 - prefix);
  return { address: address - (address % size), prefix };
}

function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  const shorter = Math.min(x.prefix, y.prefix);
  const size = 2 ** (32 - shorter);
  return Math.floor(x.address / size) === Math.floor(y.address / size);
}

/** xl.conf's `vif.nat.subnet`, checked: a network of 4 to 2^24 addresses. */
function checkSubnet(subnet: string): string {
  let net: { address: number; prefix: number };
  try {
    net = parseCidr(subnet);
  } catch {
    throw new ToolstackError('CFG_VALUE', `xl.conf: vif.nat.subnet="${subnet}" is not an IPv4 network`, { hint: 'give vif.nat.subnet a network such as "10.0.254.0/24"' });
  }
  if (net.prefix < 8 || net.prefix > 30) throw new ToolstackError('CFG_VALUE', `xl.conf: vif.nat.subnet="${subnet}" is not from /8 to /30`, { hint: 'give vif.nat.subnet a network such as "10.0.254.0/24"' });
  return `${formatIpv4(net.address)}/${net.prefix}`;
}

/**
 * xl.conf's subnet, when no address or route of the host overlaps it (another interface's
 * network, another dom0's NAT network: two routes for one subnet cut one side off).
 */
async function subnetFree(subnet: string, bridge: string): Promise<string> {
  const taken = (await usedNetworks()).find((u) => overlaps(subnet, u));
  if (taken !== undefined) {
    throw new ToolstackError('NETWORK', `Cannot make the NAT network on bridge '${bridge}': xl.conf's vif.nat.subnet="${subnet}" overlaps ${taken}, in use on this host`, {
      hint: 'name a free subnet in xl.conf (vif.nat.subnet), or leave it out: a free one is picked',
    });
  }
  return subnet;
}

/** The first of `AUTO_SUBNETS` no address or route of the host overlaps. */
async function freeSubnet(bridge: string): Promise<string> {
  const used = await usedNetworks();
  const free = AUTO_SUBNETS.find((s) => !used.some((u) => overlaps(s, u)));
  if (free === undefined) {
    throw new ToolstackError('NETWORK', `Cannot make the NAT network on bridge '${bridge}': every subnet from ${AUTO_SUBNETS.at(-1) ?? ''} to ${AUTO_SUBNETS[0] ?? ''} is in use on this host`, {
      hint: 'name a free one in xl.conf: vif.nat.subnet="192.168.122.0/24"',
    });
  }
  return free;
}

/** The IPv4 networks of the host's addresses and routes (default routes aside). */
async function usedNetworks(): Promise<string[]> {
  const addrs = JSON.parse(await ip('-4', '-j', 'address', 'show')) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>;
  const routes = JSON.parse(await ip('-4', '-j', 'route', 'show', 'table', 'all')) as Array<{ dst?: string }>;
  const out: string[] = [];
  for (const a of addrs) for (const i of a.addr_info ?? []) if (i.local !== undefined) out.push(`${i.local}/${i.prefixlen ?? 32}`);
  for (const r of routes) {
    if (r.dst === undefined || r.dst === 'default') continue;
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    if (parseIpv4(dst.split('/')[0] ?? '') !== undefined) out.push(dst);
  }
  return out;
}

/** The name of `bridge`'s dnsmasq log in the log directory. */
function dnsmasqLogName(bridge: string): string {
  return `dnsmasq-${bridge}.log`;
}

/** Whether `file` (a name in the log directory) is a dnsmasq log. */
export function isDnsmasqLog(file: string): boolean {
  return /^dnsmasq-.+\.log$/.test(file);
}

async function stopDnsmasq(pid: number): Promise<void> {
  killPid(pid, 'SIGTERM');
  if (!(await waitForPidExit(pid, 3000))) killPid(pid, 'SIGKILL');
}
