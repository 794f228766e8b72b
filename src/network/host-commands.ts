/**
 * The host tools the network area drives (`ip`, `tc`, `nft`, `dnsmasq`, vif scripts), and what
 * it reads back from them. Links are read through `ip -json` (netlink), never `/sys/class/net`:
 * a dom0d started inside a network namespace without a remounted /sys would see the wrong one.
 */
import { CommandFailed, runCommand } from '../host/index.js';

export function ip(...args: string[]): Promise<string> {
  return runCommand('ip', args);
}

export function tc(...args: string[]): Promise<string> {
  return runCommand('tc', args);
}

/** `nft -f -` with `script` as its input (one transaction: all of it or none). */
export function nft(script: string): Promise<string> {
  return runCommand('nft', ['-f', '-'], { input: script });
}

/** One network interface of the host (the namespace dom0d runs in), as `ip -d -j link` tells. */
export interface HostLink {
  readonly name: string;
  readonly mtu: number;
  /** The `info_kind` of the link (`bridge`, `tun`, `ifb`, `veth`, ...); undefined for a plain NIC. */
  readonly kind: string | undefined;
  /** The bridge it is a port of. */
  readonly master: string | undefined;
  readonly alias: string | undefined;
}

interface IpLinkJson {
  ifname?: string;
  mtu?: number;
  master?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
}

/** Every link of the host, or one (an empty list when it does not exist). */
export async function hostLinks(name?: string): Promise<HostLink[]> {
  let out: string;
  try {
    out = await ip('-d', '-j', 'link', 'show', ...(name === undefined ? [] : ['dev', name]));
  } catch (e: unknown) {
    if (name !== undefined && e instanceof CommandFailed && /does not exist/.test(e.stderr)) return [];
    throw e;
  }
  const parsed = JSON.parse(out === '' ? '[]' : out) as IpLinkJson[];
  return parsed.flatMap((l) => (l.ifname === undefined ? [] : [{
    name: l.ifname,
    mtu: l.mtu ?? 1500,
    kind: l.linkinfo?.info_kind,
    master: l.master,
    alias: l.ifalias,
  }]));
}

/** The names of the tables of nftables family `family` (`bridge`, `ip`, ...). */
export async function nftTables(family: string): Promise<string[]> {
  const out = await runCommand('nft', ['-j', 'list', 'tables', family]);
  const parsed = JSON.parse(out) as { nftables?: Array<{ table?: { name?: string } }> };
  return (parsed.nftables ?? []).flatMap((e) => (e.table?.name === undefined ? [] : [e.table.name]));
}

/** Deletes a table when it exists. */
export async function deleteNftTable(family: string, table: string): Promise<void> {
  if ((await nftTables(family)).includes(table)) await nft(`delete table ${family} ${table}\n`);
}

/** Deletes a link when it exists (its qdiscs and filters go with it). */
export async function deleteLink(name: string): Promise<void> {
  await ip('link', 'del', 'dev', name).catch((e: unknown) => {
    if (!(e instanceof CommandFailed && /does not exist|Cannot find device/.test(e.stderr))) throw e;
  });
}
