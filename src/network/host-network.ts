/**
 * The host side of every vif of this dom0 (vif.ts: one vif; nat.ts: the NAT network; scripts.ts:
 * hotplug scripts). The domain layer calls it inside the domain's job:
 *
 * - `plug` before QEMU starts: every vif checked first (names, bridges, scripts: a problem fails
 *   the create before anything is made), then made one by one; on failure what was made goes;
 * - `online` once the domain's xenstore nodes exist: the vif scripts, `online`;
 * - `unplug` when the domain goes (also after a failed start): scripts `offline`, then every link
 *   and table of the domain's vifs, found by their tag and derived names, so the ones a failed
 *   or forced hot-plug left go too; a NAT network left without ports goes with its last vif. A
 *   domain with no vif that never had one made (by this dom0d, or found at its start) has
 *   nothing to find: its destroy lists nothing (two command runs, ~25 ms);
 * - `cleanUp` at dom0d start: the vifs of domains that are no more, and unused NAT networks; a
 *   live domain found with vifs is one whose destroy looks for them;
 * - hot-plug, one vif of a running domain: `plugVif` (checked and made as at create), `onlineVif`
 *   (after its nodes exist), `unplugVif` (script `offline`, then its links and table, after QEMU
 *   let its tap go).
 *
 * Operations on one NAT network (making it, adding and removing its ports) run one at a time,
 * whichever domains they are for, so two creates never make it twice nor remove it under a vif.
 */
import { readdirSync } from 'node:fs';
import { ToolstackError } from '../common/index.js';
import type { Dom0Paths } from '../common/index.js';
import { readXlConf } from '../config/index.js';
import type { NicDevice } from '../config/index.js';
import { CommandFailed, KeyedQueue } from '../host/index.js';
import { deleteLink, deleteNftTable, hostLinks, nftTables } from './host-commands.js';
import { NatNetworks } from './nat.js';
import { runVifScript } from './scripts.js';
import { checkVifPlans, dom0Instance, isVifLink, makeVif, parseVifTag, planVif, vifTablePrefix, vifTap } from './vif.js';
import type { VifContext, VifDomain, VifPlan } from './vif.js';

export interface HostNetworkOptions {
  readonly paths: Dom0Paths;
  readonly log: (line: string) => void;
}

/** A domain's vifs: the stored config's `nics` (libxl's defaults applied). */
export interface DomainVifs extends VifDomain {
  readonly nics: readonly NicDevice[];
}

export class HostNetwork {
  readonly #o: HostNetworkOptions;
  readonly #instance: string;
  readonly #nat: NatNetworks;
  readonly #queue = new KeyedQueue<string>();
  /**
   * Domains that may have vifs on the host beyond their config's: made (or tried) by this dom0d,
   * or found at its start; see `unplug`.
   */
  readonly #plugged = new Set<number>();

  /**
   * Whether interfaces of this host are named as a vif of domain `domid` would be (`vif<domid>.N`,
   * `ifb<domid>.N`): another dom0 on this host has a domain of that id (domids repeat across
   * instances), whose names a domain of this one could not take.
   */
  static domidNamed(domid: number): boolean {
    let names: string[];
    try {
      names = readdirSync('/sys/class/net');
    } catch {
      return false;
    }
    return names.some((n) => n.startsWith(`vif${domid}.`) || n.startsWith(`ifb${domid}.`));
  }

  constructor(options: HostNetworkOptions) {
    this.#o = options;
    this.#instance = dom0Instance(options.paths.runDir);
    this.#nat = new NatNetworks({ paths: options.paths, instance: this.#instance, log: options.log });
  }

  /** The taps of the vifs of `d`, in config order (whether or not they exist now). */
  taps(d: DomainVifs): string[] {
    return d.nics.map((n, i) => vifTap(d.domid, n, i));
  }

  /** Makes the host side of every vif of `d`; resolves with their taps, in config order. */
  async plug(d: DomainVifs): Promise<string[]> {
    if (d.nics.length === 0) return [];
    this.#plugged.add(d.domid);
    const plans = d.nics.map((n, i) => planVif(d, n, i, this.#context()));
    await this.#make(d, plans, undefined);
    return plans.map((p) => p.tap);
  }

  /**
   * Hot-plug: makes the host side of vif `nic` (its devid set) of running domain `d`, checked
   * against the host as at create; resolves with its tap. On failure nothing of it is left.
   */
  async plugVif(d: VifDomain, nic: NicDevice): Promise<string> {
    const plan = planVif(d, nic, nic.devid ?? 0, this.#context());
    this.#plugged.add(d.domid);
    await this.#make(d, [plan], plan.devid);
    return plan.tap;
  }

  /** Runs the vif scripts of `d`, `online` (after its xenstore nodes are written). */
  async online(d: DomainVifs): Promise<void> {
    for (const p of this.#scripted(d)) await this.#online(d, p);
  }

  /** `online` for one vif of `d` (hot-plug): its script, when it has one. */
  async onlineVif(d: VifDomain, nic: NicDevice): Promise<void> {
    for (const p of this.#scripted({ ...d, nics: [nic] })) await this.#online(d, p);
  }

  /**
   * Removes the host side of every vif of domain `d.domid`: scripts `offline` first (for the vifs
   * of `d.nics` that have one; failures are logged), then its links and tables. Missing ones are
   * no error.
   */
  async unplug(d: { readonly domid: number; readonly name?: string; readonly nics?: readonly NicDevice[] }): Promise<void> {
    if (d.nics?.length === 0 && !this.#plugged.has(d.domid)) return;
    if (d.nics !== undefined) await this.#offline({ domid: d.domid, name: d.name ?? String(d.domid), nics: d.nics });
    await this.#removeVifs(d.domid, undefined);
    this.#plugged.delete(d.domid);
  }

  /**
   * At re-adoption of running domain `d`: the DHCP of the NAT network its vifs are on knows their
   * MACs again (those of a domain an older dom0 made had no file), and the network's dnsmasq runs
   * as this dom0 starts it (`NatNetworks.refresh`). A NAT network that is down is left to the next
   * vif that needs it.
   */
  async readmit(d: DomainVifs): Promise<void> {
    const ctx = this.#context();
    const bridges = new Set<string>();
    d.nics.forEach((n, i) => {
      let p: VifPlan;
      try {
        p = planVif(d, n, i, ctx);
      } catch {
        return;
      }
      if (!p.nat || p.nic.mac === undefined || !this.#nat.has(p.bridge)) return;
      this.#nat.admit(p.bridge, p.domid, p.devid, p.nic.mac);
      bridges.add(p.bridge);
    });
    for (const bridge of bridges) await this.#queue.run(bridge, () => this.#nat.refresh(bridge));
  }

  /** Hot-unplug: script `offline`, then the links and table of vif `nic` of `d` (after QEMU let its tap go). */
  async unplugVif(d: VifDomain, nic: NicDevice): Promise<void> {
    await this.#offline({ ...d, nics: [nic] });
    await this.#removeVifs(d.domid, nic.devid ?? 0);
  }

  #context(): VifContext & { readonly natSubnet: string | undefined } {
    const conf = readXlConf(this.#o.paths.configDir);
    return { instance: this.#instance, scriptDir: `${this.#o.paths.configDir}/scripts`, natBridge: conf.natBridge, natSubnet: conf.natSubnet };
  }

  /**
   * Checks `plans` against the host, then makes them one by one; on failure removes what was made
   * (every vif of the domain, or only vif `devid` when given) and a NAT network left unused.
   */
  async #make(d: VifDomain, plans: readonly VifPlan[], devid: number | undefined): Promise<void> {
    const ctx = this.#context();
    checkVifPlans(d, plans, await hostLinks(), ctx.natBridge);
    try {
      for (const p of plans) {
        if (p.nat) {
          await this.#queue.run(p.bridge, async () => {
            await this.#nat.ensure(p.bridge, ctx.natSubnet);
            if (p.nic.mac !== undefined) this.#nat.admit(p.bridge, p.domid, p.devid, p.nic.mac);
            await makeVif(d, p, this.#instance, await bridgeMtu(p.bridge));
          });
        } else {
          await makeVif(d, p, this.#instance, p.script === undefined ? await bridgeMtu(p.bridge) : undefined);
        }
      }
    } catch (e: unknown) {
      const undo = async (): Promise<void> => {
        await this.#removeVifs(d.domid, devid);
        // A MAC admitted for a vif whose tap was never made (no link names it for #removeVifs).
        for (const p of plans.filter((q) => q.nat)) await this.#queue.run(p.bridge, async () => this.#nat.forget(p.bridge, p.domid, p.devid));
        for (const bridge of new Set(plans.filter((p) => p.nat).map((p) => p.bridge))) await this.#queue.run(bridge, () => this.#nat.removeIfUnused(bridge));
      };
      await undo().catch((u: unknown) => this.#o.log(`domain ${d.domid}: undoing its vifs: ${text(u)}`));
      throw e;
    }
  }

  async #online(d: VifDomain, p: VifPlan): Promise<void> {
    try {
      await runVifScript({ script: p.script as string, action: 'online', domid: d.domid, devid: p.devid, tap: p.tap, nic: p.nic, xenstoredSocket: this.#o.paths.xenstoredSocket });
    } catch (e: unknown) {
      if (!(e instanceof CommandFailed)) throw e;
      throw new ToolstackError('NETWORK', `Cannot plug vif ${p.tap} of domain '${d.name}': ${p.script as string} online: ${e.detail}`, {
        hint: `the script failed (${e.status}); run it by hand with the same environment to see why, or leave script= out for dom0's built-in bridge logic`,
        cause: e,
      });
    }
  }

  /** Scripts `offline` for the vifs of `d` that have one and whose tap exists; failures are logged. */
  async #offline(d: DomainVifs): Promise<void> {
    const scripted = this.#scripted(d);
    if (scripted.length === 0) return;
    const links = await hostLinks();
    for (const p of scripted) {
      // Only this vif's own tap: a create refused because `vifname=` names another link (the
      // host's uplink, another guest's tap) must not take that link off its bridge.
      if (!links.some((l) => l.name === p.tap && isVifLink(l.alias, this.#instance, d.domid, p.devid, 'tap'))) continue;
      await runVifScript({ script: p.script as string, action: 'offline', domid: d.domid, devid: p.devid, tap: p.tap, nic: p.nic, xenstoredSocket: this.#o.paths.xenstoredSocket })
        .catch((e: unknown) => this.#o.log(`domain ${d.domid}: ${p.script as string} offline for ${p.tap}: ${text(e)}`));
    }
  }

  /**
   * At dom0d start: removes the vifs (links, tables) of every domid not in `live`, then the NAT
   * networks no vif uses. A live domain with vifs (its record's, or what a hot-plug the previous
   * dom0d died in left) is marked for its destroy to look for them.
   */
  async cleanUp(live: ReadonlySet<number>): Promise<void> {
    const [links, tables] = await Promise.all([hostLinks(), nftTables('bridge').catch(() => [])]);
    const found = new Set<number>();
    for (const l of links) {
      const tag = parseVifTag(l.alias, this.#instance);
      if (tag !== undefined) found.add(tag.domid);
    }
    const prefix = `dom0_${this.#instance}_vif`;
    for (const t of tables) {
      const m = t.startsWith(prefix) ? /^(\d+)_\d+$/.exec(t.slice(prefix.length)) : null;
      if (m !== null) found.add(Number(m[1]));
    }
    for (const domid of found) {
      if (live.has(domid)) {
        this.#plugged.add(domid);
        continue;
      }
      this.#o.log(`domain ${domid}: removing the vifs it left behind`);
      await this.#removeVifs(domid, undefined).catch((e: unknown) => this.#o.log(`domain ${domid}: removing its vifs: ${text(e)}`));
    }
    for (const bridge of this.#nat.bridges()) {
      await this.#queue.run(bridge, () => this.#nat.removeIfUnused(bridge))
        .catch((e: unknown) => this.#o.log(`NAT network ${bridge}: removing it: ${text(e)}`));
    }
  }

  /** The vifs of `d` that run a script (their plans; a vif that no longer plans is skipped). */
  #scripted(d: DomainVifs): VifPlan[] {
    const ctx: VifContext = { instance: this.#instance, scriptDir: `${this.#o.paths.configDir}/scripts`, natBridge: '' };
    return d.nics.flatMap((n, i) => {
      try {
        const p = planVif(d, n, i, ctx);
        return p.script === undefined ? [] : [p];
      } catch {
        return [];
      }
    });
  }

  /**
   * Removes every link and table of `domid`'s vifs (only vif `devid`'s when given); a NAT network
   * left unused goes too.
   */
  async #removeVifs(domid: number, devid: number | undefined): Promise<void> {
    const prefix = vifTablePrefix(this.#instance, domid);
    // Both lists at once: each is a command run, and every destroy asks for them. The tables'
    // failure (no nft on the host) is said after the links are gone: a tap left behind blocked its
    // vifname, and with it the domain's restart, for good.
    let tablesFailed: Error | undefined;
    const [tables, links] = await Promise.all([nftTables('bridge').catch((e: unknown) => {
      tablesFailed = e instanceof Error ? e : new Error(String(e));
      return [];
    }), hostLinks()]);
    for (const link of links) {
      const tag = parseVifTag(link.alias, this.#instance);
      if (tag === undefined || tag.domid !== domid || (devid !== undefined && tag.devid !== devid)) continue;
      const bridge = link.master;
      if (bridge !== undefined && this.#nat.has(bridge)) {
        await this.#queue.run(bridge, async () => {
          this.#nat.forget(bridge, tag.domid, tag.devid);
          await deleteLink(link.name);
          await this.#nat.removeIfUnused(bridge);
        });
      } else {
        await deleteLink(link.name);
      }
    }
    if (tablesFailed !== undefined) throw tablesFailed;
    for (const t of tables) {
      if (t.startsWith(prefix) && (devid === undefined || t === `${prefix}${devid}`)) await deleteNftTable('bridge', t);
    }
  }
}

/** A bridge's MTU (undefined when it does not exist). */
async function bridgeMtu(bridge: string): Promise<number | undefined> {
  return (await hostLinks(bridge))[0]?.mtu;
}

function text(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
