/**
 * The host tools the network area drives (`ip`, `tc`, `nft`, `dnsmasq`, vif scripts), and what
 * it reads back from them. Links are read through `ip -json` (netlink), never `/sys/class/net`:
 * a dom0d started inside a network namespace without a remounted /sys would see the wrong one.
 */
import { spawn } from 'node:child_process';

/** A host command that failed: its argv, exit status (or signal) and the tail of its stderr. */
export class CommandFailed extends Error {
  override readonly name: string = 'CommandFailed';
  constructor(readonly argv: readonly string[], readonly status: string, readonly stderr: string) {
    super(`${argv.join(' ')}: ${status}${stderr === '' ? '' : `: ${stderr}`}`);
  }

  /** What the tool said (its last stderr line), else how it ended. */
  get detail(): string {
    return this.stderr.split('\n').filter((l) => l.trim() !== '').at(-1)?.trim() ?? this.status;
  }
}

export interface RunOptions {
  /** Written to the command's stdin. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Killed (its whole process group) after this long; default 20 s. */
  readonly timeoutMs?: number;
}

const OUTPUT_LIMIT = 1 << 20;

/**
 * Runs `binary args`, resolving with its stdout; rejects with `CommandFailed` on a non-zero exit,
 * a signal, the timeout or a binary that cannot be started. The command runs in its own process
 * group so that a timeout also ends what it started.
 */
export function runCommand(binary: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const argv = [binary, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...(options.env === undefined ? {} : { env: options.env }) });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { if (out.length < OUTPUT_LIMIT) out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { if (err.length < OUTPUT_LIMIT) err += c.toString(); });
    child.stdin.on('error', () => { /* the command did not read its input: its exit status tells */ });
    child.stdin.end(options.input ?? '');
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }, options.timeoutMs ?? 20_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new CommandFailed(argv, `cannot run it (${e.message})`, ''));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else {
        const status = timedOut ? `no answer within ${Math.round((options.timeoutMs ?? 20_000) / 1000)} s` : signal !== null ? `killed by ${signal}` : `exit status ${code ?? '?'}`;
        reject(new CommandFailed(argv, status, err.trim()));
      }
    });
  });
}

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
